"""Hand a staged dataset to its backend: the inline-size check, or a content-addressed copy where the service reads."""

from __future__ import annotations

from typing import Any

from gemini_tuning.backends import capabilities_for
from gemini_tuning.contracts.dataset import StagedDataset, UploadResult
from gemini_tuning.datasets.errors import DatasetUploadError
from gemini_tuning.datasets.rules import decimal_size
from gemini_tuning.datasets.staging import put_if_absent, read_scheme, service_reads
from gemini_tuning.datasets.storage import as_path, size_of, uri_of


def upload_dataset(dataset: Any, destination_uri: str | None = None) -> UploadResult:
    """The :class:`UploadResult` for a validation report (or an earlier upload result)."""
    staged = StagedDataset.parse(dataset, argument="dataset")
    caps = capabilities_for(staged.backend)
    result = UploadResult(**staged.model_dump(include=set(StagedDataset.model_fields)))
    scheme = read_scheme(caps)
    if scheme is None:  # the examples go inline in the request
        check_inline_size(staged.training_dataset_uri, caps)
        return result
    if destination_uri is None:
        if not service_reads(caps, staged.training_dataset_uri):
            raise DatasetUploadError(
                f"{caps.label} reads training data from {scheme}; {staged.training_dataset_uri} is not there: "
                f"pass destination_uri='{scheme}bucket/prefix'"
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


def check_inline_size(uri: str, capabilities: Any) -> None:
    """Examples sent inline: refuse a file over the service's request limit before reading it."""
    limit = capabilities.limits.max_training_bytes
    size = size_of(as_path(uri))
    if limit is not None and size > limit:
        raise DatasetUploadError(
            f"{uri} is {size:,} bytes; the {capabilities.label} inline upload limit is {decimal_size(limit)} "
            f"({limit:,} bytes). Reduce the dataset, or tune on a backend that reads training files."
        )
