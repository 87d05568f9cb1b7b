"""``GeminiTuningPlugin``: registered through the ``airflow.plugins`` entry point, so ``pip install`` is enough.

Every Airflow process imports plugins (workers too), so this module imports nothing heavy: the
FastAPI app is built on the api-server's first request to ``/gemini-tuning``.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import conf
from airflow.sdk.plugins_manager import AirflowPlugin

MOUNT = "/gemini-tuning"
TASK_TAB_ROUTE = "gemini-tuning-task"


class LazyApp:
    """An ASGI app that builds :func:`gemini_tuning.ui.app.create_app` on first use."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    @property
    def app(self) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    from gemini_tuning.ui.app import create_app

                    self._app = create_app()
        return self._app

    async def __call__(self, scope, receive, send) -> None:
        await self.app(scope, receive, send)


def _base_path() -> str:
    """The api-server's base path (``[api] base_url``), which the UI does not add to a view's href."""
    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


app = LazyApp()
_base = _base_path() + MOUNT


class GeminiTuningPlugin(AirflowPlugin):
    name = "gemini_tuning"
    fastapi_apps = [{"app": app, "url_prefix": MOUNT, "name": "Gemini Tuning"}]
    external_views = [
        {
            "name": "Gemini Tuning",
            "href": f"{_base}/",
            "destination": "nav",
            "url_route": "gemini-tuning",
            "icon": f"{_base}/static/icon.svg",
        },
        {
            "name": "Tuning",
            "href": f"{_base}/tasks/{{DAG_ID}}/{{RUN_ID}}/{{TASK_ID}}/{{MAP_INDEX}}",
            "destination": "task_instance",
            "url_route": TASK_TAB_ROUTE,
        },
        {
            "name": "Tuning history",
            "href": f"{_base}/dags/{{DAG_ID}}/history",
            "destination": "dag",
            "url_route": "gemini-tuning-history",
        },
    ]
