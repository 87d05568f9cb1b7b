"""Vertex AI tuning data stats in the summary, and the limits that stop a job training on lost data."""

from __future__ import annotations

import re

import pytest

from gemini_tuning.exceptions import GateFailed, InvalidInputError
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.models import JobState
from gemini_tuning.operators.tuning import CreateTuningJobOperator
from tests.dagtest import ti_of, xcom
from tests.helpers import next_number_examples, stat
from tests.integration.operators.test_tuning_operators import FakeTI, run_dag
from tests.integration.vertex.helpers import vertex_op

LONG = (3, 17, 30)  # 1-based lines longer than the service's token limit: it drops them
TOKEN_LIMIT = 50


@pytest.fixture(autouse=True)
def small_token_limit(emulator, monkeypatch):
    """The service drops examples over its token limit: what local validation cannot know."""
    monkeypatch.setattr(emulator.settings, "example_token_limit", TOKEN_LIMIT)


def examples():
    rows = next_number_examples(40)
    for line in LONG:
        rows[line - 1]["text_input"] = "count on from this number " * 20 + str(line)
    return rows


def make_op(conn_id, emulator, task_id="tune", **kwargs):
    return vertex_op(conn_id, emulator, task_id, examples=examples(), epoch_count=2, **kwargs)


def test_summary_carries_the_normalized_stats(vertex_conn, emulator):
    summary = make_op(vertex_conn, emulator).execute({"ti": FakeTI()})
    stats = summary["data_stats"]
    assert stats["example_count"] == 40
    assert stats["truncated_example_count"] == 3 and stats["truncated_example_indices"] == list(LONG)
    assert stats["dropped_example_count"] == 3
    assert [d["index"] for d in stats["dropped_examples"]] == list(LONG)
    assert all(d["reason"] for d in stats["dropped_examples"])
    assert stats["tuning_step_count"] == 2 * 10  # ceil(37 kept / 4) per epoch
    assert stats["billable_token_count"] > 0
    assert stats["input_token_distribution"]["max"] >= stats["input_token_distribution"]["min"] > 0
    assert stats["output_token_distribution"]["sum"] > 0


@pytest.mark.parametrize(
    "limits, message",
    [
        ({"max_dropped_examples": 2}, "3 examples were dropped, more than max_dropped_examples=2"),
        ({"max_truncated_fraction": 0.05}, "3 of 40 examples (7.5%) were truncated"),
    ],
)
def test_blocking_limit_cancels_the_job_and_fails(vertex_conn, emulator, limits, message):
    emulator.set_faults(hold_capacity_seconds=2.0)  # the stats are known before tuning starts
    op = make_op(vertex_conn, emulator, **limits)
    with pytest.raises(GateFailed, match=re.escape(message)) as raised:
        op.execute({"ti": FakeTI()})
    assert "line 3:" in raised.value.message and "The job was cancelled." in raised.value.message
    hook = GeminiTuningHook(vertex_conn)
    assert hook.get_tuning_job(op._job_name).state in {JobState.CANCELLING, JobState.CANCELLED}


def test_deferred_limit_cancels_the_job_and_fails_the_task(vertex_conn, emulator, airflow_db):
    emulator.set_faults(hold_capacity_seconds=2.0)
    dagrun = run_dag(lambda: make_op(vertex_conn, emulator, max_dropped_examples=0, deferrable=True), "data_limit")
    assert ti_of(dagrun, "tune").state == "failed"
    name = xcom(dagrun, "tune", "tuning_job_name")
    assert GeminiTuningHook(vertex_conn).get_tuning_job(name).state in {JobState.CANCELLING, JobState.CANCELLED}


def test_within_the_limits_the_job_succeeds(vertex_conn, emulator):
    summary = make_op(vertex_conn, emulator, max_truncated_fraction=0.1, max_dropped_examples=3).execute(
        {"ti": FakeTI()}
    )
    assert summary["state"] == "JOB_STATE_SUCCEEDED"


@pytest.mark.parametrize(
    "limits, message",
    [
        ({"max_truncated_fraction": 1.5}, "`max_truncated_fraction` must be a number from 0 to 1"),
        ({"max_dropped_examples": -1}, "`max_dropped_examples` must be a whole number >= 0"),
    ],
)
def test_bad_limits_fail_before_any_request(vertex_conn, emulator, limits, message):
    with pytest.raises(InvalidInputError, match=message):
        make_op(vertex_conn, emulator, **limits).execute({"ti": FakeTI()})
    assert stat(emulator, "jobs_created") == 0


def test_gemini_api_has_no_stats_to_check(gemini_conn, emulator):
    op = CreateTuningJobOperator(
        task_id="t",
        base_model="models/gemini-1.5-flash-001-tuning",
        training_dataset=next_number_examples(20),
        max_dropped_examples=0,
        gemini_conn_id=gemini_conn,
    )
    with pytest.raises(InvalidInputError, match="Gemini API does not report"):
        op.execute({"ti": FakeTI()})
    assert stat(emulator, "jobs_created") == 0
