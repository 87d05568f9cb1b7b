"""OpenLineage for the provider's operators: datasets named by OpenLineage's conventions, and facets.

raw source --validate--> staged train/validation JSONL --upload--> (gs:// copies) --tune--> tuned model
--evaluate--> evaluation report. Each function turns what an operator was given and what it returned
(its XCom value) into an ``OperatorLineage``.

This module imports the OpenLineage provider at module level, so only the operators'
``get_openlineage_facets_*`` methods import it (from inside the method): a DAG file's parse never
loads ``openlineage``, and without the OpenLineage provider nothing here is ever imported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import attr
from airflow.providers.common.compat.openlineage.facet import (
    InputDataset,
    OutputDataset,
    OutputStatisticsOutputDatasetFacet,
    RunFacet,
    SchemaDatasetFacet,
    SchemaDatasetFacetFields,
)
from airflow.providers.openlineage.extractors import OperatorLineage
from openlineage.client.generated.base import InputDatasetFacet
from openlineage.client.generated.data_quality_assertions_dataset import Assertion, DataQualityAssertionsDatasetFacet
from openlineage.client.generated.data_quality_metrics_input_dataset import DataQualityMetricsInputDatasetFacet

from gemini_tuning import __version__

GEMINI_NAMESPACE = "gemini://generativelanguage"
#: ``_schemaURL`` of the custom facets; the JSON Schema ships as ``gemini_tuning/lineage_facets.json``.
FACETS_SCHEMA = f"urn:airflow-provider-gemini-tuning:{__version__}:lineage_facets.json"


# -- custom facets ------------------------------------------------------------------------------
@attr.define
class GeminiTuningDatasetValidationFacet(InputDatasetFacet):
    """What validation found in a raw source: every row is counted, none dropped silently."""

    total: int
    valid: int
    rejected: int
    duplicates: int | None = None
    deduplicated: int | None = None
    conflictingOutputs: int | None = None
    problemCount: int | None = None
    trainCount: int | None = None
    validationCount: int | None = None
    rejectsUri: str | None = None
    backend: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_SCHEMA}#/$defs/GeminiTuningDatasetValidationFacet"


@attr.define
class GeminiTuningJobRunFacet(RunFacet):
    """The tuning job: its name, base model, hyperparameters and final state."""

    jobName: str | None
    backend: str
    baseModel: str | None
    state: str | None
    hyperparameters: dict[str, Any] = attr.field(factory=dict)
    tunedModel: str | None = None
    endpoint: str | None = None
    exampleCount: int | None = None
    recommendedEpochCount: int | None = None
    durationSeconds: float | None = None

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_SCHEMA}#/$defs/GeminiTuningJobRunFacet"


@attr.define
class GeminiTuningEvaluationRunFacet(RunFacet):
    """Scores of the tuned model (and the baseline) on held-out examples, and the gates' verdict."""

    model: str
    baselineModel: str | None
    examples: int
    failed: int
    metrics: dict[str, dict[str, float | None]]
    gatesPassed: bool
    gateReasons: list[str] = attr.field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return f"{FACETS_SCHEMA}#/$defs/GeminiTuningEvaluationRunFacet"


# -- naming -------------------------------------------------------------------------------------
def storage_name(location: Any) -> tuple[str, str]:
    """(namespace, name) of a file by OpenLineage's convention.

    ``gs://bucket/a/b`` -> ``("gs://bucket", "a/b")``, the same for ``s3://`` and other object stores;
    a local file (``file:///p`` or a plain path) -> ``("file", "/p")``.
    """
    text = str(location)
    parts = urlsplit(text)
    if parts.scheme in ("", "file") or len(parts.scheme) == 1:  # a plain path (or a Windows drive letter)
        path = unquote(parts.path) if parts.scheme == "file" else text
        return ("file" if not parts.netloc else f"file://{parts.netloc}"), path
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/") or "/"


def storage_input(location: Any, facets: Mapping[str, Any] | None = None, **input_facets: Any) -> InputDataset:
    namespace, name = storage_name(location)
    return InputDataset(namespace=namespace, name=name, facets=dict(facets or {}), inputFacets=input_facets)


def storage_output(location: Any, facets: Mapping[str, Any] | None = None, **output_facets: Any) -> OutputDataset:
    namespace, name = storage_name(location)
    return OutputDataset(namespace=namespace, name=name, facets=dict(facets or {}), outputFacets=output_facets)


# -- dataset facets -----------------------------------------------------------------------------
def _field(name: str, type: str, description: str | None = None, fields: Iterable = ()) -> SchemaDatasetFacetFields:
    return SchemaDatasetFacetFields(name=name, type=type, description=description, fields=list(fields))


def staged_schema(backend: str) -> SchemaDatasetFacet:
    """The columns of a staged JSONL file in ``backend``'s format (see ``datasets/formats.py``)."""
    if backend == "vertex_ai":
        parts = _field("parts", "array", fields=[_field("text", "string")])
        return SchemaDatasetFacet(
            fields=[
                _field("systemInstruction", "struct", "optional system instruction", [parts]),
                _field("contents", "array", "the conversation turns", [_field("role", "string"), parts]),
            ]
        )
    return SchemaDatasetFacet(
        fields=[_field("text_input", "string", "the prompt"), _field("output", "string", "the expected answer")]
    )


def staged_output(uri: str, backend: str, rows: int | None = None, size: int | None = None) -> OutputDataset:
    return storage_output(
        uri,
        {"schema": staged_schema(backend)},
        outputStatistics=OutputStatisticsOutputDatasetFacet(rowCount=rows, size=size),
    )


def staged_input(uri: str, backend: str) -> InputDataset:
    return storage_input(uri, {"schema": staged_schema(backend)})


def model_name(model: str, context: str | None = None) -> tuple[str, str]:
    """(namespace, name) of a model: ``gemini://generativelanguage`` or ``vertexai://PROJECT/LOCATION``.

    Vertex AI resource names (``projects/P/locations/L/...``) carry their project and location. A bare
    base-model id (``gemini-2.0-flash-001``) belongs to Vertex AI when ``context`` (the job's or the tuned
    model's resource name) does: it is named ``publishers/google/models/...`` there.
    """
    vertex = _project_location(model) or (_project_location(context) if "/" not in model else None)
    if vertex:
        return f"vertexai://{vertex[0]}/{vertex[1]}", model if "/" in model else f"publishers/google/models/{model}"
    return GEMINI_NAMESPACE, model if "/" in model else f"models/{model}"


def _project_location(resource: str | None) -> tuple[str, str] | None:
    parts = (resource or "").split("/")
    if len(parts) >= 4 and parts[0] == "projects" and parts[2] == "locations":
        return parts[1], parts[3]
    return None


def model_input(model: str, context: str | None = None, **input_facets: Any) -> InputDataset:
    namespace, name = model_name(model, context)
    return InputDataset(namespace=namespace, name=name, inputFacets=input_facets)


def model_output(model: str, context: str | None = None) -> OutputDataset:
    namespace, name = model_name(model, context)
    return OutputDataset(namespace=namespace, name=name)


# -- what each operator reports ------------------------------------------------------------------
def validation_lineage(source: Any, report: Mapping[str, Any] | None = None) -> OperatorLineage:
    """Validate: the raw source in (with what validation found in it); the staged files and rejects out."""
    inline = isinstance(source, (list, tuple)) or str(source).lstrip().startswith("[")
    inputs = [] if inline else [storage_input(source, **(_validation_facets(report) if report else {}))]
    if report is None:
        return OperatorLineage(inputs=inputs)
    backend = report["backend"]
    outputs = [
        staged_output(uri, backend, rows, size)
        for uri, rows, size in (
            (report.get("train_uri"), report.get("train_count"), report.get("train_bytes")),
            (report.get("validation_uri"), report.get("validation_count"), report.get("validation_bytes")),
        )
        if uri
    ]
    if report.get("rejects_uri"):
        stats = OutputStatisticsOutputDatasetFacet(rowCount=report.get("rejected"))
        outputs.append(storage_output(report["rejects_uri"], outputStatistics=stats))
    return OperatorLineage(inputs=inputs, outputs=outputs)


def _validation_facets(report: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "dataQualityMetrics": DataQualityMetricsInputDatasetFacet(rowCount=report.get("total"), columnMetrics={}),
        "geminiTuningDatasetValidation": GeminiTuningDatasetValidationFacet(
            total=report.get("total"),
            valid=report.get("valid"),
            rejected=report.get("rejected"),
            duplicates=report.get("duplicates"),
            deduplicated=report.get("deduplicated"),
            conflictingOutputs=report.get("conflicting_outputs"),
            problemCount=report.get("problem_count"),
            trainCount=report.get("train_count"),
            validationCount=report.get("validation_count"),
            rejectsUri=report.get("rejects_uri"),
            backend=report.get("backend"),
        ),
    }


def upload_lineage(dataset: Mapping[str, Any], result: Mapping[str, Any] | None = None) -> OperatorLineage:
    """Upload: the staged files in; their copies out (none on the Gemini API, which reads them in place)."""
    backend = dataset.get("backend")
    staged = [uri for uri in (dataset.get("train_uri"), dataset.get("validation_uri")) if uri]
    inputs = [staged_input(uri, backend) for uri in staged]
    if result is None:
        return OperatorLineage(inputs=inputs)
    outputs = [
        staged_output(uri, backend, rows)
        for uri, rows in (
            (result.get("training_dataset_uri"), result.get("example_count")),
            (result.get("validation_dataset_uri"), result.get("validation_example_count")),
        )
        if uri and uri not in staged
    ]
    return OperatorLineage(inputs=inputs, outputs=outputs)


def tuning_lineage(
    training_uri: str | None,
    validation_uri: str | None,
    *,
    backend: str,
    base_model: str,
    summary: Mapping[str, Any] | None = None,
    job: Mapping[str, Any] | None = None,
) -> OperatorLineage:
    """Tune: the staged data and the base model in; the tuned model out; the job as a run facet.

    ``summary`` is the operator's result; ``job`` (name, state, hyperparameters ...) is what is known
    when the task fails before producing one.
    """
    info = summary or job or {}
    context = info.get("job_name") or info.get("name")
    inputs = [staged_input(uri, backend) for uri in (training_uri, validation_uri) if uri]
    inputs.append(model_input(info.get("base_model") or base_model, context))
    outputs = [model_output(summary["tuned_model"], context)] if summary and summary.get("tuned_model") else []
    run_facets = {"geminiTuningJob": _job_facet(info, backend, base_model)} if info else {}
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)


def _job_facet(info: Mapping[str, Any], backend: str, base_model: str) -> GeminiTuningJobRunFacet:
    hyperparameters = info.get("hyperparameters") or {}
    return GeminiTuningJobRunFacet(
        jobName=info.get("job_name") or info.get("name"),
        backend=info.get("backend") or backend,
        baseModel=info.get("base_model") or base_model,
        state=info.get("state"),
        hyperparameters={k: v for k, v in dict(hyperparameters).items() if v is not None},
        tunedModel=info.get("tuned_model"),
        endpoint=info.get("endpoint"),
        exampleCount=info.get("example_count"),
        recommendedEpochCount=info.get("recommended_epoch_count"),
        durationSeconds=info.get("duration_seconds"),
    )


def evaluation_lineage(
    model: str, dataset_uri: str | None, baseline_model: str | None, summary: Mapping[str, Any] | None = None
) -> OperatorLineage:
    """Evaluate: the tuned model (with the gates as assertions), the held-out data and the baseline in;
    the report and per-example results out; the scores as a run facet."""
    gates = (summary or {}).get("gates") or {}
    assertions = [
        Assertion(
            assertion=check["gate"],
            success=check["passed"],
            column=check.get("metric"),
            actual=None if check.get("value") is None else str(check["value"]),
            expected=None if check.get("threshold") is None else str(check["threshold"]),
            description=check.get("message"),
        )
        for check in gates.get("checks") or []
    ]
    facets = {"dataQualityAssertions": DataQualityAssertionsDatasetFacet(assertions=assertions)} if assertions else {}
    inputs = [model_input(model, **facets)]
    if dataset_uri and dataset_uri != "<inline>":
        inputs.append(storage_input(dataset_uri))
    if baseline_model:
        inputs.append(model_input(baseline_model, model))
    if summary is None:
        return OperatorLineage(inputs=inputs)
    outputs = [storage_output(uri) for uri in (summary.get("report_uri"), summary.get("results_uri")) if uri]
    facet = GeminiTuningEvaluationRunFacet(
        model=summary["model"],
        baselineModel=summary.get("baseline_model"),
        examples=summary["examples"],
        failed=summary["failed"],
        metrics={name: dict(values) for name, values in summary["metrics"].items()},
        gatesPassed=bool(gates.get("passed")),
        gateReasons=list(gates.get("reasons") or []),
    )
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets={"geminiTuningEvaluation": facet})
