"""Vertex AI training metrics: the TensorBoard chain read through google-genai's transport, and the summary."""

from __future__ import annotations

from gemini_tuning.contracts.tuning import TuningSummary
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.models import JobState
from tests.helpers import next_number_examples, write_vertex_dataset

BASE = "gemini-2.0-flash-001"


def tune(hook, emulator, job_id, *, validation=False, epochs=8, n=12):
    train = write_vertex_dataset(emulator.gcs_root, next_number_examples(n), f"{job_id}/train.jsonl")
    valid = write_vertex_dataset(emulator.gcs_root, next_number_examples(4, 500), f"{job_id}/valid.jsonl")
    job = hook.create_tuning_job(
        base_model=BASE,
        training_dataset_uri=train,
        validation_dataset_uri=valid if validation else None,
        hyperparameters={"epoch_count": epochs},
        job_id=job_id,
    )
    return hook.wait_for_tuning_job(job.name, poll_interval=0.02, timeout=60)


def test_summary_has_train_and_eval_curves_and_recommends_from_eval_loss(vertex_conn, emulator):
    hook = GeminiTuningHook(vertex_conn)
    job = tune(hook, emulator, "metrics-eval", validation=True)
    assert job.state is JobState.SUCCEEDED and job.experiment
    metrics = hook.get_training_metrics(job)
    assert metrics.missing is None and metrics.steps_per_epoch == 3  # ceil(12 / 4)
    summary = TuningSummary.from_job(job, metrics=metrics)
    assert [p.epoch for p in summary.loss_curve] == list(range(1, 9))
    assert len(summary.step_loss) == 24 and summary.step_loss[-1].epoch == 8
    assert [p.epoch for p in summary.eval_loss_curve] == list(range(1, 9))
    assert 0.5 < summary.token_accuracy <= 1.0 and summary.eval_token_accuracy is not None
    # the emulator's eval loss turns up after the epochs 12 examples support (6): never recommend past its minimum
    eval_losses = {p.epoch: p.mean_loss for p in summary.eval_loss_curve}
    best = min(eval_losses, key=eval_losses.get)
    assert summary.recommended_epoch_source == "eval_loss"
    assert summary.recommended_epoch_count <= best < 8
    assert summary.metrics_missing is None


def test_without_validation_set_recommends_from_training_loss(vertex_conn, emulator):
    hook = GeminiTuningHook(vertex_conn)
    job = tune(hook, emulator, "metrics-train", epochs=5, n=40)
    summary = TuningSummary.from_job(job, metrics=hook.get_training_metrics(job))
    assert summary.eval_loss_curve == [] and summary.eval_token_accuracy is None
    assert summary.recommended_epoch_source == "train_loss"
    assert 1 <= summary.recommended_epoch_count <= 5
    assert len(summary.loss_curve) == 5


def test_missing_metrics_leave_the_keys_empty_with_one_warning(vertex_conn, emulator, capsys):
    hook = GeminiTuningHook(vertex_conn)
    job = tune(hook, emulator, "metrics-missing", epochs=1)
    gone = job.model_copy(update={"experiment": job.experiment.replace("tuning-experiment-", "nowhere-")})
    capsys.readouterr()
    metrics = hook.get_training_metrics(gone)
    assert metrics.series == {} and "reading them failed" in metrics.missing
    assert capsys.readouterr().out.count("No training metrics") == 1
    summary = TuningSummary.from_job(gone, metrics=metrics).to_xcom()
    for key in ("loss_curve", "step_loss", "eval_loss_curve", "eval_step_loss"):
        assert summary[key] == []
    assert summary["recommended_epoch_count"] is None and summary["token_accuracy"] is None
    assert summary["metrics_missing"]


def test_gemini_api_summary_has_the_same_keys(gemini_conn, vertex_conn, emulator):
    gemini = GeminiTuningHook(gemini_conn)
    job = gemini.create_tuning_job(
        base_model="models/gemini-1.5-flash-001-tuning",
        training_examples=next_number_examples(40),
        hyperparameters={"epoch_count": 3},
    )
    job = gemini.wait_for_tuning_job(job.name, poll_interval=0.02, timeout=60)
    on_gemini = TuningSummary.from_job(job, metrics=gemini.get_training_metrics(job)).to_xcom()
    vertex = GeminiTuningHook(vertex_conn)
    vjob = tune(vertex, emulator, "metrics-keys", epochs=3, n=40)
    on_vertex = TuningSummary.from_job(vjob, metrics=vertex.get_training_metrics(vjob)).to_xcom()
    assert set(on_gemini) == set(on_vertex)
    assert [p["epoch"] for p in on_gemini["loss_curve"]] == [1, 2, 3]
    assert on_gemini["recommended_epoch_source"] == "train_loss"
