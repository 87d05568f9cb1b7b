"""Evaluate a tuned model's checkpoints (Vertex AI keeps one per epoch) and pick the best.

The tuning summary lists them (``checkpoints``: ``checkpoint_id``, ``epoch``, ``step``, ``endpoint``). Each
checkpoint's endpoint answers the same examples; one whose endpoint is the model's own (the default
checkpoint) reuses the tuned model's answers instead of asking twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from gemini_tuning.contracts.evaluation import CheckpointResult
from gemini_tuning.evaluation.inputs import ModelUnderTest
from gemini_tuning.evaluation.metrics import mean, rounded
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.models import Checkpoint

ROLE_PREFIX = "checkpoint:"


def select_checkpoints(model: ModelUnderTest, which: str | Collection[str] | None) -> tuple[Checkpoint, ...]:
    """``None``: none; ``"all"``: every checkpoint the tuning summary lists; else the listed ids."""
    if not which:
        return ()
    if not model.checkpoints:
        raise InvalidInputError(
            f"checkpoints={which!r} needs the tuning summary as `model`, with its `checkpoints` list "
            f"(a Vertex AI tuning job); {model.name} comes with none"
        )
    if which == "all":
        chosen = model.checkpoints
    else:
        wanted = [which] if isinstance(which, str) else [str(w) for w in which]
        known = {c.checkpoint_id for c in model.checkpoints}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise InvalidInputError(f"checkpoints names {unknown}; the tuning job has {sorted(known)}")
        chosen = tuple(c for c in model.checkpoints if c.checkpoint_id in wanted)
    undeployed = [c.checkpoint_id for c in chosen if not c.endpoint]
    if undeployed:
        raise InvalidInputError(f"checkpoints {undeployed} of {model.name} have no endpoint to call")
    return tuple(chosen)


def checkpoint_role(checkpoint: Checkpoint, model_name: str) -> str:
    """The role whose answers are this checkpoint's: ``tuned`` for the model's own endpoint."""
    return "tuned" if checkpoint.endpoint == model_name else ROLE_PREFIX + checkpoint.checkpoint_id


def checkpoint_requests(checkpoints: Sequence[Checkpoint], model_name: str) -> dict[str, str]:
    """``{role: endpoint}`` for the checkpoints that need requests of their own."""
    roles = {checkpoint_role(c, model_name): c.endpoint for c in checkpoints}
    roles.pop("tuned", None)
    return roles


def checkpoint_result(
    checkpoint: Checkpoint, rows: Sequence[Mapping[str, Any]], metric_names: Sequence[str], model_name: str
) -> CheckpointResult:
    """Means over the examples this checkpoint answered (rows carry ``checkpoints[id]``)."""
    answers = [row["checkpoints"][checkpoint.checkpoint_id] for row in rows]
    scored = [a["scores"] for a in answers if a["scores"] is not None]
    return CheckpointResult(
        checkpoint_id=checkpoint.checkpoint_id,
        epoch=checkpoint.epoch,
        step=checkpoint.step,
        endpoint=checkpoint.endpoint,
        is_default=checkpoint.endpoint == model_name,
        failed=len(answers) - len(scored),
        metrics={name: rounded(mean(s[name] for s in scored)) for name in metric_names},
    )


def best_checkpoint(results: Sequence[CheckpointResult], metric: str) -> CheckpointResult | None:
    """The highest mean ``metric``; a tie goes to the default checkpoint, then to the earliest listed."""
    ranked = [(r.metrics[metric], r.is_default, -i, r) for i, r in enumerate(results) if r.metrics[metric] is not None]
    return max(ranked, key=lambda t: t[:3])[3] if ranked else None
