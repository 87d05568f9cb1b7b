"""The FastAPI app the plugin mounts on the api-server at ``/gemini-tuning``: three pages and their JSON.

Every route depends on Airflow's security dependencies (:mod:`gemini_tuning.ui.auth`). Pages are
Jinja templates with autoescaping on, served with a Content-Security-Policy that allows nothing
from elsewhere and no inline script: everything (CSS, JS, icon) comes from this package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.sdk import conf
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader

from gemini_tuning.ui import pages
from gemini_tuning.ui.auth import AUTHENTICATED, READ_XCOMS, ReadableDagIds
from gemini_tuning.ui.live import StatusBoard
from gemini_tuning.ui.queries import STATE_FILTERS

MOUNT = "/gemini-tuning"
HERE = Path(__file__).parent
STATIC = {"ui.css": "text/css", "ui.js": "text/javascript", "icon.svg": "image/svg+xml"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)
TASK_PATH = "/tasks/{dag_id}/{run_id:path}/{task_id}/{map_index}"
TASK_TAB_ROUTE = "gemini-tuning-task"

router = APIRouter()


def status_board() -> StatusBoard:
    ttl = conf.get("gemini_tuning", "ui_status_ttl", fallback=None) or conf.get(
        "gemini_tuning", "poll_interval", fallback="30"
    )
    return StatusBoard(
        ttl=float(ttl),
        timeout=conf.getfloat("gemini_tuning", "ui_status_timeout", fallback=3.0),
        concurrency=conf.getint("gemini_tuning", "ui_status_concurrency", fallback=4),
    )


def create_app(board: StatusBoard | None = None) -> FastAPI:
    """The app; no OpenAPI or docs routes, so that nothing is served without authentication."""
    app = FastAPI(title="Gemini Tuning", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.status_board = board or status_board()
    app.include_router(router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return response

    return app


# -- rendering ------------------------------------------------------------------------------


@cache
def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"
    env.filters["num"] = lambda value, digits=4: "—" if value is None else f"{value:.{digits}f}"
    env.filters["signed"] = lambda value: "—" if value is None else f"{value:+.4f}"
    env.filters["safe_url"] = safe_url
    env.filters["short_state"] = lambda value: (value or "unknown").removeprefix("JOB_STATE_").lower()
    return env


def safe_url(value: Any) -> str | None:
    """``value`` if it is an http(s) URL, else ``None``: a link from XCom must not run script."""
    if isinstance(value, str) and urlsplit(value.strip()).scheme.lower() in ("http", "https"):
        return value.strip()
    return None


class Links:
    """URLs of this app and of Airflow's UI, under whatever base path the api-server has."""

    def __init__(self, request: Request) -> None:
        self.app = request.scope.get("root_path", "").rstrip("/")
        self.airflow = self.app.removesuffix(MOUNT)

    def static(self, name: str) -> str:
        return f"{self.app}/static/{name}"

    def task(self, task: Any, *, tab: bool = False) -> str:
        url = f"{self.run(task.dag_id, task.run_id)}/tasks/{quote(task.task_id, safe='')}"
        if task.map_index >= 0:
            url += f"/mapped/{task.map_index}"
        return url + (f"/plugin/{TASK_TAB_ROUTE}" if tab else "")

    def run(self, dag_id: str, run_id: str) -> str:
        return f"{self.airflow}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"

    def dag(self, dag_id: str) -> str:
        return f"{self.airflow}/dags/{quote(dag_id, safe='')}"

    def tab(self, task: Any, **params: Any) -> str:
        path = f"/tasks/{quote(task.dag_id, safe='')}/{quote(task.run_id, safe='')}/{quote(task.task_id, safe='')}"
        query = urlencode({k: v for k, v in params.items() if v not in (None, False, "")})
        return f"{self.app}{path}/{task.map_index}" + (f"?{query}" if query else "")

    def jobs(self, **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
        return f"{self.app}/" + (f"?{query}" if query else "")


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    html = _templates().get_template(template).render(links=Links(request), **context)
    return HTMLResponse(html)


# -- the jobs page --------------------------------------------------------------------------


def _jobs(
    request: Request,
    session: SessionDep,
    dag_ids: ReadableDagIds,
    dag: str | None = None,
    state: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 25,
) -> pages.JobsView:
    return pages.jobs_view(
        session,
        request.app.state.status_board,
        dag_ids,
        dag_id=dag or None,
        state=state if state in STATE_FILTERS else None,
        page=page,
        page_size=page_size,
    )


JobsDep = Annotated[pages.JobsView, Depends(_jobs)]


@router.get("/", response_class=HTMLResponse, dependencies=[READ_XCOMS])
def jobs_page(request: Request, view: JobsDep, dag_ids: ReadableDagIds) -> HTMLResponse:
    return _render(request, "jobs.html", view=view, dag_ids=sorted(dag_ids), states=list(STATE_FILTERS))


@router.get("/api/jobs", dependencies=[READ_XCOMS])
def jobs_json(view: JobsDep) -> JSONResponse:
    return JSONResponse(view.to_json())


# -- the task tab ---------------------------------------------------------------------------


def _task(
    request: Request,
    session: SessionDep,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: str,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    disagreements: bool = False,
) -> pages.TaskView:
    # An unmapped task's tab URL keeps the literal "{MAP_INDEX}" placeholder: that is map index -1.
    index = int(map_index) if map_index.lstrip("-").isdigit() else -1
    return pages.task_view(
        session,
        request.app.state.status_board,
        (dag_id, run_id, task_id, index),
        results_offset=offset,
        only_disagreements=disagreements,
    )


TaskDep = Annotated[pages.TaskView, Depends(_task)]


@router.get(TASK_PATH, response_class=HTMLResponse, dependencies=[READ_XCOMS])
def task_tab(request: Request, view: TaskDep, part: str | None = None) -> HTMLResponse:
    template = "_live.html" if part == "live" else "task.html"
    return _render(request, template, view=view, refresh=request.app.state.status_board.ttl)


@router.get("/api" + TASK_PATH, dependencies=[READ_XCOMS])
def task_json(view: TaskDep) -> JSONResponse:
    return JSONResponse(view.to_json())


# -- the DAG tab ----------------------------------------------------------------------------


@router.get("/dags/{dag_id}/history", response_class=HTMLResponse, dependencies=[READ_XCOMS])
def history_tab(request: Request, session: SessionDep, dag_id: str) -> HTMLResponse:
    return _render(request, "history.html", view=pages.history_view(session, dag_id))


@router.get("/api/dags/{dag_id}/history", dependencies=[READ_XCOMS])
def history_json(session: SessionDep, dag_id: str) -> JSONResponse:
    return JSONResponse(pages.history_view(session, dag_id).to_json())


# -- static files ---------------------------------------------------------------------------


@router.get("/static/{name}", dependencies=[AUTHENTICATED])
def static(name: str) -> Response:
    if name not in STATIC:
        raise HTTPException(404, "Not found")
    return Response((HERE / "static" / name).read_bytes(), media_type=STATIC[name])
