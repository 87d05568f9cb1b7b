"""What a dataset argument may be, reduced to a path / URI or a list of records.

Accepted: a path or URI (``str``, ``pathlib.Path``, ``ObjectStoragePath``); a list of records; the JSON text
or Python repr of either (what ``"{{ ti.xcom_pull(...) }}"`` renders to); the google-genai SDK's dataset shapes
``{"examples": [...]}`` and ``{"gcs_uri": "gs://..."}``, as dicts or as ``types.TuningDataset`` objects.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from gemini_tuning.datasets.storage import usage_error


def dataset_source(value: Any, *, argument: str = "source") -> Any:
    """``value`` as a path / URI (``str`` or path object) or a list of records; a usage error otherwise."""
    value = literal_value(value, argument=argument)
    if isinstance(value, str):
        if not value:
            raise usage_error(f"`{argument}` is empty; pass a path or URI, or a list of examples")
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return _from_mapping(value, argument)
    return value  # pathlib.Path, ObjectStoragePath


def literal_value(value: Any, *, argument: str = "source") -> Any:
    """Text that holds a list or dict (JSON, or a rendered template's repr) as that value; SDK objects as dicts.

    Other text comes back stripped; anything else unchanged.
    """
    if isinstance(value, str):
        text = value.strip()
        return _literal(text, argument) if text[:1] in ("[", "{") else text
    if hasattr(value, "model_dump") and not hasattr(value, "protocol"):  # google.genai types.TuningDataset
        return value.model_dump(exclude_none=True)
    return value


def is_sdk_dataset(value: Mapping) -> bool:
    """``{"examples": [...]}`` or ``{"gcs_uri": ...}``: the google-genai SDK's ``TuningDataset`` shape."""
    return "examples" in value or "gcs_uri" in value


def _plain(item: Any) -> Any:
    """A record as a plain dict (``types.TuningExample`` objects become ``{"text_input", "output"}``)."""
    return item.model_dump(exclude_none=True) if hasattr(item, "model_dump") else item


def _from_mapping(value: Mapping, argument: str) -> Any:
    if value.get("gcs_uri") and isinstance(value["gcs_uri"], str):
        return dataset_source(value["gcs_uri"], argument=argument)
    if "examples" in value:
        examples = value["examples"]
        if not isinstance(examples, (list, tuple)):
            raise usage_error(f'`{argument}`: "examples" must be a list of examples, got {type(examples).__name__}')
        return [_plain(item) for item in examples]
    if "training_dataset_uri" in value:
        raise usage_error(
            f"`{argument}` is a dataset that was already validated (it has training_dataset_uri): hand it to "
            "UploadTuningDatasetOperator(dataset=...) or CreateTuningJobOperator(training_dataset=...) instead"
        )
    keys = ", ".join(sorted(map(str, value))) or "none"
    raise usage_error(
        f"`{argument}` is a dict with keys {keys}; expected a path or URI, a list of examples, "
        '{"examples": [...]} or {"gcs_uri": "gs://..."}'
    )


def _literal(text: str, argument: str) -> Any:
    """JSON text, or the Python repr a rendered ``{{ ti.xcom_pull(...) }}`` template gives."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        from gemini_tuning.contracts.base import TEMPLATE_HINT

        raise usage_error(
            f"`{argument}` looks like a list or dict but could not be read as one. {TEMPLATE_HINT}"
        ) from None
