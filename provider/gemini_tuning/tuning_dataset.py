"""What the tuning operator accepts as ``training_dataset``, resolved into one shape before any request.

A :class:`~gemini_tuning.contracts.dataset.StagedDataset` (the validate report or the upload result) is used as
it is. Anything raw (a path or URI, a list of examples, ``{"examples": [...]}``, ``{"gcs_uri": ...}``, or the
rendered text of these) goes through the same readers, rules and limits as ``ValidateTuningDatasetOperator``
and is staged under the staging location; an invalid one fails with file, line and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from gemini_tuning.exceptions import InvalidInputError


class ResolvedDataset(BaseModel):
    """Where the training data is, and (Gemini API) the examples to send inline.

    ``staging_dir`` is always under the staging location (``[gemini_tuning] staging_uri``): outputs about this
    dataset (the loss-curve plot, evaluations) go there, never next to the user's source data.
    """

    training_dataset_uri: str
    validation_dataset_uri: str | None = None
    examples: list[dict[str, str]] | None = None
    train_count: int | None = None
    prompt_template: str | None = None
    sha256: str | None = None
    staging_dir: str


def resolve_training_dataset(
    value: Any, backend: str, validation_dataset: str | None = None, *, load_examples: bool = True
) -> ResolvedDataset:
    """Resolve ``value`` for ``backend`` (the connection's), checking everything that can be checked locally.

    On the Gemini API the examples are read (streamed) from the staged file unless ``load_examples`` is false,
    which resolves only where the data is (for a task resuming after deferral).
    """
    from gemini_tuning.backends import capabilities_for
    from gemini_tuning.contracts.dataset import StagedDataset
    from gemini_tuning.datasets.sources import is_sdk_dataset, literal_value
    from gemini_tuning.datasets.staging import read_scheme

    caps = capabilities_for(backend)
    value = literal_value(value, argument="training_dataset")
    if isinstance(value, Mapping) and not is_sdk_dataset(value):
        dataset = _from_staged(StagedDataset.parse(value, argument="training_dataset"), backend)
    else:
        dataset = _validate_raw(value, caps)
    if validation_dataset:
        dataset.validation_dataset_uri = validation_dataset
    if read_scheme(caps) is None and load_examples:  # the examples go inline in the request
        from gemini_tuning.datasets.readers import iter_examples
        from gemini_tuning.datasets.upload import check_inline_size

        check_inline_size(dataset.training_dataset_uri, caps)
        dataset.examples = [_text_example(row) for row in iter_examples(dataset.training_dataset_uri)]
        dataset.train_count = len(dataset.examples)
    return dataset


def _from_staged(staged: Any, backend: str) -> ResolvedDataset:
    from gemini_tuning.datasets.staging import default_staging_uri

    if staged.backend != backend:
        raise InvalidInputError(
            f"The dataset was prepared for {staged.backend} but the connection's backend is {backend}: "
            "validate it again for this connection."
        )
    return ResolvedDataset(
        training_dataset_uri=staged.training_dataset_uri,
        validation_dataset_uri=staged.validation_dataset_uri,
        train_count=staged.train_count,
        prompt_template=staged.prompt_template,
        sha256=staged.sha256,
        staging_dir=staged.staging_dir or default_staging_uri(),
    )


def _validate_raw(value: Any, caps: Any) -> ResolvedDataset:
    """Validate and stage raw data as ``ValidateTuningDatasetOperator`` would (``on_invalid="fail"``).

    When the service reads files itself and the staging location is not where it reads, a source already there
    in the service's format is used as it is; anything else is refused with what to do.
    """
    from gemini_tuning.contracts.dataset import StagedDataset
    from gemini_tuning.datasets.engine import Options, validate_dataset
    from gemini_tuning.datasets.errors import DatasetValidationError
    from gemini_tuning.datasets.staging import default_staging_uri, read_scheme, service_reads

    staging_uri, scheme = default_staging_uri(), read_scheme(caps)
    stage = scheme is None or service_reads(caps, staging_uri)
    report = validate_dataset(value, Options(backend=caps.name), staging_uri=staging_uri if stage else None)
    if not report["ok"]:
        raise DatasetValidationError(report)
    if stage:
        return _from_staged(StagedDataset.parse(report, argument="training_dataset"), caps.name)
    source = report["source"]
    if not service_reads(caps, source) or report["format"] != "jsonl" or report["converted"]:
        where = "an inline list" if report["format"] == "inline" else source
        problem = "is not there" if not service_reads(caps, source) else "is not in its format"
        raise InvalidInputError(
            f"{caps.label} reads training data from a {scheme} URI: {where} is valid but {problem}, and the "
            f"staging location {staging_uri} is not on {scheme} either. Set [gemini_tuning] staging_uri to a "
            f"{scheme} location, or stage the data with ValidateTuningDatasetOperator and "
            f"UploadTuningDatasetOperator(destination_uri='{scheme}...')."
        )
    return ResolvedDataset(training_dataset_uri=source, train_count=report["train_count"], staging_dir=staging_uri)


def _text_example(row: dict[str, Any]) -> dict[str, str]:
    """A Gemini API example from either format (multi-turn or system-instruction rows are refused)."""
    from gemini_tuning.datasets.formats import to_text_pair

    text_input, output = to_text_pair(row)
    return {"text_input": text_input, "output": output}
