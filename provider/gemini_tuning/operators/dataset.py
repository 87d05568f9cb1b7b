"""Operators that validate/stage a tuning dataset and put it where the tuning backend reads it.

Thin wrappers over :mod:`gemini_tuning.datasets.engine`; nothing heavy is imported at module import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context, conf


def default_staging_uri() -> str:
    """``[gemini_tuning] staging_uri`` or ``file://{AIRFLOW_HOME}/gemini_tuning/staging``."""
    configured = conf.get("gemini_tuning", "staging_uri", fallback=None)
    if configured:
        return configured
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return f"file://{home}/gemini_tuning/staging"


class ValidateTuningDatasetOperator(BaseOperator):
    """Validate a tuning dataset before anything is sent, convert it for ``backend``, split and stage it.

    :param source: URI / ``ObjectStoragePath`` of a JSONL, JSON-array or CSV file, or an inline list of dicts.
    :param backend: ``gemini_api`` or ``vertex_ai``: decides the limits and the staged format.
    :param format: ``jsonl``, ``json`` or ``csv``; inferred from the suffix when omitted.
    :param input_column: field/column holding the input (default ``text_input``/``textInput``).
    :param output_column: field/column holding the output (default ``output``).
    :param prompt_template: ``str.format`` template applied to every input, e.g. ``"question: {question}"``.
    :param on_invalid: ``fail`` (default) fails listing the first problems; ``skip`` writes rejects and goes on.
    :param validation_fraction: share of examples put in the validation file (deterministic per example).
    :param seed: changes which examples land in validation.
    :param deduplicate: drop examples whose input and output repeat an earlier one.
    :param staging_uri: base for the content-addressed staged files (see :func:`default_staging_uri`).
    :param max_reported_problems: how many problems the error message and the report carry.
    :return: the JSON-safe report (XCom); see ``docs/datasets.md``.
    """

    template_fields: Sequence[str] = (
        "source",
        "backend",
        "format",
        "input_column",
        "output_column",
        "prompt_template",
        "staging_uri",
    )
    template_fields_renderers = {"source": "json"}
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        source: Any,
        backend: str = "gemini_api",
        format: str | None = None,
        input_column: str | None = None,
        output_column: str | None = None,
        prompt_template: str | None = None,
        on_invalid: str = "fail",
        validation_fraction: float = 0.0,
        seed: int = 0,
        deduplicate: bool = False,
        staging_uri: Any = None,
        max_reported_problems: int = 20,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.backend = backend
        self.format = format
        self.input_column = input_column
        self.output_column = output_column
        self.prompt_template = prompt_template
        self.on_invalid = on_invalid
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.deduplicate = deduplicate
        self.staging_uri = staging_uri
        self.max_reported_problems = max_reported_problems

    def execute(self, context: Context) -> dict[str, Any]:
        from gemini_tuning.datasets.engine import DatasetValidationError, Options, validate_dataset
        from gemini_tuning.staging_location import check_staging_location

        check_staging_location(self.staging_uri or default_staging_uri())
        source = (
            json.loads(self.source)
            if isinstance(self.source, str) and self.source.lstrip().startswith("[")
            else self.source
        )
        options = Options(
            backend=self.backend,
            format=self.format,
            input_column=self.input_column,
            output_column=self.output_column,
            prompt_template=self.prompt_template,
            on_invalid=self.on_invalid,
            validation_fraction=self.validation_fraction,
            seed=self.seed,
            deduplicate=self.deduplicate,
            max_reported_problems=self.max_reported_problems,
        )
        report = validate_dataset(source, options, staging_uri=self.staging_uri or default_staging_uri())
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
            report["train_uri"],
            report["validation_count"],
            report["validation_uri"],
        )
        return report


class UploadTuningDatasetOperator(BaseOperator):
    """Put a validated dataset where the tuning backend reads it; idempotent by content hash.

    * Gemini API: checks the train file against the 4 MB inline limit and hands on its URI (no copy).
    * Vertex AI: copies train/validation to ``{destination_uri}/{sha256[:16]}/`` (a ``gs://bucket/prefix``),
      skipping files already present with the same size. Without ``destination_uri`` the staged files
      must already be on ``gs://``.

    :param dataset: the report returned by :class:`ValidateTuningDatasetOperator` (or its XCom / JSON).
    :param destination_uri: base URI for Vertex AI.
    :return: ``{"backend", "training_dataset_uri", "validation_dataset_uri", "example_count",
        "validation_example_count", "sha256", "prompt_template", "uploaded"}`` -- the tuning operator's
        ``training_dataset``.
    """

    template_fields: Sequence[str] = ("dataset", "destination_uri")
    template_fields_renderers = {"dataset": "json"}
    ui_color = "#e8f0fe"

    def __init__(self, *, dataset: Any, destination_uri: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset
        self.destination_uri = destination_uri

    def execute(self, context: Context) -> dict[str, Any]:
        from gemini_tuning.datasets.upload import upload_dataset
        from gemini_tuning.staging_location import check_staging_location

        report = json.loads(self.dataset) if isinstance(self.dataset, str) else dict(self.dataset)
        check_staging_location(report.get("train_uri"), what="staged dataset")
        result = upload_dataset(report, self.destination_uri)
        self.log.info(
            "%s dataset %s: %s (%s)",
            result["backend"],
            result["sha256"][:16],
            result["training_dataset_uri"],
            "uploaded" if result["uploaded"] else "already in place",
        )
        return result
