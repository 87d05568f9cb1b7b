"""The runner: order kept, failures recorded (never dropped), concurrency bounded."""

from __future__ import annotations

import asyncio
import random

import pytest

from gemini_tuning.evaluation.examples import EvalExample
from gemini_tuning.evaluation.runner import generate_all
from gemini_tuning.exceptions import TransientServiceError


class FakeHook:
    """Answers ``model:input`` after a random short delay; fails inputs listed in ``fail``."""

    def __init__(self, fail=(), seed=0):
        self.fail = set(fail)
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
    assert tuned[3].output is None and tuned[3].code == 429 and "RESOURCE_EXHAUSTED" in tuned[3].error
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
    with pytest.raises(ValueError, match="max_concurrency"):
        await generate_all(FakeHook(), {"tuned": "T"}, examples(1), max_concurrency=0)
