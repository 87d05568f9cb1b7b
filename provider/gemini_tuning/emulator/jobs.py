"""A tuning job on either backend, whose state is a function of the time elapsed since creation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gemini_tuning.emulator.curves import loss_curve


def rfc3339(ts: float) -> str:
    """Format a POSIX timestamp the way Google APIs do (UTC, microseconds, ``Z``)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Job:
    """One tuning job on either backend; its state is a function of time."""

    backend: str  # "gemini_api" | "vertex_ai"
    name: str  # tunedModels/{id} or projects/{p}/locations/{l}/tuningJobs/{n}
    created: float
    examples: list[tuple[str, str]]  # (input, output) pairs the responder answers from
    epoch_count: int
    batch_size: int
    resource: dict[str, Any]  # the stored wire resource (without output-only progress fields)
    startup_seconds: float
    step_seconds: float
    queue_seconds: float = 0.0
    cancel_seconds: float = 0.0
    quota_seconds: float = 0.0  # running, waiting for quota (Vertex detailed state)
    dataset_seconds: float = 0.0  # running, processing the dataset
    capacity_seconds: float = 0.0  # running, waiting for capacity
    post_seconds: float = 0.0  # running, post-processing after the last step (not for failing jobs)
    fail_message: str | None = None
    operation_name: str | None = None  # Gemini API only
    cancelled_at: float | None = None
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.examples) / max(self.batch_size, 1)))

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epoch_count

    @property
    def start_time(self) -> float:
        return self.created + self.queue_seconds + self.startup_seconds

    @property
    def train_start(self) -> float:
        """When the first training step begins (after the quota, dataset and capacity stages)."""
        return self.start_time + self.quota_seconds + self.dataset_seconds + self.capacity_seconds

    def stages(self) -> list[tuple[str, float]]:
        """The stages of the running phase that last, with their start times, in order."""
        marks = [
            ("waiting_for_quota", self.start_time, self.quota_seconds),
            ("processing_dataset", self.start_time + self.quota_seconds, self.dataset_seconds),
            ("waiting_for_capacity", self.train_start - self.capacity_seconds, self.capacity_seconds),
            ("tuning", self.train_start, 1.0),
            ("post_processing", self.step_time(self.end_step), 0.0 if self.fail_message else self.post_seconds),
        ]
        return [(name, start) for name, start, duration in marks if duration > 0]

    def stage(self, now: float) -> str | None:
        """The stage of a running job at ``now`` (None outside the running phase)."""
        if self.phase(now) != "running":
            return None
        return [name for name, start in self.stages() if start <= now][-1]

    def step_time(self, step: int) -> float:
        """When training step ``step`` (1-based) completes."""
        return self.train_start + step * self.step_seconds

    def started(self, now: float) -> bool:
        """Whether the job has reached its running phase (a job cancelled before that never does)."""
        until = now if self.cancelled_at is None else min(now, self.cancelled_at)
        return until >= self.start_time

    @property
    def fail_step(self) -> int:
        """A failing job fails after about half of its steps."""
        return max(1, self.total_steps // 2)

    @property
    def end_step(self) -> int:
        return self.fail_step if self.fail_message else self.total_steps

    @property
    def natural_end_time(self) -> float:
        return self.step_time(self.end_step) + (0.0 if self.fail_message else self.post_seconds)

    def dataset_processed(self, now: float) -> bool:
        """Whether the dataset stage is over (the data stats are known from then on)."""
        until = now if self.cancelled_at is None else min(now, self.cancelled_at)
        return until >= self.train_start - self.capacity_seconds

    def completed_epochs(self, now: float) -> int:
        return self.completed_steps(now) // self.steps_per_epoch

    def losses(self) -> list[float]:
        cached = self.extra.get("losses")
        if cached is None:
            cached = self.extra["losses"] = loss_curve(self.name, self.total_steps, self.steps_per_epoch)
        return cached

    def completed_steps(self, now: float) -> int:
        until = now if self.cancelled_at is None else min(now, self.cancelled_at)
        if until < self.train_start:
            return 0
        return min(self.end_step, int((until - self.train_start) / self.step_seconds + 1e-9))

    def phase(self, now: float) -> str:
        """One of queued, pending, running, succeeded, failed, cancelling, cancelled."""
        if self.cancelled_at is not None:
            return "cancelling" if now < self.cancelled_at + self.cancel_seconds else "cancelled"
        if now < self.created + self.queue_seconds:
            return "queued"
        if now < self.start_time:
            return "pending"
        if now < self.natural_end_time:
            return "running"
        return "failed" if self.fail_message else "succeeded"

    def end_time(self, now: float) -> float | None:
        phase = self.phase(now)
        if phase in ("succeeded", "failed"):
            return self.natural_end_time
        if phase == "cancelled":
            return self.cancelled_at + self.cancel_seconds  # type: ignore[operator]
        return None

    def update_time(self, now: float) -> float:
        """Last time the job visibly changed."""
        end = self.end_time(now)
        if end is not None:
            return end
        if self.cancelled_at is not None:
            return self.cancelled_at
        done = self.completed_steps(now)
        marks = [start for _, start in self.stages() if start <= now] if now >= self.start_time else []
        if done:
            marks.append(self.step_time(done))
        return max(marks, default=max(self.extra.get("updated", self.created), self.created))

    def snapshots(self, now: float) -> list[dict[str, Any]]:
        """Gemini-style snapshots for the steps completed so far (one per step)."""
        losses = self.losses()
        return [
            {
                "step": step,
                "epoch": (step - 1) // self.steps_per_epoch + 1,
                "meanLoss": losses[step - 1],
                "computeTime": rfc3339(self.step_time(step)),
            }
            for step in range(1, self.completed_steps(now) + 1)
        ]

    def is_terminal(self, now: float) -> bool:
        return self.phase(now) in ("succeeded", "failed", "cancelled")
