"""CreateTuningJobOperator, TuningJobSensor, TuningJobTrigger and cancel/delete, against the emulator."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime

import pytest

from gemini_tuning.contracts.tuning import TuningSummary
from gemini_tuning.exceptions import InvalidInputError, TuningJobFailed, TuningJobTimeout
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.models import JobState
from gemini_tuning.operators.tuning import (
    CancelTuningJobOperator,
    CreateTuningJobOperator,
    DeleteTunedModelOperator,
    job_id_for,
)
from gemini_tuning.sensors.tuning import TuningJobSensor
from gemini_tuning.triggers.tuning import TuningJobTrigger
from tests import dagtest
from tests.dagtest import ti_of, xcom
from tests.helpers import API_KEY, next_number_examples, stat, write_vertex_dataset

BASE = {"gemini_api": "models/gemini-1.5-flash-001-tuning", "vertex_ai": "gemini-2.0-flash-001"}


class FakeTI:
    """The slice of a TaskInstance the operators use, for calling ``execute`` directly.

    ``server_state`` is what the API server reports for it (``get_task_states``), e.g. ``running``.
    """

    def __init__(self, dag_id="dag", task_id="tune", run_id="manual__1", map_index=-1, server_state="running"):
        self.dag_id, self.task_id, self.run_id, self.map_index = dag_id, task_id, run_id, map_index
        self.try_number, self.max_tries = 1, 0
        self.server_state = server_state
        self.xcom: dict[str, object] = {}

    def xcom_push(self, key, value):
        self.xcom[key] = value

    def get_task_states(self, dag_id, task_ids, run_ids, map_index):
        assert (dag_id, task_ids, run_ids, map_index) == (self.dag_id, [self.task_id], [self.run_id], self.map_index)
        return {self.run_id: {self.task_id: self.server_state}}


#: Where a cancelled job ends up: the Gemini API deletes the model, Vertex AI keeps a CANCELLED job.
CANCELLED = {"gemini_api": "gone", "vertex_ai": JobState.CANCELLED}


def dataset_for(backend, emulator, examples=None, key="train.jsonl"):
    examples = examples or next_number_examples(40)
    return examples if backend == "gemini_api" else write_vertex_dataset(emulator.gcs_root, examples, key)


def make_op(backend, conn_id, emulator, examples=None, **kwargs):
    kwargs.setdefault("task_id", "tune")
    kwargs.setdefault("epoch_count", 3)
    kwargs.setdefault("poll_interval", 0.02)
    kwargs.setdefault("base_model", BASE[backend])
    return CreateTuningJobOperator(
        training_dataset=dataset_for(backend, emulator, examples, f"{kwargs['task_id']}.jsonl"),
        gemini_conn_id=conn_id,
        **kwargs,
    )


def run_dag(op_factory, dag_id):
    from airflow.sdk import DAG

    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False) as dag:
        op_factory()
    return dagtest.run_dag(dag)


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_tune_succeeds_inside_dag_test(backend_conn, emulator, airflow_db, deferrable):
    backend, conn_id = backend_conn
    dagrun = run_dag(lambda: make_op(backend, conn_id, emulator, deferrable=deferrable), f"tune_{backend}_{deferrable}")
    assert ti_of(dagrun, "tune").state == "success"
    summary = xcom(dagrun, "tune")
    assert summary["state"] == "JOB_STATE_SUCCEEDED"
    assert summary["model"] and summary["hyperparameters"]["epoch_count"] == 3
    assert summary["example_count"] == 40, summary
    assert xcom(dagrun, "tune", "tuning_job_name") == summary["job_name"]
    assert xcom(dagrun, "tune", "tuning_job_url").startswith(emulator.url), xcom(dagrun, "tune", "tuning_job_url")
    # the Gemini API's loss snapshots, Vertex AI's TensorBoard time series: the same keys either way
    assert [p["epoch"] for p in summary["loss_curve"]] == [1, 2, 3]
    assert 1 <= summary["recommended_epoch_count"] <= 3
    assert summary["recommended_epoch_source"] == "train_loss" and summary["metrics_missing"] is None
    assert emulator.stats()["jobs_created"][backend] == 1


def test_failed_job_fails_the_task_with_the_remote_message(backend_conn, emulator):
    backend, conn_id = backend_conn
    emulator.set_faults(fail_jobs=True, fail_message="Quota exceeded for tuning in this region")
    op = make_op(backend, conn_id, emulator)
    with pytest.raises(TuningJobFailed, match="Quota exceeded for tuning in this region"):
        op.execute({"ti": FakeTI()})


def test_retry_reattaches_instead_of_resubmitting(backend_conn, emulator):
    backend, conn_id = backend_conn
    first = make_op(backend, conn_id, emulator, wait_for_completion=False)
    ti = FakeTI()
    submitted = first.execute({"ti": ti})
    retry = make_op(backend, conn_id, emulator)
    summary = retry.execute({"ti": FakeTI()})  # same dag/task/run/map_index -> same job identity
    assert summary["job_name"] == submitted["name"] == ti.xcom["tuning_job_name"]
    assert emulator.stats()["jobs_created"][backend] == 1


def test_failed_earlier_job_is_resubmitted_only_when_asked(backend_conn, emulator):
    backend, conn_id = backend_conn
    emulator.set_faults(fail_jobs=True, fail_message="bad luck")
    with pytest.raises(TuningJobFailed):
        make_op(backend, conn_id, emulator).execute({"ti": FakeTI()})
    emulator.set_faults(fail_jobs=False)
    with pytest.raises(TuningJobFailed, match="resubmit_failed=True"):
        make_op(backend, conn_id, emulator).execute({"ti": FakeTI()})
    summary = make_op(backend, conn_id, emulator, resubmit_failed=True).execute({"ti": FakeTI()})
    assert summary["state"] == "JOB_STATE_SUCCEEDED"
    assert emulator.stats()["jobs_created"][backend] == 2


def test_job_id_is_deterministic_and_valid():
    a = job_id_for("weekly_retune", "tune_model", "scheduled__2026-01-01", -1)
    assert a == job_id_for("weekly_retune", "tune_model", "scheduled__2026-01-01", -1)
    assert a != job_id_for("weekly_retune", "tune_model", "scheduled__2026-01-08", -1)
    assert a != job_id_for("weekly_retune", "tune_model", "scheduled__2026-01-01", 3)
    import re

    for job_id in (a, job_id_for("d", "123", "r"), job_id_for("d", "Tune Model!!" * 10, "r")):
        assert re.fullmatch(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?", job_id), job_id


def test_users_kill_cancels_the_remote_job(backend_conn, emulator):
    """Marked failed on the server, then SIGTERM: the task runner calls on_kill, which cancels."""
    backend, conn_id = backend_conn
    op = make_op(backend, conn_id, emulator, next_number_examples(400), epoch_count=50)
    ti = FakeTI(server_state="failed")
    errors = []
    thread = threading.Thread(target=lambda: _capture(errors, op.execute, {"ti": ti}))
    thread.start()
    for _ in range(500):
        if "tuning_job_name" in ti.xcom:
            break
        time.sleep(0.01)
    op.on_kill()
    thread.join(30)
    assert errors and isinstance(errors[0], TuningJobFailed)
    expected = {"gemini_api": "cancelled or deleted while running", "vertex_ai": "ended JOB_STATE_CANCELLED"}
    assert expected[backend] in str(errors[0])
    assert stat(emulator, "cancels") == 1
    assert _settled_state(conn_id, ti.xcom["tuning_job_name"]) == CANCELLED[backend]


def test_worker_shutdown_leaves_the_job_for_the_retry(backend_conn, emulator):
    """SIGTERM while the server still says ``running`` (worker or pod going away): no cancel."""
    backend, conn_id = backend_conn
    op = make_op(backend, conn_id, emulator, next_number_examples(400), epoch_count=50)
    ti = FakeTI(server_state="running")
    op._ti, op._job_name = ti, _submit(backend, conn_id, emulator).name
    op.on_kill()
    assert stat(emulator, "cancels") == 0
    assert not GeminiTuningHook(conn_id).get_tuning_job(op._job_name).done


def test_cancel_on_kill_false_never_cancels(backend_conn, emulator):
    backend, conn_id = backend_conn
    op = make_op(backend, conn_id, emulator, cancel_on_kill=False)
    op._ti, op._job_name = FakeTI(server_state="failed"), _submit(backend, conn_id, emulator).name
    op.on_kill()
    assert stat(emulator, "cancels") == 0


def test_execution_timeout_cancels_the_job_it_owns(backend_conn, emulator):
    """The task runner raises AirflowTaskTimeout inside execute (the server still says running)."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    backend, conn_id = backend_conn
    op = make_op(backend, conn_id, emulator, next_number_examples(400), epoch_count=50)
    ti = FakeTI(server_state="running")

    def time_out(job):
        raise AirflowTaskTimeout()

    op.hook.wait_for_tuning_job = lambda name, **kw: time_out(name)
    with pytest.raises(AirflowTaskTimeout):
        op.execute({"ti": ti})
    op.on_kill()  # what the task runner does next: must not cancel twice
    assert stat(emulator, "cancels") == 1
    assert _settled_state(conn_id, ti.xcom["tuning_job_name"]) == CANCELLED[backend]


def _capture(errors, fn, *args):
    try:
        fn(*args)
    except Exception as exc:
        errors.append(exc)


def test_blocking_deadline_cancels_then_fails(backend_conn, emulator):
    backend, conn_id = backend_conn
    op = make_op(backend, conn_id, emulator, next_number_examples(400), epoch_count=50, timeout=0.3)
    ti = FakeTI()
    with pytest.raises(TuningJobTimeout, match="was cancelled"):
        op.execute({"ti": ti})
    assert _settled_state(conn_id, ti.xcom["tuning_job_name"]) == CANCELLED[backend]


def _settled_state(conn_id, name):
    """The job's state once it stops moving (Vertex AI passes through CANCELLING); "gone" if deleted."""
    from gemini_tuning.exceptions import NotFoundError

    try:
        return GeminiTuningHook(conn_id).wait_for_tuning_job(name, poll_interval=0.01, timeout=30).state
    except (NotFoundError, TuningJobFailed):
        return "gone"


def _submit(backend, conn_id, emulator, n=400, epochs=50, job_id="trigger-job"):
    hook = GeminiTuningHook(conn_id)
    data = (
        {"training_examples": next_number_examples(n)}
        if backend == "gemini_api"
        else {
            "training_dataset_uri": write_vertex_dataset(emulator.gcs_root, next_number_examples(n), f"{job_id}.jsonl")
        }
    )
    return hook.create_tuning_job(
        base_model=BASE[backend], job_id=job_id, hyperparameters={"epoch_count": epochs}, **data
    )


async def _first_event(trigger):
    async for event in trigger.run():
        return event.payload


def test_trigger_deadline_cancels_the_job(backend_conn, emulator):
    backend, conn_id = backend_conn
    job = _submit(backend, conn_id, emulator)
    trigger = TuningJobTrigger(job.name, conn_id, poll_interval=0.05, deadline=time.time() + 0.2)
    trigger.cancel_on_timeout = True
    event = asyncio.run(_first_event(trigger))
    assert event["status"] == "timeout" and event["cancelled"] is True
    assert _settled_state(conn_id, job.name) == CANCELLED[backend]


def test_trigger_on_kill_cancels_the_job_it_owns(backend_conn, emulator):
    backend, conn_id = backend_conn
    job = _submit(backend, conn_id, emulator)
    asyncio.run(TuningJobTrigger(job.name, conn_id, cancel_on_kill=True).on_kill())
    assert _settled_state(conn_id, job.name) == CANCELLED[backend]


def test_trigger_rides_out_5xx_during_the_wait(backend_conn, emulator):
    backend, conn_id = backend_conn
    job = _submit(backend, conn_id, emulator, n=40, epochs=3)

    async def scenario():
        emulator.set_faults(rate_503=1.0)
        task = asyncio.ensure_future(
            _first_event(TuningJobTrigger(job.name, conn_id, poll_interval=0.05, max_poll_failures=6))
        )
        await asyncio.sleep(0.4)
        assert not task.done()  # still waiting, not failed
        await asyncio.to_thread(emulator.set_faults, rate_503=0.0)
        return await asyncio.wait_for(task, 30)

    event = asyncio.run(scenario())
    assert event["status"] == "success", event
    assert stat(emulator, "faults_injected") > 0


def test_trigger_serializes_without_secrets(backend_conn):
    from airflow.serialization.serialized_objects import BaseSerialization

    _, conn_id = backend_conn
    trigger = TuningJobTrigger("tunedModels/x", conn_id, poll_interval=5, deadline=123.0)
    classpath, kwargs = trigger.serialize()
    assert classpath == "gemini_tuning.triggers.tuning.TuningJobTrigger"
    encoded = BaseSerialization.serialize(kwargs)
    assert API_KEY not in json.dumps(encoded) and "emulator-token" not in json.dumps(encoded)
    rebuilt = TuningJobTrigger(**BaseSerialization.deserialize(encoded))
    assert rebuilt.serialize() == (classpath, kwargs)
    # what the triggerer actually stores: the Trigger row's encrypted kwargs
    from airflow.models.trigger import Trigger

    row = Trigger.from_object(trigger)
    assert row.classpath == classpath and row.kwargs == kwargs
    assert (
        API_KEY not in row.encrypted_kwargs and API_KEY not in Trigger._decrypt_kwargs(row.encrypted_kwargs).__repr__()
    )


def test_unsupported_hyperparameter_fails_before_any_request(backend_conn, emulator):
    backend, conn_id = backend_conn
    bad = {"gemini_api": {"adapter_size": 4}, "vertex_ai": {"batch_size": 16}}[backend]
    before = stat(emulator, "requests")
    with pytest.raises(InvalidInputError, match="not supported by the"):
        make_op(backend, conn_id, emulator, **bad).execute({"ti": FakeTI()})
    assert stat(emulator, "requests") == before


def test_inline_list_on_vertex_is_a_clear_error(vertex_conn, emulator):
    op = CreateTuningJobOperator(
        task_id="t",
        base_model="gemini-2.0-flash-001",
        training_dataset=next_number_examples(20),
        gemini_conn_id=vertex_conn,
    )
    with pytest.raises(InvalidInputError, match="gs:// URI"):
        op.execute({"ti": FakeTI()})


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_sensor_modes(backend_conn, emulator, airflow_db, mode):
    backend, conn_id = backend_conn
    job = _submit(backend, conn_id, emulator, n=40, epochs=2, job_id=f"sensor-{mode}")
    kwargs = {"deferrable": True} if mode == "deferrable" else {"mode": mode}
    dagrun = run_dag(
        lambda: TuningJobSensor(
            task_id="wait", job_name=job.name, gemini_conn_id=conn_id, poke_interval=0.05, timeout=60, **kwargs
        ),
        f"sensor_{backend}_{mode}",
    )
    assert ti_of(dagrun, "wait").state == "success"
    summary = TuningSummary.parse(xcom(dagrun, "wait"))  # the create operator's shape
    assert summary.state == "JOB_STATE_SUCCEEDED" and summary.job_name == job.name and summary.model


def test_sensor_fails_with_remote_message(backend_conn, emulator):
    backend, conn_id = backend_conn
    emulator.set_faults(fail_jobs=True, fail_message="dataset has too few examples")
    job = _submit(backend, conn_id, emulator, n=40, epochs=1, job_id="sensor-fail")
    sensor = TuningJobSensor(task_id="wait", job_name=job.name, gemini_conn_id=conn_id, poke_interval=0.02, timeout=30)
    GeminiTuningHook(conn_id).wait_for_tuning_job(job.name, poll_interval=0.02, timeout=30)
    with pytest.raises(TuningJobFailed, match="too few examples"):
        sensor.poke({})


def test_cancel_and_delete_operators(gemini_conn, emulator):
    job = _submit("gemini_api", gemini_conn, emulator, job_id="to-cancel")
    result = CancelTuningJobOperator(task_id="c", job_name=job.name, gemini_conn_id=gemini_conn).execute({})
    assert result["state"] == "JOB_STATE_CANCELLED"
    done = _submit("gemini_api", gemini_conn, emulator, n=40, epochs=1, job_id="to-delete")
    GeminiTuningHook(gemini_conn).wait_for_tuning_job(done.name, poll_interval=0.02, timeout=30)
    delete = DeleteTunedModelOperator(task_id="d", model_name=done.name, gemini_conn_id=gemini_conn)
    assert delete.execute({}) is True
    assert delete.execute({}) is False  # already gone is success
    assert DeleteTunedModelOperator(task_id="n", model_name=None).execute({}) is False


def test_loss_curve_png_goes_to_the_staging_location_not_the_source_folder(
    gemini_conn, emulator, tmp_path, monkeypatch
):
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", f"file://{tmp_path}/staging")
    source = tmp_path / "shared" / "train.jsonl"  # a raw file in the user's (maybe read-only) folder
    source.parent.mkdir()
    source.write_text("".join(json.dumps(e) + "\n" for e in next_number_examples(40)))
    op = CreateTuningJobOperator(
        task_id="tune",
        base_model=BASE["gemini_api"],
        training_dataset=str(source),
        prompt_template="n: {text_input}",
        epoch_count=4,
        poll_interval=0.02,
        gemini_conn_id=gemini_conn,
    )
    summary = op.execute({"ti": FakeTI()})
    assert summary["prompt_template"] == "n: {text_input}"
    assert sorted(p.name for p in source.parent.iterdir()) == ["train.jsonl"]
    png = next((tmp_path / "staging").rglob("loss_curve-*.png"))
    assert png.read_bytes().startswith(b"\x89PNG") and summary["loss_curve_uri"] == png.as_uri()


def test_extra_link_is_served_from_the_pushed_url():
    """The UI resolves the link from the XCom the operator pushes before waiting."""
    from airflow.sdk import DAG
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG("links", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        CreateTuningJobOperator(task_id="t", base_model="m", training_dataset="gs://b/x.jsonl")
    (task,) = DagSerialization.to_dict(dag)["dag"]["tasks"]
    assert task["__var"]["_operator_extra_links"] == {"Tuning Job": "tuning_job_url"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"epoch_count": 2.5}, "`epoch_count` must be a whole number, got 2.5."),
        ({"batch_size": 64}, "`batch_size` is 64 but the training set has only 40 examples"),
        ({"base_model": "publishers/google/models/gemini-2.0-flash-001"}, "names are Vertex AI's"),
    ],
)
def test_user_mistakes_are_one_line_before_any_request(gemini_conn, emulator, arguments, message):
    before = stat(emulator, "requests")
    with pytest.raises(InvalidInputError) as info:
        make_op("gemini_api", gemini_conn, emulator, **arguments).execute({"ti": FakeTI()})
    assert message in str(info.value) and "\n" not in str(info.value)
    assert stat(emulator, "requests") == before


def test_sdk_adapter_size_enum_is_accepted(vertex_conn, emulator):
    summary = make_op("vertex_ai", vertex_conn, emulator, adapter_size="ADAPTER_SIZE_FOUR").execute({"ti": FakeTI()})
    assert summary["hyperparameters"]["adapter_size"] == 4
