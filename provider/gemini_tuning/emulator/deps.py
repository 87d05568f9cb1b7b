"""Request plumbing shared by the API routers: the fault gate, auth checks, JSON bodies, field names, paging."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Request

from gemini_tuning.emulator.errors import ApiError, invalid
from gemini_tuning.emulator.state import EmulatorState

UNREGISTERED = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INVALID_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
    "other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
ISSUED_PREFIX = "ya29.emulator-"  # access tokens from /_emulator/oauth2/token
FAULT_MESSAGES = {
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota). [emulator: injected fault]"),
    500: ("INTERNAL", "An internal error has occurred. Please retry or report. [emulator: injected fault]"),
    503: ("UNAVAILABLE", "The service is currently unavailable. [emulator: injected fault]"),
}


def get_state(request: Request) -> EmulatorState:
    return request.app.state.emulator


async def api_gate(request: Request) -> None:
    """Router dependency for every API route: count it, then apply latency and injected errors."""
    state = get_state(request)
    route = request.scope.get("route")
    state.count_request(request.method, getattr(route, "path", request.url.path))
    latency = state.faults.latency_ms
    if latency:
        await asyncio.sleep(latency / 1000)
    code = state.draw_fault()
    if code is not None:
        status, message = FAULT_MESSAGES[code]
        raise ApiError(code, message, status)


def require_api_key(request: Request) -> None:
    """Gemini API auth: ``x-goog-api-key`` header or ``?key=`` query parameter."""
    key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
    if not key:
        raise ApiError(403, UNREGISTERED, "PERMISSION_DENIED")
    if key != get_state(request).settings.api_key:
        raise ApiError(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")


def require_bearer(request: Request) -> None:
    """Vertex AI auth: ``Authorization: Bearer <token>``.

    Accepted: a token ``/_emulator/oauth2/token`` issued and that has not expired, the token the
    settings fix, or (when they fix none) any other token.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, MISSING_CREDENTIALS, "UNAUTHENTICATED")
    state = get_state(request)
    issued = state.tokens.get(token)
    if issued is not None and issued["expires"] > state.now():
        return
    expected = state.settings.bearer_token
    if issued is not None or token.startswith(ISSUED_PREFIX) or (expected is not None and token != expected):
        raise ApiError(401, INVALID_CREDENTIALS, "UNAUTHENTICATED")


async def read_json(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is ``{}``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise invalid(f"Invalid JSON payload received. {exc}") from None
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. Expected an object at the top level.")
    return body


def page(items: list[Any], page_size: str | None, page_token: str | None, default: int, maximum: int = 1000):
    """Slice ``items`` for List calls; returns (page, next_page_token or None)."""
    try:
        size = int(page_size) if page_size not in (None, "") else default
    except ValueError:
        raise invalid(f"Invalid value for pageSize: {page_size!r}") from None
    if size < 0:
        raise invalid("pageSize must not be negative.")
    size = min(size or default, maximum)
    start = 0
    if page_token:
        try:
            start = int(base64.urlsafe_b64decode(page_token.encode()).decode().removeprefix("offset:"))
        except ValueError:
            raise invalid("Invalid page token.") from None
    chunk = items[start : start + size]
    nxt = start + size
    token = base64.urlsafe_b64encode(f"offset:{nxt}".encode()).decode() if nxt < len(items) else None
    return chunk, token


def paged(
    items: list[Any],
    page_size: str | None,
    page_token: str | None,
    *,
    key: str,
    default: int,
    render: Callable[[Any], Any] = lambda item: item,
    maximum: int = 1000,
) -> dict[str, Any]:
    """A List response: ``{key: [...], nextPageToken}``, each left out when empty (proto3 JSON)."""
    chunk, token = page(items, page_size, page_token, default, maximum)
    out: dict[str, Any] = {}
    if chunk:
        out[key] = [render(item) for item in chunk]
    if token:
        out["nextPageToken"] = token
    return out


def camel(name: str) -> str:
    """``snake_case`` -> ``lowerCamelCase`` (proto JSON accepts both spellings of a field)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(obj: Any, maps: Iterable[str] = ("labels",)) -> Any:
    """Rename keys to lowerCamelCase, recursively; the keys of map fields (``maps``) are kept."""
    maps = frozenset(maps)
    if isinstance(obj, list):
        return [camel_keys(x, maps) for x in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for key, value in obj.items():
        name = camel(key)
        out[name] = value if name in maps else camel_keys(value, maps)
    return out
