"""Detailed progress on Vertex AI and the timeout clock that stops while a job waits for quota or capacity."""

from __future__ import annotations

import pytest

from gemini_tuning.exceptions import TuningJobTimeout
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from tests.dagtest import ti_of, xcom
from tests.helpers import next_number_examples, write_vertex_dataset
from tests.integration.operators.test_tuning_operators import FakeTI, run_dag
from tests.integration.vertex.helpers import vertex_op


def make_op(conn_id, emulator, task_id="tune", **kwargs):
    return vertex_op(conn_id, emulator, task_id, poll_interval=0.05, **kwargs)


def test_every_poll_logs_the_detailed_state_and_epochs(vertex_conn, emulator):
    emulator.set_faults(hold_quota_seconds=0.3, hold_capacity_seconds=0.3)
    hook = GeminiTuningHook(vertex_conn)
    job = hook.create_tuning_job(
        base_model="gemini-2.0-flash-001",
        training_dataset_uri=write_vertex_dataset(emulator.gcs_root, next_number_examples(40), "p.jsonl"),
        hyperparameters={"epoch_count": 3},
    )
    seen = []
    done = hook.wait_for_tuning_job(job.name, poll_interval=0.02, timeout=60, on_poll=seen.append)
    stages = [j.detailed_state for j in seen if j.detailed_state]
    assert "WAITING_FOR_QUOTA" in stages and "WAITING_FOR_CAPACITY" in stages
    assert stages.index("WAITING_FOR_QUOTA") < stages.index("WAITING_FOR_CAPACITY")
    queued = next(j for j in seen if j.detailed_state == "WAITING_FOR_QUOTA")
    assert queued.queued and "(waiting for quota)" in queued.progress()
    assert "epoch 0/3 done" in queued.progress()
    assert done.completed_epoch_count == 3 and done.detailed_state is None


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_timeout_does_not_run_while_waiting_for_quota(vertex_conn, emulator, airflow_db, deferrable):
    emulator.set_faults(hold_quota_seconds=2.0)
    dagrun = run_dag(lambda: make_op(vertex_conn, emulator, timeout=1.0, deferrable=deferrable), f"quota_{deferrable}")
    assert ti_of(dagrun, "tune").state == "success"
    summary = xcom(dagrun, "tune")
    assert summary["completed_epoch_count"] == 3


def test_without_the_pause_the_quota_wait_counts(vertex_conn, emulator):
    emulator.set_faults(hold_quota_seconds=3.0)
    op = make_op(vertex_conn, emulator, timeout=0.5, pause_timeout_while_queued=False)
    with pytest.raises(TuningJobTimeout, match="was cancelled"):
        op.execute({"ti": FakeTI()})
