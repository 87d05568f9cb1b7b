"""One client per connection settings and event loop, shared by hooks and triggers; a cap on polls in flight."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest

from gemini_tuning.connection import ConnectionSettings
from gemini_tuning.hooks import clients
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.models import JobState, TuningJob
from gemini_tuning.triggers.tuning import TuningJobTrigger

CONN_ID = "shared_clients_test"
SECRET = "shared-clients-secret-key-0123"


class FakeBackend:
    """Records the client each poll was given; every job is already done."""

    url = "http://127.0.0.1:9"

    def __init__(self):
        self.clients = []

    async def apoll(self, client, name, last_state=None):
        self.clients.append(client)
        return TuningJob(name=name, backend="gemini_api", state=JobState.SUCCEEDED)

    async def acancel(self, client, name):
        self.clients.append(client)
        return TuningJob(name=name, backend="gemini_api", state=JobState.CANCELLED)


@pytest.fixture
def builds(monkeypatch):
    """Client builds: each returns a new object, slowly, so that a herd arrives while one is in flight."""
    built = []
    lock = threading.Lock()

    def build(settings):
        time.sleep(0.05)
        client = object()
        with lock:
            built.append(client)
        return client

    clients.clear()
    monkeypatch.setattr(ConnectionSettings, "build_client", build)
    set_connection(monkeypatch, SECRET)
    yield built
    clients.clear()


@pytest.fixture
def backend(monkeypatch):
    fake = FakeBackend()
    monkeypatch.setattr(GeminiTuningHook, "backend", property(lambda self: fake))
    return fake


def set_connection(monkeypatch, api_key: str) -> None:
    conn = {"conn_type": "gemini_tuning", "password": api_key, "extra": {"base_url": "http://127.0.0.1:9"}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))


async def first_event(trigger: TuningJobTrigger) -> dict:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("the trigger ended without an event")


def test_triggers_on_one_connection_share_one_client_and_a_change_gives_a_new_one(builds, backend, monkeypatch):
    async def scenario():
        triggers = [TuningJobTrigger(f"tunedModels/job-{i}", CONN_ID, poll_interval=0) for i in range(2)]
        events = await asyncio.gather(*(first_event(t) for t in triggers))
        set_connection(monkeypatch, "rotated-key-0123456789")
        events.append(await first_event(TuningJobTrigger("tunedModels/job-2", CONN_ID, poll_interval=0)))
        await TuningJobTrigger("tunedModels/job-3", CONN_ID, cancel_on_kill=True).on_kill()  # cancelling reuses it
        return events

    events = asyncio.run(scenario())
    assert [e["status"] for e in events] == ["success"] * 3
    assert len(builds) == 2
    first, second = builds
    assert backend.clients == [first, first, second, second]
    key = GeminiTuningHook(CONN_ID)._client_key
    assert key.digest and SECRET not in repr(key)


def test_a_herd_of_hooks_waits_for_one_connection_lookup_and_one_build(builds, monkeypatch):
    lookups = []
    load = GeminiTuningHook._load_settings

    def counted_load(self, conn, gcp_conn=None):
        lookups.append(1)
        return load(self, conn, gcp_conn)

    monkeypatch.setattr(GeminiTuningHook, "_load_settings", counted_load)

    async def herd():
        return await asyncio.gather(*(GeminiTuningHook(CONN_ID).aget_client() for _ in range(50)))

    got = asyncio.run(herd())
    assert len(lookups) == 1
    assert len(builds) == 1
    assert all(client is builds[0] for client in got)


def test_each_event_loop_gets_its_own_client_and_closed_loops_are_forgotten(builds):
    async def client():
        return await GeminiTuningHook(CONN_ID).aget_client()

    first, second = asyncio.run(client()), asyncio.run(client())
    assert first is not second
    assert len(clients._async_clients) == 1  # the first loop is closed: its entry is gone


def test_sync_hooks_share_the_client_until_the_connection_changes(builds, monkeypatch):
    a, b = GeminiTuningHook(CONN_ID), GeminiTuningHook(CONN_ID)
    assert a.client is b.client
    set_connection(monkeypatch, "rotated-key-0123456789")
    c = GeminiTuningHook(CONN_ID)
    assert c.client is not a.client  # a keeps the client it got
    assert list(clients._sync_clients) == [c._client_key]  # the old settings' client left the cache
    assert len(builds) == 2


def test_failed_build_is_not_cached(monkeypatch):
    attempts = []

    def build(settings):
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("no credentials yet")
        return object()

    clients.clear()
    monkeypatch.setattr(ConnectionSettings, "build_client", build)
    set_connection(monkeypatch, SECRET)

    async def twice():
        with pytest.raises(ValueError, match="no credentials yet"):
            await GeminiTuningHook(CONN_ID).aget_client()
        return await GeminiTuningHook(CONN_ID).aget_client()

    assert asyncio.run(twice()) is not None
    assert len(attempts) == 2
    clients.clear()


@pytest.mark.parametrize("cap", [1, 3])
def test_polls_in_flight_never_exceed_the_cap(cap, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__MAX_CONCURRENT_POLLS", str(cap))
    clients.clear()
    in_flight, peak = 0, 0

    async def poll(self, name, last_state=None):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return TuningJob(name=name, backend="gemini_api", state=JobState.SUCCEEDED)

    monkeypatch.setattr(GeminiTuningHook, "apoll_tuning_job", poll)

    async def many():
        triggers = [TuningJobTrigger(f"tunedModels/job-{i}", CONN_ID, poll_interval=0) for i in range(20)]
        return await asyncio.gather(*(first_event(t) for t in triggers))

    events = asyncio.run(many())
    assert len(events) == 20
    assert peak == cap
    clients.clear()
