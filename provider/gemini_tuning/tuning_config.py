"""``tuning_job_config=``: google-genai ``CreateTuningJobConfig`` fields this provider does not name yet.

Checked against the SDK's pydantic model before any request, so a typo or a wrong type fails the
task with the field's name instead of a 400 from the service (or, worse, being ignored). Fields the
operator already has an argument for are refused: one way to say each thing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gemini_tuning.exceptions import InvalidInputError

# CreateTuningJobConfig field -> the operator argument (or connection field) that sets it.
NAMED_FIELDS = {
    "tuned_model_display_name": "display_name",
    "description": "description",
    "epoch_count": "epoch_count",
    "learning_rate_multiplier": "learning_rate_multiplier",
    "adapter_size": "adapter_size",
    "batch_size": "batch_size",
    "learning_rate": "learning_rate",
    "labels": "labels",
    "validation_dataset": "validation_dataset",
    "validation_dataset_uri": "validation_dataset",
    "export_last_checkpoint_only": "export_last_checkpoint_only",
    "tuning_mode": "tuning_mode",
    "encryption_spec": "kms_key_name",
    "pre_tuned_model_checkpoint_id": "checkpoint_id",
    "http_options": "the connection (base_url, timeout, retries) or service_account",
}


def check_tuning_job_config(config: Mapping[str, Any] | str | None, backend: str) -> dict[str, Any]:
    """Validate ``config`` for ``backend``; return it as ``CreateTuningJobConfig`` field values (snake_case).

    Raises :class:`InvalidInputError` naming the field for an unknown field, a wrong value, a field an
    operator argument already sets, or any config on the Gemini API (whose tuning endpoint the SDK's
    config does not describe).
    """
    if config is None or config == {}:
        return {}
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError:
            raise InvalidInputError("`tuning_job_config` must be a dict (or its JSON text).") from None
    if not isinstance(config, Mapping):
        raise InvalidInputError(f"`tuning_job_config` must be a dict, got {type(config).__name__}.")
    if backend != "vertex_ai":
        raise InvalidInputError(
            "`tuning_job_config` is passed to Vertex AI's CreateTuningJobConfig; the gemini_api backend takes "
            "only the operator's own arguments (epoch_count, batch_size, learning_rate, learning_rate_multiplier)."
        )
    from google.genai import types
    from pydantic import ValidationError

    try:
        parsed = types.CreateTuningJobConfig.model_validate(dict(config))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InvalidInputError(f"`tuning_job_config` is not a valid CreateTuningJobConfig: {problems}.") from None
    values = parsed.model_dump(exclude_unset=True)
    for name in sorted(values):
        if name in NAMED_FIELDS:
            raise InvalidInputError(
                f"`tuning_job_config` sets `{name}`; use the operator's `{NAMED_FIELDS[name]}` instead."
            )
    return values
