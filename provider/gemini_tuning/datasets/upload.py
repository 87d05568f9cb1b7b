"""Hand a staged dataset to its backend: the Gemini API inline-size check, or a content-addressed copy for Vertex AI."""

from __future__ import annotations

from typing import Any

from gemini_tuning.contracts.dataset import StagedDataset, UploadResult
from gemini_tuning.datasets.errors import DatasetUploadError
from gemini_tuning.datasets.formats import GEMINI_API, VERTEX_AI
from gemini_tuning.datasets.rules import GEMINI_MAX_INLINE_BYTES
from gemini_tuning.datasets.staging import put_if_absent
from gemini_tuning.datasets.storage import as_path, size_of, uri_of


def upload_dataset(dataset: Any, destination_uri: str | None = None) -> UploadResult:
    """The :class:`UploadResult` for a validation report (or an earlier upload result)."""
    staged = StagedDataset.parse(dataset, argument="dataset")
    result = UploadResult(**staged.model_dump(include=set(StagedDataset.model_fields)))
    if staged.backend == GEMINI_API:
        check_inline_size(staged.training_dataset_uri)
        return result
    if staged.backend != VERTEX_AI:
        raise DatasetUploadError(f"unknown backend {staged.backend!r} in the dataset")
    if destination_uri is None:
        if not staged.training_dataset_uri.startswith("gs://"):
            raise DatasetUploadError(
                f"Vertex AI reads training data from gs://; {staged.training_dataset_uri} is not there: "
                "pass destination_uri='gs://bucket/prefix'"
            )
        return result
    base = as_path(destination_uri.rstrip("/")) / staged.sha256[:16]
    uploaded, uris = False, {}
    for key, name in (("training_dataset_uri", "train.jsonl"), ("validation_dataset_uri", "validation.jsonl")):
        if getattr(staged, key):
            dest = base / name
            uploaded |= put_if_absent(getattr(staged, key), dest)
            uris[key] = uri_of(dest)
    return result.model_copy(update={**uris, "uploaded": uploaded})


def check_inline_size(uri: str) -> None:
    """The Gemini API takes the examples inline: refuse a file over the 4 MB limit before reading it."""
    size = size_of(as_path(uri))
    if size > GEMINI_MAX_INLINE_BYTES:
        raise DatasetUploadError(
            f"{uri} is {size:,} bytes; the Gemini API inline upload limit is 4 MB "
            f"({GEMINI_MAX_INLINE_BYTES:,} bytes). Reduce the dataset or tune on Vertex AI."
        )
