"""In-memory emulator state: settings, faults, and the jobs and resources the API created.

Nothing runs in the background: a job's state is computed from the time elapsed since
it was created each time it is read. All mutation happens under one lock.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from gemini_tuning.emulator.jobs import Job

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
    hold_quota_seconds: float = 0.0  # new Vertex jobs wait this long in TUNING_JOB_STATE_WAITING_FOR_QUOTA
    hold_capacity_seconds: float = 0.0  # ... and this long in TUNING_JOB_STATE_WAITING_FOR_CAPACITY

    def update(self, values: dict[str, Any]) -> None:
        """Apply a partial update, validating names and ranges (raises ValueError)."""
        for key, value in values.items():
            if key not in FAULT_FIELDS:
                raise ValueError(f"Unknown fault setting {key!r}; known: {sorted(FAULT_FIELDS)}")
            if key.startswith("hold_"):
                value = float(value)
                if value < 0:
                    raise ValueError(f"{key} must be >= 0")
            elif key.startswith("rate_"):
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
    dataset_seconds: float = 0.0  # Vertex only: time in TUNING_JOB_STATE_PROCESSING_DATASET
    post_processing_seconds: float = 0.0  # Vertex only: time in TUNING_JOB_STATE_POST_PROCESSING
    example_token_limit: int = 131_072  # Vertex only: longer training examples are dropped
    seed: int = 0
    faults: Faults = field(default_factory=Faults)


class EmulatorState:
    """Everything the emulator remembers, guarded by one lock."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.initial_faults = Faults(**settings.faults.as_dict())
        self.clock = time.time
        self.tokens: dict[str, dict[str, Any]] = {}  # OAuth access token -> {sub, scope, expires}; kept on reset
        self._reset_locked()

    def _reset_locked(self) -> None:
        self.jobs: dict[str, Job] = {}  # by name, including deleted Gemini models (for their operation)
        self.endpoints: dict[str, Any] = {}  # Vertex endpoint name -> vertex_ai.registry.Deployment
        self.models: dict[str, Any] = {}  # Vertex model name (no @version) -> vertex_ai.registry.ModelRecord
        self.operations: dict[str, dict[str, Any]] = {}  # Vertex long-running operations by name
        self.tensorboards: dict[str, str] = {}  # Vertex location -> its (default) TensorBoard
        self.tensorboard_created: dict[str, float] = {}  # TensorBoard name -> creation time
        self.metric_index: dict[str, str] = {}  # metrics-chain resource name -> tuning job name
        self.tokens_issued = 0
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
                "oauth2_tokens_issued": self.tokens_issued,
            }
