"""``tuning_job_config=``: CreateTuningJobConfig fields this provider does not name, checked before any request."""

from __future__ import annotations

import pytest

from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.operators.tuning import CreateTuningJobOperator
from tests.helpers import next_number_examples, stat, write_vertex_dataset
from tests.integration.operators.test_tuning_operators import FakeTI


def _op(conn_id, training_dataset, **kwargs):
    return CreateTuningJobOperator(
        task_id="tune",
        base_model="gemini-2.0-flash-001",
        training_dataset=training_dataset,
        epoch_count=2,
        poll_interval=0.02,
        gemini_conn_id=conn_id,
        **kwargs,
    )


def test_a_field_the_provider_does_not_name_reaches_vertex_ai(vertex_conn, emulator, mocker):
    """The SDK request carries it (the emulator, like the service, accepts and ignores ``outputUri``)."""
    from google.genai import tunings

    tune = mocker.spy(tunings.Tunings, "tune")
    dataset = write_vertex_dataset(emulator.gcs_root, next_number_examples(30))
    summary = _op(vertex_conn, dataset, tuning_job_config={"output_uri": "gs://bucket/tuning-output"}).execute(
        {"ti": FakeTI()}
    )
    config = tune.call_args.kwargs["config"]
    assert config.output_uri == "gs://bucket/tuning-output"
    assert config.epoch_count == 2 and config.labels["airflow-job-id"]  # the named arguments still apply
    assert summary["state"] == "JOB_STATE_SUCCEEDED"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"export_last_checkpoint": True}, "export_last_checkpoint: Extra inputs are not permitted"),
        ({"epoch_count": 4}, "sets `epoch_count`; use the operator's `epoch_count` instead"),
        ({"export_last_checkpoint_only": True}, "use the operator's `export_last_checkpoint_only` instead"),
        ({"beta": "high"}, "is not a valid CreateTuningJobConfig: beta"),
    ],
)
def test_a_bad_config_fails_before_any_request(vertex_conn, emulator, config, message):
    dataset = write_vertex_dataset(emulator.gcs_root, next_number_examples(30))
    before = stat(emulator, "requests")
    with pytest.raises(InvalidInputError, match=message):
        _op(vertex_conn, dataset, tuning_job_config=config).execute({"ti": FakeTI()})
    assert stat(emulator, "requests") == before


def test_the_gemini_api_refuses_a_config_before_any_request(gemini_conn, emulator):
    op = CreateTuningJobOperator(
        task_id="tune",
        base_model="models/gemini-1.5-flash-001-tuning",
        training_dataset=next_number_examples(30),
        tuning_job_config={"output_uri": "gs://bucket/tuning-output"},
        gemini_conn_id=gemini_conn,
    )
    with pytest.raises(InvalidInputError, match="gemini_api backend takes only the operator's own arguments"):
        op.execute({"ti": FakeTI()})
    assert emulator.stats()["jobs_created"]["gemini_api"] == 0
