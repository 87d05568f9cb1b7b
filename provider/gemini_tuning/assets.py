"""Tuned models as Airflow Assets: which asset a tuning task updates, what its events carry, reading them back.

A producer (``CreateTuningJobOperator(tuned_model_asset=True)``, or a promote step after evaluation)
emits an event whose ``extra`` is :func:`tuned_model_event_extra`; a DAG scheduled on that asset
reads the model with :func:`tuned_model_from_events` from ``triggering_asset_events``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow.sdk import Asset

from gemini_tuning.exceptions import InvalidInputError

TUNED_MODEL_SCHEME = "gemini-tuned-model"


def tuned_model_asset(dag_id: str, task_id: str) -> Asset:
    """The default asset of a tuning task: ``gemini-tuned-model://<dag_id>/<task_id>``."""
    return Asset(f"{TUNED_MODEL_SCHEME}://{dag_id}/{task_id}")


def resolve_tuned_model_asset(value: Asset | bool | None, *, dag_id: str | None, task_id: str) -> Asset | None:
    """``tuned_model_asset=`` of the tuning operator: ``True`` (the default asset), an ``Asset``, or off."""
    if value is None or value is False:
        return None
    if isinstance(value, Asset):
        return value
    if value is True:
        if not dag_id:
            raise InvalidInputError(
                f"Task `{task_id}`: tuned_model_asset=True names the asset after the DAG; create the operator "
                "inside a DAG, or pass an Asset."
            )
        return tuned_model_asset(dag_id, task_id)
    raise InvalidInputError(f"`tuned_model_asset` must be True, False or an Asset, got {type(value).__name__}.")


def tuned_model_event_extra(summary: Mapping[str, Any], evaluation: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-safe ``extra`` of a tuned-model asset event, from the tuning summary (and the evaluation).

    ``model`` is what to call (a Vertex AI endpoint or ``tunedModels/...``), with inputs formatted by
    ``prompt_template`` as in training; ``scores`` are the
    evaluation's per-metric ``{tuned, baseline, delta}`` and ``gates_passed`` its verdict, when given.
    """
    extra: dict[str, Any] = {
        "model": summary.get("model") or summary.get("tuned_model"),
        "tuned_model": summary.get("tuned_model"),
        "job_name": summary.get("job_name"),
        "backend": summary.get("backend"),
        "base_model": summary.get("base_model"),
        "recommended_epoch_count": summary.get("recommended_epoch_count"),
        "prompt_template": summary.get("prompt_template"),
    }
    if evaluation is not None:
        extra["scores"] = dict(evaluation.get("metrics") or {})
        extra["gates_passed"] = (evaluation.get("gates") or {}).get("passed")
    return extra


def tuned_model_from_events(
    triggering_asset_events: Mapping[Any, Iterable[Any]] | None, asset: Asset | str | None = None
) -> dict[str, Any]:
    """The ``extra`` of the newest tuned-model event that triggered this run (optionally of one ``asset``).

    Raises :class:`InvalidInputError` when the run was not triggered by such an event (e.g. a manual run).
    """
    wanted = getattr(asset, "name", asset)
    newest = None
    for key, events in (triggering_asset_events or {}).items():
        if wanted and wanted not in (getattr(key, "name", None), getattr(key, "uri", None), key):
            continue
        for event in events:
            if (event.extra or {}).get("model") and (newest is None or event.timestamp >= newest.timestamp):
                newest = event
    if newest is None:
        raise InvalidInputError(
            "This run was not triggered by a tuned-model asset event carrying a `model`"
            + (f" on {wanted}" if wanted else "")
            + "; trigger it through the asset (or pass the model some other way)."
        )
    return dict(newest.extra)
