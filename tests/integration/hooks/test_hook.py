"""GeminiTuningHook against the emulator, driven by the real google-genai client, on both backends."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gemini_tuning.exceptions import GeminiTuningError, InvalidInputError, NotFoundError, ServiceError
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.models import JobState
from tests.helpers import API_KEY, next_number_examples, stat, write_vertex_dataset

BASE = {"gemini_api": "models/gemini-1.5-flash-001-tuning", "vertex_ai": "gemini-2.0-flash-001"}


def submit(hook, backend, emulator, examples=None, **fields):
    examples = examples or next_number_examples(40)
    if backend == "gemini_api":
        data = {"training_examples": examples}
    else:
        data = {
            "training_dataset_uri": write_vertex_dataset(
                emulator.gcs_root, examples, f"{fields.get('job_id', 'x')}.jsonl"
            )
        }
    fields.setdefault("hyperparameters", {"epoch_count": 3})
    return hook.create_tuning_job(base_model=BASE[backend], **data, **fields)


def wait(hook, name):
    return hook.wait_for_tuning_job(name, poll_interval=0.02, timeout=60)


def test_create_poll_succeeds_with_details(backend_conn, emulator):
    backend, conn_id = backend_conn
    hook = GeminiTuningHook(conn_id)
    job = submit(hook, backend, emulator, job_id="ok-job", display_name="next number")
    assert job.backend == backend and job.name == hook.find_tuning_job("ok-job").name
    seen = []
    done = hook.wait_for_tuning_job(job.name, poll_interval=0.02, timeout=60, on_poll=seen.append)
    assert done.state is JobState.SUCCEEDED
    assert done.hyperparameters.epoch_count == 3
    assert done.completed_percent == 100.0
    assert done.create_time and done.end_time
    assert done.console_url.startswith(emulator.url)
    if backend == "gemini_api":
        assert done.tuned_model == "tunedModels/ok-job"
        assert done.hyperparameters.batch_size == 4 and done.hyperparameters.learning_rate == pytest.approx(0.001)
        assert done.total_steps == 30  # ceil(40 / 4) * 3
        assert {s.epoch for s in done.snapshots} == {1, 2, 3}
        assert all(s.mean_loss is not None for s in done.snapshots)
    else:
        assert done.tuned_model.startswith("projects/demo-project/locations/us-central1/models/")
        assert done.endpoint.startswith("projects/demo-project/locations/us-central1/endpoints/")
        assert done.example_count == 40
        assert done.labels["airflow-job-id"] == "ok-job"
    assert done.to_xcom()["state"] == "JOB_STATE_SUCCEEDED"


def test_failed_job_carries_remote_message(backend_conn, emulator):
    backend, conn_id = backend_conn
    emulator.set_faults(fail_jobs=True, fail_message="Training diverged: loss is NaN")
    hook = GeminiTuningHook(conn_id)
    done = wait(hook, submit(hook, backend, emulator, job_id="bad-job").name)
    assert done.state is JobState.FAILED
    assert "Training diverged: loss is NaN" in done.error_message


def test_wrong_api_key_is_a_clear_error_without_the_key(emulator, monkeypatch):
    from tests.helpers import conn_json

    monkeypatch.setenv("AIRFLOW_CONN_WRONG_KEY", conn_json("gemini_api", emulator.url, api_key="not-the-right-key-123"))
    hook = GeminiTuningHook("wrong_key")
    with pytest.raises(GeminiTuningError) as info:
        hook.list_tuning_jobs()
    assert info.value.http_status == 400 and info.value.status == "INVALID_ARGUMENT"
    assert "API key not valid" in str(info.value)
    assert "not-the-right-key-123" not in str(info.value)
    ok, message = hook.test_connection()
    assert not ok and "API key not valid" in message


def test_test_connection_ok(backend_conn):
    _, conn_id = backend_conn
    ok, message = GeminiTuningHook(conn_id).test_connection()
    assert ok, message


def test_retries_ride_out_injected_429_and_503(backend_conn, emulator):
    backend, conn_id = backend_conn
    emulator.set_faults(rate_429=0.3, rate_503=0.2)
    hook = GeminiTuningHook(conn_id)
    done = wait(hook, submit(hook, backend, emulator, job_id="flaky-job").name)
    assert done.state is JobState.SUCCEEDED
    assert stat(emulator, "faults_injected") > 0


def test_retries_exhausted_give_a_clear_error(backend_conn, emulator):
    _, conn_id = backend_conn
    emulator.set_faults(rate_503=1.0)
    with pytest.raises(GeminiTuningError) as info:
        GeminiTuningHook(conn_id).list_tuning_jobs()
    assert info.value.http_status == 503 and info.value.status == "UNAVAILABLE"


def test_duplicate_tuned_model_id(gemini_conn, emulator):
    hook = GeminiTuningHook(gemini_conn)
    submit(hook, "gemini_api", emulator, job_id="dup-job")
    with pytest.raises(GeminiTuningError) as info:
        submit(hook, "gemini_api", emulator, job_id="dup-job")
    assert info.value.http_status == 409 and info.value.status == "ALREADY_EXISTS"


def test_find_tuning_job_reattaches_by_job_id(backend_conn, emulator):
    backend, conn_id = backend_conn
    hook = GeminiTuningHook(conn_id)
    assert hook.find_tuning_job("nobody-submitted-this") is None
    job = submit(hook, backend, emulator, job_id="find-me")
    assert hook.find_tuning_job("find-me").name == job.name


def test_cancel_running_job(backend_conn, emulator):
    backend, conn_id = backend_conn
    hook = GeminiTuningHook(conn_id)
    many = next_number_examples(400)
    job = submit(hook, backend, emulator, many, job_id="cancel-me", hyperparameters={"epoch_count": 50})
    cancelled = hook.cancel_tuning_job(job.name)
    if backend == "gemini_api":  # no cancel binding: the CREATING model is deleted
        assert cancelled.state is JobState.CANCELLED
        with pytest.raises(NotFoundError):
            hook.get_tuning_job(job.name)
    else:  # CANCELLING, then CANCELLED; the job stays
        assert wait(hook, job.name).state is JobState.CANCELLED
    assert stat(emulator, "cancels") == 1


def test_cancel_finished_job_leaves_it_alone(backend_conn, emulator):
    backend, conn_id = backend_conn
    hook = GeminiTuningHook(conn_id)
    done = wait(hook, submit(hook, backend, emulator, job_id="done-job").name)
    assert hook.cancel_tuning_job(done.name).state is JobState.SUCCEEDED


def test_delete_tuned_model_then_already_gone(gemini_conn, emulator):
    hook = GeminiTuningHook(gemini_conn)
    done = wait(hook, submit(hook, "gemini_api", emulator, job_id="delete-me").name)
    assert hook.delete_tuned_model(done.tuned_model) is True
    assert hook.delete_tuned_model(done.tuned_model) is False


def test_generate_tuned_vs_base(backend_conn, emulator):
    backend, conn_id = backend_conn
    hook = GeminiTuningHook(conn_id)
    examples = [{"text_input": f"ticket {i}: printer jam", "output": "hardware"} for i in range(20)] + [
        {"text_input": f"ticket {i}: password reset", "output": "account"} for i in range(20)
    ]
    done = wait(hook, submit(hook, backend, emulator, examples, job_id="gen-job").name)
    model = done.endpoint or done.tuned_model
    assert hook.generate(model, "ticket 3: password reset") == "account"
    assert hook.generate(BASE[backend].removeprefix("models/"), "ticket 3: password reset") != "account"


def test_list_with_labels_on_vertex(vertex_conn, emulator):
    hook = GeminiTuningHook(vertex_conn)
    submit(hook, "vertex_ai", emulator, job_id="a-job", labels={"team": "search"})
    submit(hook, "vertex_ai", emulator, job_id="b-job", labels={"team": "ads"})
    jobs = hook.list_tuning_jobs(labels={"team": "search"})
    assert [j.labels["team"] for j in jobs] == ["search"]
    assert len(hook.list_tuning_jobs()) == 2


def test_list_paginates_on_gemini_api(gemini_conn, emulator):
    hook = GeminiTuningHook(gemini_conn)
    for i in range(5):
        submit(hook, "gemini_api", emulator, job_id=f"page-{i}")
    assert len(hook.list_tuning_jobs(page_size=2)) == 5
    assert len(hook.list_tuning_jobs(page_size=2, limit=3)) == 3
    with pytest.raises(InvalidInputError, match="Label filters need job labels, which Gemini API does not have"):
        hook.list_tuning_jobs(labels={"a": "b"})


@pytest.mark.parametrize(
    ("backend", "hyperparameters", "message"),
    [
        ("gemini_api", {"adapter_size": 4}, "`adapter_size` is not supported by the gemini_api backend"),
        ("gemini_api", {"learning_rate": 0.1, "learning_rate_multiplier": 2}, "not both"),
        ("vertex_ai", {"batch_size": 8}, "`batch_size` is not supported by the vertex_ai backend"),
        ("vertex_ai", {"learning_rate": 0.01}, "`learning_rate` is not supported by the vertex_ai backend"),
        ("vertex_ai", {"adapter_size": 3}, "must be one of [1, 2, 4, 8, 16, 32]"),
        ("gemini_api", {"epoch_count": 0}, "`epoch_count` must be >= 1"),
    ],
)
def test_unsupported_hyperparameters_fail_before_any_request(backend, hyperparameters, message, emulator, monkeypatch):
    from tests.helpers import conn_json

    monkeypatch.setenv("AIRFLOW_CONN_CHECK", conn_json(backend, emulator.url))
    hook = GeminiTuningHook("check")
    before = stat(emulator, "requests")
    with pytest.raises(InvalidInputError) as info:
        submit(hook, backend, emulator, job_id="never", hyperparameters=hyperparameters)
    assert message in str(info.value)
    assert stat(emulator, "requests") == before


async def test_async_get_generate_cancel(backend_conn, emulator):
    backend, conn_id = backend_conn
    hook = GeminiTuningHook(conn_id)
    done = wait(hook, submit(hook, backend, emulator, job_id="async-job").name)
    again = await GeminiTuningHook(conn_id).aget_tuning_job(done.name)
    assert again.state is JobState.SUCCEEDED and again.name == done.name
    assert await GeminiTuningHook(conn_id).agenerate(done.endpoint or done.tuned_model, "7") == "8"
    running = submit(
        hook, backend, emulator, next_number_examples(400), job_id="async-cancel", hyperparameters={"epoch_count": 50}
    )
    await GeminiTuningHook(conn_id).acancel_tuning_job(running.name)
    if backend == "gemini_api":  # cancelling deleted the model
        with pytest.raises(NotFoundError):
            hook.get_tuning_job(running.name)
    else:
        assert wait(hook, running.name).state is JobState.CANCELLED
    assert stat(emulator, "cancels") == 1


def test_scopes_error_says_how_to_fix():
    exc = ServiceError("Request had insufficient authentication scopes.", http_status=403, status="PERMISSION_DENIED")
    assert "API key" in str(exc) and "oauth" in str(exc).lower()


def test_hook_module_does_not_import_genai():
    code = (
        "import sys; import gemini_tuning.hooks.gemini_tuning, gemini_tuning.operators.tuning, "
        "gemini_tuning.sensors.tuning, gemini_tuning.triggers.tuning, gemini_tuning.links; "
        "heavy = [m for m in sys.modules if m.startswith(('google.genai', 'matplotlib', 'pandas'))]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_api_key_is_masked_in_logs(gemini_conn):
    from airflow.sdk._shared.secrets_masker import redact

    hook = GeminiTuningHook(gemini_conn)
    assert hook.settings.api_key  # loading the connection registers its secrets with the masker
    assert API_KEY not in str(redact(f"calling with {API_KEY}"))


@pytest.mark.parametrize("by", ["endpoint", "tuned_model"])
def test_delete_vertex_tuned_model_undeploys_then_deletes(vertex_conn, emulator, by):
    hook = GeminiTuningHook(vertex_conn)
    done = wait(hook, submit(hook, "vertex_ai", emulator, job_id=f"vdel-{by.replace('_', '-')}").name)
    assert hook.generate(done.endpoint, "7") == "8"
    assert hook.delete_tuned_model(getattr(done, by)) is True
    # every checkpoint's endpoint is gone too: nothing keeps billing
    assert emulator.stats()["vertex_live"] == {"model_versions": 0, "endpoints": 0, "deployed_models": 0}
    assert hook.delete_tuned_model(done.endpoint) is False
    assert hook.delete_tuned_model(done.tuned_model) is False
    with pytest.raises(NotFoundError):
        hook.generate(done.endpoint, "7")


def test_connection_refused_names_the_url_it_tried(monkeypatch):
    import socket

    from gemini_tuning.exceptions import TransientServiceError
    from tests.helpers import conn_json

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("AIRFLOW_CONN_REFUSED", conn_json("gemini_api", url, retries=1))
    with pytest.raises(TransientServiceError) as info:
        GeminiTuningHook("refused").get_tuning_job("tunedModels/x")
    assert f"(while calling {url})" in str(info.value)
