"""In-memory emulator state: settings, faults, jobs and the compressed-time simulation.

Nothing runs in the background: a job's state is computed from the time elapsed since
it was created each time it is read. All mutation happens under one lock.
"""

from __future__ import annotations

import hashlib
import math
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_FAIL_MESSAGE = "Tuning failed: the emulator was asked to fail this job (fail_jobs)."


@dataclass
class Faults:
    """Fault injection knobs; rates are probabilities per API request."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    latency_ms: int = 0
    fail_jobs: bool = False
    fail_message: str = DEFAULT_FAIL_MESSAGE

    def update(self, values: dict[str, Any]) -> None:
        """Apply a partial update, validating names and ranges (raises ValueError)."""
        for key, value in values.items():
            if key not in FAULT_FIELDS:
                raise ValueError(f"Unknown fault setting {key!r}; known: {sorted(FAULT_FIELDS)}")
            if key.startswith("rate_"):
                value = float(value)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{key} must be between 0.0 and 1.0, got {value}")
            elif key == "latency_ms":
                value = int(value)
                if value < 0:
                    raise ValueError("latency_ms must be >= 0")
            elif key == "fail_jobs":
                if not isinstance(value, bool):
                    raise ValueError("fail_jobs must be a boolean")
            elif key == "fail_message":
                value = str(value)
            setattr(self, key, value)
        if self.rate_429 + self.rate_500 + self.rate_503 > 1.0:
            raise ValueError("rate_429 + rate_500 + rate_503 must not exceed 1.0")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FAULT_FIELDS = frozenset(Faults.__dataclass_fields__)


@dataclass
class Settings:
    """Emulator configuration (see ``docs/emulator.md``)."""

    api_key: str = "emulator-key"
    bearer_token: str | None = None  # None: any non-empty bearer token is accepted
    gcs_root: str | None = None
    step_seconds: float = 0.02
    startup_seconds: float = 0.1
    queue_seconds: float = 0.0  # Vertex only: time in JOB_STATE_QUEUED before PENDING
    cancel_seconds: float | None = None  # time in JOB_STATE_CANCELLING; default startup_seconds
    seed: int = 0
    faults: Faults = field(default_factory=Faults)


def rfc3339(ts: float) -> str:
    """Format a POSIX timestamp the way Google APIs do (UTC, microseconds, ``Z``)."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _unit(seed: str) -> float:
    """A deterministic float in [0, 1) derived from a string."""
    digest = hashlib.sha256(seed.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def loss_curve(job_name: str, total_steps: int, steps_per_epoch: int) -> list[float]:
    """Deterministic mean loss per step: exponential decay per epoch toward a floor, plus noise.

    The per-epoch mean falls for about three epochs and then plateaus.
    """
    initial = 2.2 + 0.6 * _unit(job_name + ":initial")
    floor = 0.04 + 0.08 * _unit(job_name + ":floor")
    losses = []
    for step in range(1, total_steps + 1):
        epochs_done = step / max(steps_per_epoch, 1)
        noise = (_unit(f"{job_name}:noise:{step}") - 0.5) * 0.02
        losses.append(round(max(floor + (initial - floor) * math.exp(-1.6 * epochs_done) + noise, 0.0), 6))
    return losses


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
    def fail_step(self) -> int:
        """A failing job fails after about half of its steps."""
        return max(1, self.total_steps // 2)

    @property
    def end_step(self) -> int:
        return self.fail_step if self.fail_message else self.total_steps

    @property
    def natural_end_time(self) -> float:
        return self.start_time + self.end_step * self.step_seconds

    def losses(self) -> list[float]:
        cached = self.extra.get("losses")
        if cached is None:
            cached = self.extra["losses"] = loss_curve(self.name, self.total_steps, self.steps_per_epoch)
        return cached

    def completed_steps(self, now: float) -> int:
        until = now if self.cancelled_at is None else min(now, self.cancelled_at)
        if until < self.start_time:
            return 0
        return min(self.end_step, int((until - self.start_time) / self.step_seconds + 1e-9))

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
        if done:
            return self.start_time + done * self.step_seconds
        if now >= self.start_time:
            return self.start_time
        return max(self.extra.get("updated", self.created), self.created)

    def snapshots(self, now: float) -> list[dict[str, Any]]:
        """Gemini-style snapshots for the steps completed so far (one per step)."""
        losses = self.losses()
        return [
            {
                "step": step,
                "epoch": (step - 1) // self.steps_per_epoch + 1,
                "meanLoss": losses[step - 1],
                "computeTime": rfc3339(self.start_time + step * self.step_seconds),
            }
            for step in range(1, self.completed_steps(now) + 1)
        ]

    def is_terminal(self, now: float) -> bool:
        return self.phase(now) in ("succeeded", "failed", "cancelled")


class EmulatorState:
    """Everything the emulator remembers, guarded by one lock."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.initial_faults = Faults(**settings.faults.as_dict())
        self.clock = time.time
        self._reset_locked()

    def _reset_locked(self) -> None:
        self.jobs: dict[str, Job] = {}  # by name, including deleted Gemini models (for their operation)
        self.endpoints: dict[str, str] = {}  # Vertex endpoint name -> tuning job name
        self.models: dict[str, str] = {}  # Vertex model name (no @version) -> tuning job name
        self.operations: dict[str, dict[str, Any]] = {}  # Vertex long-running operations by name
        self.rng = random.Random(self.settings.seed)
        self.id_rng = random.Random(f"ids:{self.settings.seed}")
        self.requests: Counter[str] = Counter()
        self.jobs_created: Counter[str] = Counter()
        self.cancels: Counter[str] = Counter()
        self.deletes: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget all jobs, statistics and faults (faults go back to none)."""
        with self.lock:
            self.settings.faults = Faults()
            self._reset_locked()

    def now(self) -> float:
        return self.clock()

    @property
    def faults(self) -> Faults:
        return self.settings.faults

    def draw_fault(self) -> int | None:
        """Decide whether this request gets an injected error (429/500/503) or not."""
        with self.lock:
            f = self.settings.faults
            if not (f.rate_429 or f.rate_500 or f.rate_503):
                return None
            r = self.rng.random()
            for code, rate in ((429, f.rate_429), (500, f.rate_500), (503, f.rate_503)):
                if r < rate:
                    self.faults_injected[str(code)] += 1
                    return code
                r -= rate
            return None

    def count_request(self, method: str, template: str) -> None:
        with self.lock:
            self.requests[f"{method} {template}"] += 1

    def random_id(self, length: int = 10, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
        with self.lock:
            return "".join(self.id_rng.choice(alphabet) for _ in range(length))

    def numeric_id(self) -> str:
        with self.lock:
            return str(self.id_rng.randrange(10**18, 10**19))

    def add_job(self, job: Job) -> None:
        with self.lock:
            self.jobs[job.name] = job
            self.jobs_created[job.backend] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "jobs_created": {"gemini_api": 0, "vertex_ai": 0, **self.jobs_created},
                "cancels": {"gemini_api": 0, "vertex_ai": 0, **self.cancels},
                "deletes": {"gemini_api": 0, **self.deletes},
                "faults_injected": {"429": 0, "500": 0, "503": 0, **self.faults_injected},
                "jobs": len(self.jobs),
            }
