"""The runner: order kept, transient failures recorded (never dropped), errors that stay stop it, concurrency bounded."""

from __future__ import annotations

import asyncio
import random

import pytest

from gemini_tuning.evaluation.examples import EvalExample
from gemini_tuning.evaluation.runner import generate_all
from gemini_tuning.exceptions import (
    InvalidInputError,
    NotFoundError,
    ServiceError,
    TransientServiceError,
    service_error,
)


class FakeHook:
    """Answers ``model:input`` after a random short delay; fails inputs listed in ``fail`` (429) or ``refuse``."""

    def __init__(self, fail=(), seed=0, refuse=None):
        self.fail = set(fail)
        self.refuse = refuse  # {input: exception} raised for those inputs
        self.rng = random.Random(seed)
        self.in_flight = self.peak = self.calls = 0
        self.configs = []

    async def aget_client(self):
        return object()

    async def agenerate(self, model, text, config=None):
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        self.configs.append(config)
        try:
            await asyncio.sleep(self.rng.uniform(0, 0.01))
            if self.refuse and text in self.refuse:
                self.calls_at_refusal = self.calls
                raise self.refuse[text]
            if text in self.fail:
                raise TransientServiceError("Resource has been exhausted", http_status=429, status="RESOURCE_EXHAUSTED")
            return f"{model}:{text}"
        finally:
            self.in_flight -= 1


def examples(n, **kw):
    return [EvalExample(i, i + 1, f"in{i}", f"out{i}", **kw) for i in range(n)]


async def test_order_is_kept_for_every_model():
    hook = FakeHook()
    results = await generate_all(hook, {"tuned": "T", "baseline": "B"}, examples(50), max_concurrency=8)
    assert [o.output for o in results["tuned"]] == [f"T:in{i}" for i in range(50)]
    assert [o.output for o in results["baseline"]] == [f"B:in{i}" for i in range(50)]
    assert hook.calls == 100


async def test_failures_are_recorded_not_dropped():
    hook = FakeHook(fail={"in3", "in7"})
    (tuned,) = (await generate_all(hook, {"tuned": "T"}, examples(10), max_concurrency=4)).values()
    assert len(tuned) == 10
    assert [i for i, o in enumerate(tuned) if not o.ok] == [3, 7]
    assert tuned[3].output is None and tuned[3].http_status == 429 and "RESOURCE_EXHAUSTED" in tuned[3].error
    assert tuned[4].output == "T:in4"


@pytest.mark.parametrize("limit", [1, 3, 16])
async def test_concurrency_bound_is_respected(limit):
    hook = FakeHook()
    await generate_all(hook, {"tuned": "T", "baseline": "B"}, examples(60), max_concurrency=limit)
    assert hook.peak == limit


async def test_progress_callback_and_system_instruction():
    hook = FakeHook()
    seen = []
    await generate_all(
        hook,
        {"tuned": "T"},
        examples(3, system_instruction="Be brief."),
        config={"temperature": 0},
        on_done=lambda role, i, o: seen.append((role, i, o.ok)),
    )
    assert sorted(seen) == [("tuned", 0, True), ("tuned", 1, True), ("tuned", 2, True)]
    assert hook.configs == [{"temperature": 0, "system_instruction": "Be brief."}] * 3


async def test_bad_concurrency():
    with pytest.raises(InvalidInputError, match="max_concurrency"):
        await generate_all(FakeHook(), {"tuned": "T"}, examples(1), max_concurrency=0)


@pytest.mark.parametrize(
    ("http_status", "status", "cls"),
    [
        (400, "INVALID_ARGUMENT", ServiceError),
        (401, "UNAUTHENTICATED", ServiceError),
        (403, "PERMISSION_DENIED", ServiceError),
        (404, "NOT_FOUND", NotFoundError),
    ],
)
async def test_an_error_that_stays_stops_the_run_at_its_first_occurrence(http_status, status, cls):
    refusal = service_error("API key not valid.", http_status=http_status, status=status)
    hook = FakeHook(refuse={f"in{i}": refusal for i in range(40)})
    with pytest.raises(cls) as err:
        await generate_all(hook, {"tuned": "T", "baseline": "B"}, examples(40), max_concurrency=1)
    assert hook.calls == 1  # nothing sent after the first refusal
    error = err.value
    assert (error.http_status, error.status) == (http_status, status)
    assert error.message.startswith("the tuned model T refused example 1: API key not valid.")
    assert "stopped" in str(error) and f"(HTTP {http_status})" in str(error)


async def test_a_refusal_stops_the_requests_in_flight_too():
    refusal = NotFoundError("models/x is not found", http_status=404, status="NOT_FOUND")
    hook = FakeHook(refuse={"in5": refusal})
    with pytest.raises(NotFoundError, match="refused example 6: models/x is not found"):
        await generate_all(hook, {"tuned": "T"}, examples(200), max_concurrency=4)
    # no task is created after the refusal; at most max_concurrency created before it can still start
    assert hook.calls <= hook.calls_at_refusal + 4 < 200
    assert hook.in_flight == 0  # nothing left running


async def test_an_unexpected_error_is_raised_as_it_is():
    hook = FakeHook(refuse={"in0": TypeError("bad config")})
    with pytest.raises(TypeError, match="bad config"):
        await generate_all(hook, {"tuned": "T"}, examples(10), max_concurrency=1)
    assert hook.calls == 1
