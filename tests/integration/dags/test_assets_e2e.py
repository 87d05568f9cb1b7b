"""Tuned models as Assets: the pipeline promotes a model, the deploy DAG is triggered by that event."""

from __future__ import annotations

from tests.dagtest import asset_events, run_dag, run_dag_on_asset_events, ti_of, xcom

PROMOTED = "support_ticket_classifier"
SERVING_VARIABLE = "support_ticket_classifier_serving"


def _variable(key):
    from airflow.models.variable import Variable

    return Variable.get(key, default_var=None)


def test_pipeline_promotes_then_deploy_dag_smoke_tests_and_serves_the_model(load_dag):
    from airflow.models.variable import Variable

    Variable.delete(SERVING_VARIABLE)
    producer = run_dag(load_dag("gemini_tuning_pipeline.py", "gemini_tuning_pipeline"))
    assert producer.state == "success", {t.task_id: t.state for t in producer.get_task_instances()}
    tune, evaluation = xcom(producer, "tune"), xcom(producer, "evaluate")
    [event] = [e for e in asset_events(PROMOTED) if e.source_run_id == producer.run_id]
    assert event.extra == {
        "model": tune["model"],
        "tuned_model": tune["tuned_model"],
        "job_name": tune["job_name"],
        "backend": "gemini_api",
        "base_model": tune["base_model"],
        "recommended_epoch_count": tune["recommended_epoch_count"],
        "prompt_template": tune["prompt_template"],
        "scores": evaluation["metrics"],
        "gates_passed": True,
    }

    consumer = run_dag_on_asset_events(load_dag("gemini_tuning_deploy.py", "gemini_tuning_deploy"), [event])
    assert consumer.state == "success", {t.task_id: t.state for t in consumer.get_task_instances()}
    assert xcom(consumer, "promoted_model")["model"] == tune["model"]
    smoke = xcom(consumer, "smoke_test")
    assert smoke["model"] == tune["model"] and smoke["examples"] == 4 and smoke["gates"]["passed"]
    assert _variable(SERVING_VARIABLE) == tune["model"]


def test_deploy_run_not_triggered_by_a_promotion_serves_nothing(load_dag):
    from airflow.models.variable import Variable

    Variable.delete(SERVING_VARIABLE)
    dagrun = run_dag(load_dag("gemini_tuning_deploy.py", "gemini_tuning_deploy"))
    assert ti_of(dagrun, "promoted_model").state == "failed"
    assert ti_of(dagrun, "serve").state == "upstream_failed"
    assert _variable(SERVING_VARIABLE) is None
