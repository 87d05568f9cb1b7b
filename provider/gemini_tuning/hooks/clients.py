"""Process-wide google-genai clients, shared by every hook, trigger and ``on_kill``; the poll cap.

A client loads the CA bundle into two SSL contexts and keeps its own connection pool, so a
triggerer waiting on 1,000 jobs of one connection needs one client, not 1,000. There is one
client per (connection settings, event loop) for async use and one per settings for sync use.
A herd asking at the same moment waits for one connection lookup and one build. When a connection's settings change, the
next hook gets a new client and the old one is dropped from the cache (hooks still holding it
finish with it). Keys carry a digest of the settings, never a credential.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NamedTuple

from pydantic import SecretStr

if TYPE_CHECKING:
    from google import genai

    from gemini_tuning.connection import ConnectionSettings

DEFAULT_MAX_CONCURRENT_POLLS = 32

_lock = threading.Lock()
_sync_clients: dict[ClientKey, genai.Client] = {}
_async_clients: dict[tuple[asyncio.AbstractEventLoop, ClientKey], asyncio.Future[genai.Client]] = {}
_keys_by_conn_id: dict[str, ClientKey] = {}
_poll_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}
_lookups: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Task[ConnectionSettings]] = {}


class ClientKey(NamedTuple):
    """What identifies a client: the service, where it is, and a SHA-256 of every setting (secrets included)."""

    backend: str
    endpoint: str
    digest: str

    @classmethod
    def of(cls, settings: ConnectionSettings) -> ClientKey:
        values = {name: v.get_secret_value() if isinstance(v, SecretStr) else v for name, v in settings}
        digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
        endpoint = settings.base_url or f"{settings.project or ''}/{settings.location}"
        return cls(settings.backend, endpoint, digest[:16])


def get_client(key: ClientKey, settings: ConnectionSettings, conn_id: str | None = None) -> genai.Client:
    """The process's sync client for these settings (workers: every hook of a task shares it)."""
    with _lock:
        _track(conn_id, key)
        client = _sync_clients.get(key)
        if client is None:
            client = _sync_clients[key] = _build(settings)
        return client


async def aget_client(key: ClientKey, settings: ConnectionSettings, conn_id: str | None = None) -> genai.Client:
    """The running loop's client for these settings, built once in a thread however many ask at once."""
    loop = asyncio.get_running_loop()
    with _lock:
        _track(conn_id, key)
        _forget_closed_loops()
        build = _async_clients.get((loop, key))
        if build is None:
            build = _async_clients[(loop, key)] = loop.create_task(asyncio.to_thread(_build, settings))
    try:
        return await asyncio.shield(build)
    except Exception:
        with _lock:  # a failed build is not cached: the next poll tries again
            if _async_clients.get((loop, key)) is build:
                del _async_clients[(loop, key)]
        raise


async def shared_lookup(conn_id: str, lookup: Callable[[], Awaitable[ConnectionSettings]]) -> ConnectionSettings:
    """``lookup()`` of ``conn_id``'s settings, joined by every caller that asks while it is in flight.

    A restarted triggerer's triggers all read their connection at once; each lookup is a round trip
    to the secrets backend or the API server. A caller never gets a result older than its own call.
    """
    loop = asyncio.get_running_loop()
    entry = (loop, conn_id)
    with _lock:
        task = _lookups.get(entry)
        if task is None:
            task = _lookups[entry] = loop.create_task(lookup())
            task.add_done_callback(lambda done: _forget_lookup(entry, done))
    return await asyncio.shield(task)


def poll_slots() -> asyncio.Semaphore:
    """The running loop's cap on polls in flight: ``[gemini_tuning] max_concurrent_polls`` (default 32)."""
    loop = asyncio.get_running_loop()
    with _lock:
        slots = _poll_slots.get(loop)
        if slots is None:
            from airflow.sdk import conf

            limit = conf.getint("gemini_tuning", "max_concurrent_polls", fallback=DEFAULT_MAX_CONCURRENT_POLLS)
            slots = _poll_slots[loop] = asyncio.Semaphore(max(1, limit))
        return slots


def clear() -> None:
    """Forget every cached client and cap (hooks holding a client keep it)."""
    with _lock:
        _sync_clients.clear()
        _async_clients.clear()
        _keys_by_conn_id.clear()
        _poll_slots.clear()
        _lookups.clear()


def _build(settings: ConnectionSettings) -> genai.Client:
    _quiet_transport_loggers()
    return settings.build_client()


def _quiet_transport_loggers() -> None:
    """One INFO line per HTTP request drowns the task log; keep them unless the user set a level."""
    for name in ("httpx", "httpx2", "google_genai._api_client", "google_genai.models"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _track(conn_id: str | None, key: ClientKey) -> None:
    """Drop the clients of a connection's previous settings once it is seen with new ones."""
    if conn_id is None:
        return
    old = _keys_by_conn_id.get(conn_id)
    _keys_by_conn_id[conn_id] = key
    if old is None or old == key or old in _keys_by_conn_id.values():
        return
    _sync_clients.pop(old, None)
    for entry in [entry for entry in _async_clients if entry[1] == old]:
        del _async_clients[entry]


def _forget_lookup(entry: tuple[asyncio.AbstractEventLoop, str], task: asyncio.Task) -> None:
    with _lock:
        if _lookups.get(entry) is task:
            del _lookups[entry]


def _forget_closed_loops() -> None:
    """Drop what belongs to event loops that are closed (each ``asyncio.run`` has its own loop)."""
    for loop, key in [entry for entry in _async_clients if entry[0].is_closed()]:
        del _async_clients[(loop, key)]
    for loop in [loop for loop in _poll_slots if loop.is_closed()]:
        del _poll_slots[loop]
    for loop, conn_id in [entry for entry in _lookups if entry[0].is_closed()]:
        del _lookups[(loop, conn_id)]
