"""Hand a staged dataset to its backend: the Gemini API inline-size check, or a content-addressed copy for Vertex AI."""

from __future__ import annotations

from typing import Any

from gemini_tuning.datasets.formats import GEMINI_API, VERTEX_AI
from gemini_tuning.datasets.rules import GEMINI_MAX_INLINE_BYTES
from gemini_tuning.datasets.staging import put_if_absent
from gemini_tuning.datasets.storage import as_path, size_of, uri_of


class DatasetUploadError(ValueError):
    """The staged dataset cannot be handed to the backend."""


def upload_dataset(report: dict[str, Any], destination_uri: str | None = None) -> dict[str, Any]:
    """Return the tuning step's ``training_dataset`` dict for a validation ``report``."""
    backend, sha = report.get("backend"), report.get("sha256")
    train_uri = report.get("train_uri")
    if not train_uri or not sha:
        raise DatasetUploadError(
            "dataset report has no train_uri/sha256; pass the output of ValidateTuningDatasetOperator"
        )
    result = {
        "backend": backend,
        "training_dataset_uri": train_uri,
        "validation_dataset_uri": report.get("validation_uri"),
        "example_count": report.get("train_count"),
        "validation_example_count": report.get("validation_count", 0),
        "sha256": sha,
        "prompt_template": report.get("prompt_template"),
        "uploaded": False,
    }
    if backend == GEMINI_API:
        size = size_of(as_path(train_uri))
        if size > GEMINI_MAX_INLINE_BYTES:
            raise DatasetUploadError(
                f"{train_uri} is {size:,} bytes; the Gemini API inline upload limit is 4 MB "
                f"({GEMINI_MAX_INLINE_BYTES:,} bytes). Reduce the dataset or tune on Vertex AI."
            )
        return result
    if backend != VERTEX_AI:
        raise DatasetUploadError(f"unknown backend {backend!r} in the dataset report")
    if destination_uri is None:
        if not str(train_uri).startswith("gs://"):
            raise DatasetUploadError(
                f"Vertex AI reads training data from gs://; {train_uri} is not there: pass destination_uri='gs://bucket/prefix'"
            )
        return result
    base = as_path(destination_uri.rstrip("/")) / sha[:16]
    for key, name in (("training_dataset_uri", "train.jsonl"), ("validation_dataset_uri", "validation.jsonl")):
        if result[key]:
            dest = base / name
            result["uploaded"] |= put_if_absent(result[key], dest)
            result[key] = uri_of(dest)
    return result
