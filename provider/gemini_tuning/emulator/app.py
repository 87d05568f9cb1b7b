"""The FastAPI application: API routers, Google-style error handlers and ``/_emulator`` control routes."""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gemini_tuning.emulator import gemini_api, vertex_ai
from gemini_tuning.emulator.deps import get_state, read_json
from gemini_tuning.emulator.errors import ApiError, error_response, invalid, not_found
from gemini_tuning.emulator.state import EmulatorState, Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build an emulator app; its state lives in ``app.state.emulator``."""
    app = FastAPI(title="gemini-tuning emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.emulator = EmulatorState(settings or Settings())

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        # Unknown paths and methods (e.g. tunedModels operations ":cancel", /v1/tunedModels) -> 404.
        get_state(request).count_request(request.method, "<unmatched>")
        if exc.status_code in (404, 405):
            return error_response(404, f"Method not found: {request.method} {request.url.path}", "NOT_FOUND")
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        return invalid(f"Invalid request: {exc.errors()}").response()

    app.include_router(gemini_api.build_router())
    vertex = vertex_ai.build_router()
    app.include_router(vertex, prefix="/v1beta1")
    app.include_router(vertex, prefix="/v1")
    _add_control_routes(app)
    return app


def _add_control_routes(app: FastAPI) -> None:
    """``/_emulator/*``: faults, reset, stats and a human-readable job page (never faulted)."""

    @app.get("/_emulator/faults")
    async def get_faults(request: Request):
        return get_state(request).faults.as_dict()

    @app.post("/_emulator/faults")
    async def set_faults(request: Request):
        state = get_state(request)
        body = await read_json(request)
        with state.lock:
            backup = state.faults.as_dict()
            try:
                state.faults.update(body)
            except (TypeError, ValueError) as exc:
                state.faults.update(backup)
                raise invalid(str(exc)) from None
            return state.faults.as_dict()

    @app.post("/_emulator/reset")
    async def reset(request: Request):
        get_state(request).reset()
        return {}

    @app.get("/_emulator/stats")
    async def stats(request: Request):
        return get_state(request).stats()

    @app.get("/_emulator/health")
    async def health():
        return {"status": "ok"}

    @app.get("/_emulator/jobs/{name:path}", response_class=HTMLResponse)
    async def job_page(request: Request, name: str):
        state = get_state(request)
        with state.lock:
            job = state.jobs.get(name)
            if job is None:
                raise not_found(f"No job named {name}.")
            now = state.now()
            resource: dict[str, Any] = (
                gemini_api.render_model(job, now) if job.backend == "gemini_api" else vertex_ai.render_job(job, now)
            )
            done, total, losses = job.completed_steps(now), job.total_steps, job.losses()
        rows = "".join(
            f"<tr><td>{s}</td><td>{(s - 1) // job.steps_per_epoch + 1}</td><td>{losses[s - 1]:.4f}</td></tr>"
            for s in range(1, done + 1)
        )
        title = html.escape(name)
        return HTMLResponse(
            f"<!doctype html><html><head><title>{title}</title></head><body>"
            f"<h1>{title}</h1><p>Backend: {job.backend}{' (deleted)' if job.deleted else ''}</p>"
            f"<p>State: <b>{html.escape(str(resource.get('state')))}</b> &mdash; step {done} of {total}</p>"
            f"<table border=1><tr><th>step</th><th>epoch</th><th>mean loss</th></tr>{rows}</table>"
            "</body></html>"
        )
