"""Airflow's real FastAPI app (``create_app``) with the plugin mounted, the test auth manager and records."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from tests.ui_helpers import LIMITED_USER, clear_records, token

AUTH_ENV = {
    "AIRFLOW__CORE__AUTH_MANAGER": "tests.ui_helpers.DagLimitedAuthManager",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"admin:admin,{LIMITED_USER}:viewer",
    "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
}


class UI:
    """A test client for the plugin under ``/gemini-tuning`` with tokens per user."""

    def __init__(self, client, plugin_app) -> None:
        self.client = client
        self.app = plugin_app

    def get(self, path: str, user: str | None = "admin", **params):
        headers = {"Authorization": f"Bearer {token(user, 'admin' if user == 'admin' else 'viewer')}"} if user else {}
        return self.client.get(f"/gemini-tuning{path}", headers=headers, params=params)


@pytest.fixture(scope="module")
def ui(airflow_db) -> Iterator[UI]:
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from fastapi.testclient import TestClient

    from gemini_tuning.ui import plugin

    saved = {key: os.environ.get(key) for key in AUTH_ENV}
    os.environ.update(AUTH_ENV)
    purge_cached_app()
    try:
        with TestClient(create_app(apps="core")) as client:
            yield UI(client, plugin.app.app)
    finally:
        purge_cached_app()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def db_session(ui):
    from airflow.utils.session import create_session

    with create_session() as session:
        clear_records(session)
        yield session
        clear_records(session)
