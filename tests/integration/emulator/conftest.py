"""Fixtures for emulator tests: one fast emulator per test module, reset before each test."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gemini_tuning.emulator.server import EmulatorServer

API_KEY = "test-key"
STEP = 0.005
STARTUP = 0.02


def write_vertex_jsonl(path: Path, pairs: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        for q, a in pairs:
            row = {"contents": [{"role": "user", "parts": [{"text": q}]}, {"role": "model", "parts": [{"text": a}]}]}
            fh.write(json.dumps(row) + "\n")


QA = [(f"What is {i} plus one?", f"{i + 1}") for i in range(12)]
HELD_OUT = [(f"What is {i} plus one?", f"{i + 1}") for i in range(20, 24)]


@pytest.fixture(scope="module")
def gcs_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gcs")
    write_vertex_jsonl(root / "bucket" / "train.jsonl", QA)
    write_vertex_jsonl(root / "bucket" / "validation.jsonl", HELD_OUT)
    return root


@pytest.fixture(scope="module")
def server(gcs_root):
    with EmulatorServer(api_key=API_KEY, gcs_root=str(gcs_root), step_seconds=STEP, startup_seconds=STARTUP) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _fresh(request):
    if "server" in request.fixturenames:
        request.getfixturevalue("server").reset()


class FakeClock:
    """A clock the test moves by hand: the emulator computes every state from it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(server):
    """Freeze the emulator's clock for one test (``clock.advance(s)`` moves it)."""
    fake = FakeClock()
    server.state.clock = fake
    yield fake
    server.state.clock = time.time


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, headers={"x-goog-api-key": API_KEY}, timeout=10) as client:
        yield client


@pytest.fixture
def vhttp(server):
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer t"}, timeout=10) as client:
        yield client


@pytest.fixture
def gemini(server):
    from google import genai
    from google.genai import types

    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=server.url, api_version="v1beta"))


def vertex_client(server, sent: list[httpx.Request] | None = None, credentials=None):
    """A google-genai Vertex client on the emulator; ``sent`` collects the requests it sends."""
    import google.oauth2.credentials
    from google import genai
    from google.genai import types

    hooks = {"request": [sent.append]} if sent is not None else {}
    return genai.Client(
        vertexai=True,
        project="p",
        location="us-central1",
        credentials=credentials or google.oauth2.credentials.Credentials(token="t"),
        http_options=types.HttpOptions(base_url=server.url, client_args={"event_hooks": hooks} if hooks else None),
    )


@pytest.fixture
def vertex(server):
    return vertex_client(server)


def tuned_model_body(examples=None, base="models/gemini-2.0-flash-001", **hyper: Any) -> dict[str, Any]:
    examples = examples if examples is not None else [{"textInput": q, "output": a} for q, a in QA]
    body: dict[str, Any] = {
        "baseModel": base,
        "displayName": "Adder",
        "tuningTask": {"trainingData": {"examples": {"examples": examples}}},
    }
    if hyper:
        body["tuningTask"]["hyperparameters"] = hyper
    return body


def create_tuned(http: httpx.Client, model_id: str | None = "adder", **kw: Any) -> httpx.Response:
    params = {"tunedModelId": model_id} if model_id else {}
    return http.post("/v1beta/tunedModels", params=params, json=tuned_model_body(**kw))


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
