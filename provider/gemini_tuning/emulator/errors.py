"""Google-style error responses: ``{"error": {"code", "message", "status"}}``."""

from __future__ import annotations

from fastapi.responses import JSONResponse

#: HTTP status code -> google.rpc canonical status name used by default.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

#: google.rpc.Code numbers, for google.rpc.Status bodies embedded in resources.
RPC_CODES = {"CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "INTERNAL": 13, "FAILED_PRECONDITION": 9}


class ApiError(Exception):
    """Raised by handlers; rendered as the Google error envelope."""

    def __init__(self, code: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")

    def response(self) -> JSONResponse:
        return error_response(self.code, self.message, self.status)


def error_response(code: int, message: str, status: str | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "status": status or STATUS_NAMES.get(code, "UNKNOWN")}}
    return JSONResponse(body, status_code=code)


def invalid(message: str) -> ApiError:
    return ApiError(400, message, "INVALID_ARGUMENT")


def failed_precondition(message: str) -> ApiError:
    return ApiError(400, message, "FAILED_PRECONDITION")


def not_found(message: str) -> ApiError:
    return ApiError(404, message, "NOT_FOUND")
