"""Ask one or more models about every example, concurrently, without losing any.

One ``hook.agenerate`` per example per model; at most ``max_concurrency`` requests in flight across all
models (one ``asyncio.Semaphore``). The google-genai client retries 408/429/5xx itself (the connection's
``retries``/``retry_initial_delay``); a request that still fails with a
:class:`~gemini_tuning.exceptions.TransientServiceError` becomes an :class:`Outcome` with its error.
Results come back in input order, one per example and model, always.

Any other error (400, 401, 403, 404: a wrong key, a missing model, a refused request) will not go away
on the next example either: the run stops at its first occurrence, no further request is sent, and the
error is raised with the service's message, the model and the example.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gemini_tuning.exceptions import GeminiTuningError, InvalidInputError, TransientServiceError


@dataclass(frozen=True, slots=True)
class Outcome:
    output: str | None  # None when the request failed
    error: str | None = None
    http_status: int | None = None  # of the final failure, if any
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _config_for(example: Any, config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    system = getattr(example, "system_instruction", None)
    if system:
        return {**(config or {}), "system_instruction": system}
    return dict(config) if config else None


async def generate_all(
    hook: Any,
    models: Mapping[str, str],
    examples: Sequence[Any],
    *,
    config: Mapping[str, Any] | None = None,
    max_concurrency: int = 16,
    on_done: Callable[[str, int, Outcome], None] | None = None,
) -> dict[str, list[Outcome]]:
    """``{role: [Outcome per example, in order]}`` for ``models`` = ``{role: model name}``.

    ``examples`` need ``.input`` (and optionally ``.system_instruction``, sent as the system instruction,
    and ``.line``, named in errors). ``on_done(role, index, outcome)`` is called as each request finishes.
    """
    if max_concurrency < 1:
        raise InvalidInputError(f"max_concurrency must be at least 1, got {max_concurrency}")
    await hook.aget_client()  # build the client once, before the fan-out
    fan_out = _FanOut(hook, models, config, max_concurrency, on_done)
    results = await fan_out.run(examples)
    missing = [(role, i) for role, outcomes in results.items() for i, o in enumerate(outcomes) if o is None]
    if missing:  # cannot happen; guards the "never lose an example" promise
        raise RuntimeError(f"{len(missing)} requests produced no outcome, e.g. {missing[:5]}")
    return results  # type: ignore[return-value]


class _FanOut:
    """One request per example per model, at most ``max_concurrency`` at a time; stops at an error that stays."""

    def __init__(self, hook: Any, models: Mapping[str, str], config: Any, max_concurrency: int, on_done: Any):
        self.hook, self.models, self.config, self.on_done = hook, models, config, on_done
        self.semaphore = asyncio.Semaphore(max_concurrency)
        self.results: dict[str, list[Outcome | None]] = {}
        self.stopped: BaseException | None = None  # the first error that will not go away

    async def run(self, examples: Sequence[Any]) -> dict[str, list[Outcome | None]]:
        self.results = {role: [None] * len(examples) for role in self.models}
        # Acquire before creating each task: at most ``max_concurrency`` requests (and tasks) exist at a time.
        pending: set[asyncio.Task] = set()
        try:
            for index, example in enumerate(examples):
                for role in self.models:
                    await self.semaphore.acquire()
                    if self.stopped:
                        break
                    task = asyncio.ensure_future(self.ask(role, index, example))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                if self.stopped:
                    break
            while pending and not self.stopped:
                await asyncio.wait(set(pending), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pending:  # only left when stopping (or cancelled): their answers would be thrown away
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        if self.stopped:
            raise self.stopped
        return self.results

    async def ask(self, role: str, index: int, example: Any) -> None:
        started = time.monotonic()
        try:
            text = await self.hook.agenerate(self.models[role], example.input, _config_for(example, self.config))
            outcome = Outcome(text, seconds=time.monotonic() - started)
        except TransientServiceError as exc:  # recorded, counted and reported -- never dropped
            outcome = Outcome(None, error=str(exc), http_status=exc.http_status, seconds=time.monotonic() - started)
        except Exception as exc:
            if self.stopped is None:
                self.stopped = _refused(exc, role, self.models[role], example, index)
            return
        finally:
            self.semaphore.release()
        self.results[role][index] = outcome
        if self.on_done is not None:
            self.on_done(role, index, outcome)


def _refused(exc: Exception, role: str, model: str, example: Any, index: int) -> BaseException:
    """The error to raise, naming the model and the example; the service's message and statuses kept."""
    if not isinstance(exc, GeminiTuningError):
        return exc  # not the service's answer (a bug, a broken install): raised as it is
    where = f"example {getattr(example, 'line', index + 1)}"
    message = (
        f"the {role} model {model} refused {where}: {exc.message}. An error like this repeats on every "
        "example, so the evaluation stopped here without sending further requests."
    )
    error = copy.copy(exc)  # same class, http_status and status
    error.message = message
    error.args = (error._render(),)
    return error
