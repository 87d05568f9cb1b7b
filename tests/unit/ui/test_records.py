"""Reading the XCom shapes (the one module that knows them) and drawing the charts."""

from __future__ import annotations

import json

from gemini_tuning.models import JobState, Snapshot, TuningJob
from gemini_tuning.ui import charts, models, records
from gemini_tuning.ui.app import safe_url
from gemini_tuning.ui.models import LossPoint, TaskRef

TASK = TaskRef(dag_id="d", run_id="r", task_id="t")


def test_operator_names_are_the_classes_airflow_records():
    from gemini_tuning.operators.dataset import UploadTuningDatasetOperator, ValidateTuningDatasetOperator
    from gemini_tuning.operators.evaluate import EvaluateTunedModelOperator
    from gemini_tuning.operators.tuning import CreateTuningJobOperator
    from gemini_tuning.sensors.tuning import TuningJobSensor

    classes = (CreateTuningJobOperator, TuningJobSensor, EvaluateTunedModelOperator)
    classes += (ValidateTuningDatasetOperator, UploadTuningDatasetOperator)
    assert tuple(cls.__name__ for cls in classes) == records.PROVIDER_OPERATORS


def test_a_summary_stored_as_json_text_becomes_a_finished_job():
    value = json.dumps(
        {
            "job_name": "tunedModels/x",
            "backend": "gemini_api",
            "state": "JOB_STATE_SUCCEEDED",
            "tuned_model": "tunedModels/x",
            "model": "tunedModels/x",
            "hyperparameters": {"epoch_count": 2},
            "loss_curve": [{"epoch": 1, "mean_loss": 0.9}, {"epoch": 2, "mean_loss": 0.4}],
            "recommended_epoch_count": 2,
        }
    )
    job = records.job_from(TASK, name=json.dumps("tunedModels/x"), url='"https://x"', returned=value)
    assert (job.source, job.terminal, job.needs_service, job.progress) == ("summary", True, False, 100.0)
    assert (job.epoch, job.epoch_count, job.job_url) == (2, 2, "https://x")
    assert [p.mean_loss for p in job.loss_curve] == [0.9, 0.4]


def test_a_job_with_only_its_name_is_asked_about_and_a_sensor_result_is_read_as_the_job():
    pending = records.job_from(TASK, name="tunedModels/y")
    assert (pending.state, pending.needs_service, pending.progress) == (None, True, None)
    remote = TuningJob(
        name="tunedModels/y",
        backend="gemini_api",
        state=JobState.SUCCEEDED,
        snapshots=[Snapshot(step=s, epoch=1 + s // 3, mean_loss=1 / (s + 1)) for s in range(6)],
    )
    sensed = records.job_from(TASK, returned=remote.to_xcom(), sensor_job_name="tunedModels/y")
    assert (sensed.state, sensed.source, len(sensed.step_losses), len(sensed.loss_curve)) == (
        "JOB_STATE_SUCCEEDED",
        "summary",
        6,
        2,
    )


def test_the_headline_metric_is_the_first_gated_one_else_the_first():
    value = {"model": "m", "metrics": {"exact_match": {"tuned": 1}, "chrf": {"tuned": 0.5}}, "gates": {}}
    assert records.evaluation_from(TASK, value).headline == "exact_match"
    value["gates"] = {"passed": True, "reasons": [], "min_scores": {"chrf": 0.4}}
    assert records.evaluation_from(TASK, value).headline == "chrf"
    assert records.evaluation_from(TASK, "not a summary") is None
    assert records.evaluation_from(TASK, {"metrics": "wrong"}) is None


def test_an_evaluation_belongs_to_the_job_whose_model_it_scored():
    jobs = [models.Job(task=TASK, job_name=n, model=n, tuned_model=n) for n in ("a", "b")]
    scored_b = models.Evaluation(task=TASK, model="b")
    assert records.evaluation_for(jobs[1], [models.Evaluation(task=TASK, model="a"), scored_b]) == scored_b
    assert records.job_for(scored_b, jobs) == jobs[1]
    assert records.evaluation_for(jobs[0], [scored_b]) == scored_b  # the run's only evaluation
    assert records.evaluation_for(jobs[0], [scored_b, scored_b.model_copy(update={"model": "c"})]) is None


def test_only_http_links_are_linked():
    assert safe_url("https://console.cloud.google.com/x") == "https://console.cloud.google.com/x"
    for value in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "//evil", None, 3):
        assert safe_url(value) is None


def test_nice_ticks_cover_the_range_with_round_steps():
    assert charts.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert charts.nice_ticks(0.05, 1.23) == [0, 0.25, 0.5, 0.75, 1.0, 1.25]
    assert charts.nice_ticks(3, 3) == [3, 3.2, 3.4, 3.6, 3.8, 4.0]


def test_loss_chart_per_step_with_epoch_boundaries_and_the_recommended_epoch():
    steps = [LossPoint(step=s, epoch=1 + (s - 1) // 4, mean_loss=1 / s) for s in range(1, 13)]
    curve = [LossPoint(epoch=e, mean_loss=0.5 / e) for e in (1, 2, 3)]
    chart = charts.loss_chart(curve, steps, recommended=2)
    assert chart.marker_count == 3  # one marker per epoch; the steps are a line
    assert [label for _, label, _ in chart.vlines] == ["epoch 1", "epoch 2", "epoch 3", "recommended: 2 epochs"]
    assert chart.vlines[1][0] == chart.series[1].points[1].x  # epoch 2's mean sits at its last step
    ys = [p.y for p in chart.series[1].points]
    assert ys == sorted(ys)  # falling loss is drawn going down (larger y)
    assert all(chart.left <= p.x <= chart.right_edge for s in chart.series for p in s.points)


def test_loss_chart_per_epoch_when_the_service_reports_no_steps():
    chart = charts.loss_chart([LossPoint(epoch=e, mean_loss=1 / e) for e in (1, 2, 3, 4)], [], recommended=3)
    assert (chart.marker_count, chart.x_title) == (4, "epoch")
    assert [label for _, label in chart.x_ticks] == ["1", "2", "3", "4"]
    assert [label for _, label, _ in chart.vlines] == ["recommended: 3 epochs"]
    assert charts.loss_chart([], [], None).marker_count == 0


def test_a_result_this_provider_cannot_read_is_a_note_not_an_error():
    newer = {"job_name": "tunedModels/z", "backend": "gemini_api", "state": "JOB_STATE_SUCCEEDED", "schema_version": 99}
    job = records.job_from(TASK, name="tunedModels/z", returned=newer)
    assert (job.source, job.state, job.needs_service) == ("task", None, True)
    assert job.note.startswith(
        "The task's result could not be read: `return_value` is a tuning summary of schema_version 99"
    )


def test_dataset_counts_come_from_the_validation_report_contract():
    from tests.ui_helpers import validation_report

    stats = records.dataset_from(TASK, json.dumps(validation_report(rejected=7)))
    assert (stats.total, stats.rejected, stats.train_count, stats.validation_count) == (240, 7, 190, 46)
    assert stats.training_dataset_uri == "file:///staging/abc/train.jsonl"
    assert records.dataset_from(TASK, {"train_count": 3, "train_uri": "file:///x"}) is None  # not a report
    assert records.dataset_from(TASK, "file:///raw/tickets.jsonl") is None
