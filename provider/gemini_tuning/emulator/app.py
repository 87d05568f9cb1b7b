"""The FastAPI application: the API routers of both surfaces, Google-style errors and ``/_emulator``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gemini_tuning.emulator import control, gemini_api, oauth2, vertex_ai
from gemini_tuning.emulator.deps import get_state
from gemini_tuning.emulator.errors import ApiError, error_response, invalid
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
    app.include_router(control.router)
    app.include_router(oauth2.router)
    return app
