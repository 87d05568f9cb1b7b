"""Read the evaluate operator's ``model`` and ``dataset`` arguments from the upstream tasks' hand-offs.

``model`` is a model name (``tunedModels/...``, a Vertex endpoint) or a tuning summary (from
``CreateTuningJobOperator`` or ``TuningJobSensor``); a staged ``dataset`` is the validate report or the
upload result. Each is parsed through its XCom contract: one spelling per field, one clear error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gemini_tuning.contracts.dataset import StagedDataset
from gemini_tuning.contracts.tuning import TuningSummary
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.models import Checkpoint


@dataclass(frozen=True, slots=True)
class ModelUnderTest:
    """The model to evaluate and what its tuning job recorded."""

    name: str
    job_name: str | None = None
    prompt_template: str | None = None  # the template its training inputs went through
    staged_uris: frozenset[str] = frozenset()  # its training/validation files (inputs already templated)
    checkpoints: tuple[Checkpoint, ...] = ()


def is_handoff(value: Any) -> bool:
    """Whether ``value`` is an upstream task's dict (or its JSON text / rendered repr), not a name or a URI."""
    return isinstance(value, dict) or (isinstance(value, str) and value.lstrip().startswith("{"))


def read_model(value: Any) -> ModelUnderTest:
    """A model name, or the tuning summary of ``CreateTuningJobOperator`` / ``TuningJobSensor``."""
    if not is_handoff(value):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"`model` must be a model name or the tuning operator's summary, got {value!r}")
        return ModelUnderTest(name=value.strip())
    summary = TuningSummary.parse(value, argument="model")
    if not summary.model:
        raise InvalidInputError(
            f"`model` is the tuning summary of {summary.job_name} ({summary.state}), which names no model to call"
        )
    return ModelUnderTest(
        name=summary.model,
        job_name=summary.job_name,
        prompt_template=summary.prompt_template,
        staged_uris=frozenset(filter(None, (summary.training_dataset_uri, summary.validation_dataset_uri))),
        checkpoints=tuple(summary.checkpoints),
    )


def read_staged_dataset(value: Any) -> StagedDataset:
    """The validate report or upload result (its validation file and the template its inputs went through)."""
    return StagedDataset.parse(value, argument="dataset")
