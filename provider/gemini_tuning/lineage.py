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
def validation_lineage(source: Any, report: Any = None) -> OperatorLineage:
    """Validate: the raw source in (with what validation found in it); the staged files and rejects out.

    ``report`` is the operator's :class:`ValidationReport` (also when validation refused the dataset).
    """
    from gemini_tuning.contracts.dataset import ValidationReport
    from gemini_tuning.datasets.sources import dataset_source

    if report is None:
        source = dataset_source(source)  # a path / URI, or inline rows (also from the SDK's shapes)
        return OperatorLineage(inputs=[storage_input(source)] if _is_location(source) else [])
    report = ValidationReport.parse(report, argument="report")
    inputs = [storage_input(report.source, **_validation_facets(report))] if _is_location(report.source) else []
    outputs = [
        staged_output(uri, report.backend, rows, size)
        for uri, rows, size in (
            (report.training_dataset_uri, report.train_count, report.train_bytes),
            (report.validation_dataset_uri, report.validation_count, report.validation_bytes),
        )
        if uri
    ]
    if report.rejects_uri:
        stats = OutputStatisticsOutputDatasetFacet(rowCount=report.rejected)
        outputs.append(storage_output(report.rejects_uri, outputStatistics=stats))
    return OperatorLineage(inputs=inputs, outputs=outputs)


def _is_location(source: Any) -> bool:
    """A file or object (URI, path, ``ObjectStoragePath``), not inline rows or their rendered text."""
    if hasattr(source, "protocol"):
        return True
    return isinstance(source, str) and not source.lstrip().startswith(("[", "{", "<"))


def _validation_facets(report: Any) -> dict[str, Any]:
    return {
        "dataQualityMetrics": DataQualityMetricsInputDatasetFacet(rowCount=report.total, columnMetrics={}),
        "geminiTuningDatasetValidation": GeminiTuningDatasetValidationFacet(
            total=report.total,
            valid=report.valid,
            rejected=report.rejected,
            duplicates=report.duplicates,
            deduplicated=report.deduplicated,
            conflictingOutputs=report.conflicting_outputs,
            problemCount=report.problem_count,
            trainCount=report.train_count,
            validationCount=report.validation_count,
            rejectsUri=report.rejects_uri,
            backend=report.backend,
        ),
    }


def upload_lineage(dataset: Any, result: Any = None) -> OperatorLineage:
    """Upload: the staged files in; their copies out (none on the Gemini API, which reads them in place)."""
    from gemini_tuning.contracts.dataset import StagedDataset, UploadResult

    staged = StagedDataset.parse(dataset, argument="dataset")
    uris = [uri for uri in (staged.training_dataset_uri, staged.validation_dataset_uri) if uri]
    inputs = [staged_input(uri, staged.backend) for uri in uris]
    if result is None:
        return OperatorLineage(inputs=inputs)
    result = UploadResult.parse(result, argument="result")
    outputs = [
        staged_output(uri, result.backend, rows)
        for uri, rows in (
            (result.training_dataset_uri, result.train_count),
            (result.validation_dataset_uri, result.validation_count),
        )
        if uri and uri not in uris
    ]
    return OperatorLineage(inputs=inputs, outputs=outputs)


def tuning_lineage(
    training_dataset: Any,
    *,
    validation_dataset: str | None = None,
    summary: Any = None,
    job: Any = None,
) -> OperatorLineage:
    """Tune: the staged data and the base model in; the tuned model out; the job as a run facet.

    ``training_dataset``/``validation_dataset`` are the operator's arguments (all that is known at
    start); ``summary`` is its :class:`TuningSummary`; ``job`` the :class:`TuningJob` last seen, for a
    task that failed without a summary. The base model is named once the job names its project.
    """
    from gemini_tuning.contracts.tuning import TuningSummary

    summary = TuningSummary.parse(summary, argument="summary") if summary is not None else None
    given = summary.model_dump() if summary is not None else training_dataset
    uris, backend = _training_uris(given, validation_dataset)
    inputs = [staged_input(uri, backend) if backend else storage_input(uri) for uri in uris if uri]
    ran = summary or job
    context = summary.job_name if summary else getattr(job, "name", None)
    if ran and ran.base_model:
        inputs.append(model_input(ran.base_model, context))
    outputs = [model_output(summary.tuned_model, context)] if summary and summary.tuned_model else []
    facet = _summary_facet(summary) if summary else _job_facet(job) if job else None
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets={"geminiTuningJob": facet} if facet else {})


def _training_uris(training_dataset: Any, validation_dataset: str | None) -> tuple[tuple, str | None]:
    """The files a tuning job trains on, from the operator's ``training_dataset`` (or its summary),
    and their backend when it says. The Gemini API trains on the training file only."""
    if isinstance(training_dataset, Mapping):
        from gemini_tuning.backends import capabilities_for

        backend = training_dataset.get("backend")
        validation = validation_dataset or training_dataset.get("validation_dataset_uri")
        if backend and not capabilities_for(backend).validation_dataset:
            validation = None
        return (training_dataset.get("training_dataset_uri"), validation), backend
    if _is_location(training_dataset):
        return (str(training_dataset), validation_dataset), None
    return (), None


def _summary_facet(summary: Any) -> GeminiTuningJobRunFacet:
    return GeminiTuningJobRunFacet(
        jobName=summary.job_name,
        backend=summary.backend,
        baseModel=summary.base_model,
        state=summary.state,
        hyperparameters=dict(summary.hyperparameters),
        tunedModel=summary.tuned_model,
        endpoint=summary.endpoint,
        exampleCount=summary.example_count,
        recommendedEpochCount=summary.recommended_epoch_count,
        durationSeconds=summary.duration_seconds,
    )


def _job_facet(job: Any) -> GeminiTuningJobRunFacet:
    return GeminiTuningJobRunFacet(
        jobName=job.name,
        backend=job.backend,
        baseModel=job.base_model,
        state=job.state.value,
        hyperparameters=job.hyperparameters.model_dump(exclude_none=True),
        exampleCount=job.example_count,
    )


def evaluation_lineage(model: Any, dataset: Any, baseline_model: str | None, summary: Any = None) -> OperatorLineage:
    """Evaluate: the tuned model (with the gates as assertions), the held-out data and the baseline in;
    the report and per-example results out; the scores as a run facet.

    ``model`` is the operator's argument: a model name or the tuning summary (its ``tuned_model`` is the
    dataset the tuning task output).
    """
    from gemini_tuning.contracts.evaluation import EvaluationSummary

    summary = EvaluationSummary.parse(summary, argument="summary") if summary is not None else None
    name = _tuned_model_name(model) or (summary.model if summary else None)
    assertions = [
        Assertion(
            assertion=check.gate,
            success=check.passed,
            column=check.metric,
            actual=None if check.value is None else str(check.value),
            expected=None if check.threshold is None else str(check.threshold),
            description=check.message,
        )
        for check in (summary.gates.checks if summary else [])
    ]
    quality = {"dataQualityAssertions": DataQualityAssertionsDatasetFacet(assertions=assertions)} if assertions else {}
    inputs = [model_input(name, **quality)] if name else []
    data_uri = summary.dataset if summary else _dataset_uri(dataset)
    if data_uri and _is_location(data_uri):
        inputs.append(storage_input(data_uri))
    if baseline_model:
        inputs.append(model_input(baseline_model, name))
    if summary is None:
        return OperatorLineage(inputs=inputs)
    outputs = [storage_output(uri) for uri in (summary.report_uri, summary.results_uri) if uri]
    facet = GeminiTuningEvaluationRunFacet(
        model=summary.model,
        baselineModel=summary.baseline_model,
        examples=summary.examples,
        failed=summary.failed,
        metrics={metric: values.model_dump() for metric, values in summary.metrics.items()},
        gatesPassed=summary.gates.passed,
        gateReasons=list(summary.gates.reasons),
    )
    return OperatorLineage(inputs=inputs, outputs=outputs, run_facets={"geminiTuningEvaluation": facet})


def _tuned_model_name(model: Any) -> str | None:
    """The tuned model a summary names (its resource, as the tuning task output it), or the name given."""
    if isinstance(model, Mapping):
        return model.get("tuned_model") or model.get("model")
    return str(model) if model else None


def _dataset_uri(dataset: Any) -> str | None:
    """The held-out file an evaluation's ``dataset`` argument names, without reading anything."""
    if isinstance(dataset, Mapping):
        return dataset.get("validation_dataset_uri")
    return str(dataset) if _is_location(dataset) else None
