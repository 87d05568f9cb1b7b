"""A user's kill cancels the job even though Airflow 3.3's triggerer cancels the trigger again while it does."""

from __future__ import annotations

import asyncio

import pytest

from gemini_tuning.triggers.tuning import TuningJobTrigger

NAME = "projects/p/locations/us-central1/tuningJobs/1"


class SlowCancelHook:
    """A cancel request that takes a while to come back."""

    def __init__(self) -> None:
        self.sent = asyncio.Event()
        self.answer = asyncio.Event()
        self.completed = False

    async def acancel_tuning_job(self, name):
        assert name == NAME
        self.sent.set()
        await self.answer.wait()
        self.completed = True


async def test_the_triggerers_next_cancel_does_not_abort_the_cancel_request():
    hook = SlowCancelHook()
    trigger = TuningJobTrigger(NAME, cancel_on_kill=True)
    trigger._hook = lambda: hook
    kill = asyncio.ensure_future(trigger.on_kill())
    await hook.sent.wait()
    kill.cancel("__airflow_user_action__")  # the triggerer's next sync, while the request is in flight
    with pytest.raises(asyncio.CancelledError):
        await kill
    hook.answer.set()
    await asyncio.wait_for(_until(lambda: hook.completed), timeout=5)
    assert hook.completed


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0)
