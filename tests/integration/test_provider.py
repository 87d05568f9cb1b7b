"""The provider registers with Airflow: entry point, schema-valid info, connection type and form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import gemini_tuning
from gemini_tuning.connection import ConnectionSettings
from gemini_tuning.exceptions import InvalidInputError


def test_entry_point_points_at_get_provider_info():
    (ep,) = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("gemini_tuning")]
    assert ep.load() is gemini_tuning.get_provider_info


def test_provider_info_validates_against_airflows_schema():
    import airflow
    import jsonschema

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(gemini_tuning.get_provider_info(), schema)


def test_every_module_named_in_provider_info_imports():
    import importlib

    info = gemini_tuning.get_provider_info()
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    for path in info["extra-links"] + [c["hook-class-name"] for c in info["connection-types"]]:
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name)


def test_providers_manager_knows_the_connection_type_and_form():
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManager()
    assert "airflow-provider-gemini-tuning" in manager.providers
    hook = ProvidersManagerTaskRuntime().hooks["gemini_tuning"]
    assert hook.hook_class_name == "gemini_tuning.hooks.gemini_tuning.GeminiTuningHook"
    widgets = manager.connection_form_widgets
    assert widgets["extra__gemini_tuning__keyfile_dict"].is_sensitive
    assert widgets["extra__gemini_tuning__access_token"].is_sensitive
    assert not widgets["extra__gemini_tuning__backend"].is_sensitive
    behaviour = manager.field_behaviours["gemini_tuning"]
    assert behaviour["relabeling"]["password"] == "API key (Gemini API)"
    assert "host" in behaviour["hidden_fields"]


def test_airflow_providers_list_shows_the_provider():
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "-o", "json"], capture_output=True, text=True, check=True
    ).stdout
    packages = {p["package_name"] for p in json.loads(out[out.index("[{") :])}
    assert "airflow-provider-gemini-tuning" in packages


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            '{"conn_type": "gemini_tuning", "password": "k-123456", "extra": {"backend": "gemini_api", "base_url": "http://127.0.0.1:9"}}',
            {"backend": "gemini_api", "base_url": "http://127.0.0.1:9", "project": None},
        ),
        (
            "gemini-tuning://:k-123456@/?backend=vertex_ai&project=p1&location=europe-west4&base_url=http%3A%2F%2F127.0.0.1%3A9",
            {"backend": "vertex_ai", "project": "p1", "location": "europe-west4", "base_url": "http://127.0.0.1:9"},
        ),
    ],
    ids=["json", "uri"],
)
def test_connection_from_env_var(monkeypatch, env, expected):
    from airflow.sdk import BaseHook

    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_ENV", env)
    conn = BaseHook.get_connection("gemini_env")
    assert conn.conn_type == "gemini_tuning"
    settings = ConnectionSettings.from_connection(conn)
    for key, value in expected.items():
        assert getattr(settings, key) == value
    assert settings.api_key.get_secret_value() == "k-123456"
    assert "k-123456" not in repr(settings)


def test_http_options_carry_timeout_and_retry_policy():
    settings = ConnectionSettings(backend="gemini_api", timeout=12, retries=7, base_url="http://x:1")
    options = settings.http_options()
    assert options["timeout"] == 12000 and options["api_version"] == "v1beta"
    assert options["retry_options"]["attempts"] == 7
    assert options["retry_options"]["http_status_codes"] == [408, 429, 500, 502, 503, 504]
    assert ConnectionSettings(backend="vertex_ai").http_options()["api_version"] == "v1beta1"


def test_missing_credentials_are_clear_errors():
    with pytest.raises(InvalidInputError, match="API key in the connection's password"):
        ConnectionSettings(backend="gemini_api").build_client()
    with pytest.raises(InvalidInputError, match="needs `project`"):
        ConnectionSettings(backend="vertex_ai").build_client()


def test_config_section_is_declared_for_airflow_config():
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}

    def airflow_config(*args: str) -> str:
        cmd = [sys.executable, "-m", "airflow", "config", *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout

    listed = airflow_config("list", "--section", "gemini_tuning")
    for option in ("staging_uri", "poll_interval", "max_concurrent_polls", "ui_status_ttl", "ui_status_timeout"):
        assert f"# {option} = " in listed, listed
    assert airflow_config("get-value", "gemini_tuning", "max_concurrent_polls").splitlines()[-1] == "32"
    assert airflow_config("get-value", "gemini_tuning", "poll_interval").splitlines()[-1] == "30"


def test_pypi_classifiers_declare_an_airflow_provider():
    from importlib.metadata import metadata

    classifiers = metadata("airflow-provider-gemini-tuning").get_all("Classifier")
    assert "Framework :: Apache Airflow :: Provider" in classifiers


def test_connection_of_the_wrong_type_says_what_is_expected():
    from airflow.sdk import Connection

    conn = Connection(conn_id="gcp", conn_type="google_cloud_platform")
    with pytest.raises(InvalidInputError) as info:
        ConnectionSettings.from_connection(conn)
    assert str(info.value) == (
        "Connection 'gcp' is of type 'google_cloud_platform'; the Gemini tuning provider needs a connection of "
        "type 'gemini_tuning' (API key as password, `backend` and the rest in the extra)."
    )


def test_bad_extra_is_one_line():
    from airflow.sdk import Connection

    conn = Connection(conn_id="c", conn_type="gemini_tuning", extra=json.dumps({"timeout": "soon"}))
    with pytest.raises(InvalidInputError) as info:
        ConnectionSettings.from_connection(conn)
    assert "\n" not in str(info.value) and "`timeout`" in str(info.value)


def test_emulator_links_need_the_explicit_extra():
    """A proxy in front of Google is not the emulator: its links stay on the console."""
    from gemini_tuning.backends import backend_for

    proxy = backend_for(ConnectionSettings(backend="vertex_ai", base_url="https://proxy.corp:8443"))
    assert proxy.console_url("n", "https://console.cloud.google.com/x") == "https://console.cloud.google.com/x"
    emulated = backend_for(ConnectionSettings(backend="vertex_ai", base_url="http://127.0.0.1:1", emulator=True))
    assert emulated.console_url("tuningJobs/1", "x") == "http://127.0.0.1:1/_emulator/jobs/tuningJobs/1"


def test_connection_form_offers_every_backend():
    from gemini_tuning.backends import BACKEND_NAMES, DEFAULT_BACKEND

    field = gemini_tuning.get_provider_info()["connection-types"][0]["conn-fields"]["backend"]
    assert field["schema"]["enum"] == list(BACKEND_NAMES) and field["schema"]["default"] == DEFAULT_BACKEND
