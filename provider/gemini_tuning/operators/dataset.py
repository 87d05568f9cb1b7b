"""Operators that validate/stage a tuning dataset and put it where the tuning backend reads it.

Thin wrappers over :mod:`gemini_tuning.datasets.engine`; nothing heavy is imported at module import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from gemini_tuning import DEFAULT_CONN_ID
from gemini_tuning.datasets.engine import DEFAULT_MAX_REJECTED_FRACTION
from gemini_tuning.datasets.staging import default_staging_uri

__all__ = ["UploadTuningDatasetOperator", "ValidateTuningDatasetOperator", "default_staging_uri"]


class ValidateTuningDatasetOperator(BaseOperator):
    """Validate a tuning dataset before anything is sent, convert it for the backend, split and stage it.

    :param source: a path / URI / ``ObjectStoragePath`` of a JSONL, JSON (array or ``{"examples": [...]}``) or CSV
        file, an inline list of dicts, ``{"gcs_uri": ...}``, or the rendered text of any of these.
    :param gemini_conn_id: the connection whose ``backend`` decides the limits and the staged format.
    :param backend: ``gemini_api`` or ``vertex_ai`` instead of the connection's, to validate offline.
    :param format: ``jsonl``, ``json`` or ``csv``; inferred from the suffix when omitted.
    :param input_column: field/column holding the input (default ``text_input``/``textInput``).
    :param output_column: field/column holding the output (default ``output``).
    :param prompt_template: ``str.format`` template applied to every input, e.g. ``"question: {question}"``.
    :param on_invalid: ``fail`` (default) fails listing the first problems; ``skip`` rejects bad rows and goes on.
    :param max_rejected_fraction: with ``skip``, refuse the dataset when more than this share of rows is rejected.
    :param validation_fraction: share of examples put in the validation file (deterministic per example).
    :param seed: changes which examples land in validation.
    :param deduplicate: drop examples whose input and output repeat an earlier one.
    :param staging_uri: base for everything written (see :func:`default_staging_uri`).
    :param max_reported_problems: how many problems the error message and the report carry.
    :return: a :class:`~gemini_tuning.contracts.dataset.ValidationReport` as a dict (see docs/xcom.md).
    """

    template_fields: Sequence[str] = (
        "source",
        "backend",
        "format",
        "input_column",
        "output_column",
        "prompt_template",
        "staging_uri",
        "gemini_conn_id",
    )
    template_fields_renderers = {"source": "json"}
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        source: Any,
        gemini_conn_id: str = DEFAULT_CONN_ID,
        backend: str | None = None,
        format: str | None = None,
        input_column: str | None = None,
        output_column: str | None = None,
        prompt_template: str | None = None,
        on_invalid: str = "fail",
        max_rejected_fraction: float = DEFAULT_MAX_REJECTED_FRACTION,
        validation_fraction: float = 0.0,
        seed: int = 0,
        deduplicate: bool = False,
        staging_uri: Any = None,
        max_reported_problems: int = 20,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.gemini_conn_id = gemini_conn_id
        self.backend = backend
        self.format = format
        self.input_column = input_column
        self.output_column = output_column
        self.prompt_template = prompt_template
        self.on_invalid = on_invalid
        self.max_rejected_fraction = max_rejected_fraction
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.deduplicate = deduplicate
        self.staging_uri = staging_uri
        self.max_reported_problems = max_reported_problems

    def execute(self, context: Context) -> dict[str, Any]:
        from gemini_tuning.contracts.dataset import ValidationReport
        from gemini_tuning.datasets.engine import Options, validate_dataset
        from gemini_tuning.datasets.errors import DatasetValidationError
        from gemini_tuning.staging_location import check_staging_location

        check_staging_location(self.staging_uri or default_staging_uri())
        options = Options(
            backend=self.backend or self._connection_backend(),
            format=self.format,
            input_column=self.input_column,
            output_column=self.output_column,
            prompt_template=self.prompt_template,
            on_invalid=self.on_invalid,
            max_rejected_fraction=self.max_rejected_fraction,
            validation_fraction=self.validation_fraction,
            seed=self.seed,
            deduplicate=self.deduplicate,
            max_reported_problems=self.max_reported_problems,
        )
        report = validate_dataset(self.source, options, staging_uri=self.staging_uri or default_staging_uri())
        for warning in report["warnings"]:
            self.log.warning("%s", warning)
        if not report["ok"]:
            raise DatasetValidationError(report)
        self.log.info(
            "%s: %d examples, %d valid, %d rejected; train %d -> %s, validation %d -> %s",
            report["source"],
            report["total"],
            report["valid"],
            report["rejected"],
            report["train_count"],
            report["training_dataset_uri"],
            report["validation_count"],
            report["validation_dataset_uri"],
        )
        return ValidationReport.parse(report).to_xcom()

    def _connection_backend(self) -> str:
        from airflow.sdk.exceptions import AirflowNotFoundException

        from gemini_tuning.backends import BACKEND_NAMES
        from gemini_tuning.datasets.errors import DatasetUsageError
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        try:
            return GeminiTuningHook(gemini_conn_id=self.gemini_conn_id).backend_name
        except AirflowNotFoundException:
            offline = " or ".join(f"backend={name!r}" for name in BACKEND_NAMES)
            raise DatasetUsageError(
                f"The dataset is validated for the backend of connection {self.gemini_conn_id!r}, which is not "
                f"defined: define it, or pass {offline} to validate offline."
            ) from None


class UploadTuningDatasetOperator(BaseOperator):
    """Put a validated dataset where the tuning backend reads it; idempotent by content hash.

    * Gemini API: checks the train file against the 4 MB inline limit and hands on its URI (no copy).
    * Vertex AI: copies train/validation to ``{destination_uri}/{sha256[:16]}/`` (a ``gs://bucket/prefix``),
      skipping files already present with the same size. Without ``destination_uri`` the staged files
      must already be on ``gs://``.

    :param dataset: the report returned by :class:`ValidateTuningDatasetOperator` (its ``.output``, or the
        rendered text of it).
    :param destination_uri: base URI for Vertex AI.
    :return: an :class:`~gemini_tuning.contracts.dataset.UploadResult` as a dict (see docs/xcom.md): the tuning
        operator's ``training_dataset``.
    """

    template_fields: Sequence[str] = ("dataset", "destination_uri")
    template_fields_renderers = {"dataset": "json"}
    ui_color = "#e8f0fe"

    def __init__(self, *, dataset: Any, destination_uri: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset
        self.destination_uri = destination_uri

    def execute(self, context: Context) -> dict[str, Any]:
        from gemini_tuning.contracts.dataset import StagedDataset
        from gemini_tuning.datasets.upload import upload_dataset
        from gemini_tuning.staging_location import check_staging_location

        staged = StagedDataset.parse(self.dataset, argument="dataset").training_dataset_uri
        check_staging_location(staged, what="staged dataset")
        result = upload_dataset(self.dataset, self.destination_uri)
        self.log.info(
            "%s dataset %s: %s (%s)",
            result.backend,
            result.sha256[:16],
            result.training_dataset_uri,
            "uploaded" if result.uploaded else "already in place",
        )
        return result.to_xcom()
