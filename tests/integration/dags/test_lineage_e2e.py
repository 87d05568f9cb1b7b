"""``gemini_tuning_pipeline`` under ``dag.test()`` with the OpenLineage listener and its file transport.

The rest of the suite runs with OpenLineage disabled (tests/conftest.py); this module enables it for
itself: the listener's configuration is re-read and one listener is registered with the Task SDK's
listener manager, then removed.
"""

from __future__ import annotations

import json

import pytest

from tests.dagtest import run_dag, xcom
from tests.helpers import VERTEX_PIPELINE_CONF, conn_json

GEMINI = "gemini://generativelanguage"


@pytest.fixture
def openlineage_events(monkeypatch, tmp_path):
    """Enable OpenLineage with the file transport; yields a function returning the COMPLETE/FAIL events by task."""
    import airflow.providers.openlineage.plugins.openlineage  # noqa: F401  (its plugin reads the config as disabled)
    import airflow.sdk.listener as sdk_listener
    from airflow.providers.openlineage import conf as ol_conf
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener

    manager = sdk_listener.get_listener_manager()  # built (and plugins integrated) while disabled
    path = tmp_path / "openlineage.jsonl"
    transport = {"type": "file", "log_file_path": str(path), "append": True}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "False")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__NAMESPACE", "gemini-tuning-tests")
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")  # no fork of the test process
    _clear_config_cache(ol_conf)
    listener = OpenLineageListener()
    manager.add_listener(listener)

    def events() -> dict[tuple[str, str], dict]:
        found = {}
        for line in path.read_text().splitlines():
            event = json.loads(line)
            task = event["job"]["name"].rsplit(".", 1)[-1]
            found[(task, event["eventType"])] = event
        return found

    yield events
    manager.pm.unregister(listener)
    monkeypatch.undo()
    _clear_config_cache(ol_conf)


def _clear_config_cache(ol_conf) -> None:
    for value in vars(ol_conf).values():
        if hasattr(value, "cache_clear"):
            value.cache_clear()


@pytest.fixture
def pipeline(load_dag):
    return load_dag("gemini_tuning_pipeline.py", "gemini_tuning_pipeline")


def datasets(event, side):
    return [(d["namespace"], d["name"]) for d in event[side]]


def by_name(event, side, name):
    return next(d for d in event[side] if d["name"] == name)


def file_name(uri: str) -> str:
    return uri.removeprefix("file://")


def test_gemini_api_pipeline_lineage_chain_and_facets(pipeline, openlineage_events):
    dagrun = run_dag(pipeline)
    assert dagrun.state == "success", {t.task_id: t.state for t in dagrun.get_task_instances()}
    report, upload, tune, evaluation = (xcom(dagrun, t) for t in ("validate", "upload", "tune", "evaluate"))
    events = openlineage_events()
    validate, uploaded, tuned, evaluated = (events[(t, "COMPLETE")] for t in ("validate", "upload", "tune", "evaluate"))
    train, held_out = file_name(report["training_dataset_uri"]), file_name(report["validation_dataset_uri"])

    # raw source -> staged files, with what validation found
    assert datasets(events[("validate", "START")], "inputs") == [("file", file_name(report["source"]))]
    assert datasets(validate, "inputs") == [("file", file_name(report["source"]))]
    source = validate["inputs"][0]["inputFacets"]
    assert source["dataQualityMetrics"]["rowCount"] == report["total"]
    quality = source["geminiTuningDatasetValidation"]
    assert (quality["total"], quality["valid"], quality["rejected"]) == (
        report["total"],
        report["valid"],
        report["rejected"],
    )
    assert quality["duplicates"] == report["duplicates"] and quality["deduplicated"] == report["deduplicated"]
    assert datasets(validate, "outputs")[:2] == [("file", train), ("file", held_out)]
    staged = by_name(validate, "outputs", train)
    assert [f["name"] for f in staged["facets"]["schema"]["fields"]] == ["text_input", "output"]
    assert staged["outputFacets"]["outputStatistics"]["rowCount"] == report["train_count"]

    # upload on the Gemini API: read in place, nothing copied
    assert datasets(uploaded, "inputs") == [("file", train), ("file", held_out)]
    assert uploaded["outputs"] == [] and upload["training_dataset_uri"] == report["training_dataset_uri"]

    # staged training file + base model -> tuned model, with the job
    assert datasets(tuned, "inputs") == [("file", train), (GEMINI, "models/gemini-1.5-flash-001-tuning")]
    assert datasets(tuned, "outputs") == [(GEMINI, tune["tuned_model"])]
    job = tuned["run"]["facets"]["geminiTuningJob"]
    assert (job["jobName"], job["state"], job["backend"]) == (tune["job_name"], "JOB_STATE_SUCCEEDED", "gemini_api")
    assert (
        job["hyperparameters"]["epoch_count"] == 5 and job["recommendedEpochCount"] == tune["recommended_epoch_count"]
    )

    # tuned model + held-out file + baseline -> report, with scores and gates
    assert datasets(evaluated, "inputs") == [
        (GEMINI, tune["tuned_model"]),
        ("file", held_out),
        (GEMINI, "models/gemini-1.5-flash-001-tuning"),
    ]
    assert datasets(evaluated, "outputs") == [
        ("file", file_name(evaluation["report_uri"])),
        ("file", file_name(evaluation["results_uri"])),
    ]
    scores = evaluated["run"]["facets"]["geminiTuningEvaluation"]
    assert scores["gatesPassed"] is True and scores["examples"] == evaluation["examples"]
    assert (
        scores["metrics"]["normalized_exact_match"]["tuned"] == evaluation["metrics"]["normalized_exact_match"]["tuned"]
    )
    assertions = evaluated["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert {(a["assertion"], a.get("column")) for a in assertions} >= {("min_score", "normalized_exact_match")}
    assert all(a["success"] for a in assertions)


def test_vertex_ai_pipeline_names_gcs_copies_and_vertex_models(pipeline, openlineage_events, emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_VERTEX", conn_json("vertex_ai", emulator.url))
    dagrun = run_dag(
        pipeline,
        run_conf=VERTEX_PIPELINE_CONF,
    )
    assert dagrun.state == "success", {t.task_id: t.state for t in dagrun.get_task_instances()}
    upload, tune = xcom(dagrun, "upload"), xcom(dagrun, "tune")
    events = openlineage_events()
    gcs_train = upload["training_dataset_uri"].removeprefix("gs://tuning-bucket/")
    gcs_held_out = upload["validation_dataset_uri"].removeprefix("gs://tuning-bucket/")
    vertex = "vertexai://demo-project/us-central1"

    uploaded = events[("upload", "COMPLETE")]
    assert datasets(uploaded, "outputs") == [("gs://tuning-bucket", gcs_train), ("gs://tuning-bucket", gcs_held_out)]
    contents = by_name(uploaded, "outputs", gcs_train)["facets"]["schema"]["fields"][1]
    assert contents["name"] == "contents" and [f["name"] for f in contents["fields"]] == ["role", "parts"]

    tuned = events[("tune", "COMPLETE")]
    assert datasets(tuned, "inputs") == [
        ("gs://tuning-bucket", gcs_train),
        ("gs://tuning-bucket", gcs_held_out),
        (vertex, "publishers/google/models/gemini-2.0-flash-001"),
    ]
    assert datasets(tuned, "outputs") == [(vertex, tune["tuned_model"])]
    assert tune["tuned_model"].startswith("projects/demo-project/locations/us-central1/models/")
    assert datasets(events[("evaluate", "COMPLETE")], "inputs")[0] == (vertex, tune["tuned_model"])


def test_a_failed_gate_and_a_failed_job_report_why(pipeline, openlineage_events, emulator):
    dagrun = run_dag(pipeline, run_conf={"min_score": 1.01})
    assert dagrun.state == "failed"
    failed = openlineage_events()[("evaluate", "FAIL")]
    scores = failed["run"]["facets"]["geminiTuningEvaluation"]
    assert scores["gatesPassed"] is False and "normalized_exact_match" in scores["gateReasons"][0]
    assertions = failed["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert any(a["assertion"] == "min_score" and a["success"] is False for a in assertions)

    emulator.set_faults(fail_jobs=True, fail_message="trainer shard 3 died")
    run_dag(pipeline)
    job = openlineage_events()[("tune", "FAIL")]["run"]["facets"]["geminiTuningJob"]
    assert job["state"] == "JOB_STATE_FAILED" and job["jobName"].startswith("tunedModels/")
