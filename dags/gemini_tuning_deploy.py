"""Deploy what the pipeline promoted: smoke-test the new model, then make it the one being served.

``gemini_tuning_pipeline``'s ``promote`` step emits an event on the asset
``support_ticket_classifier`` whose ``extra`` names the model, its job, base model, prompt template
and evaluation scores. This DAG is scheduled on that asset: each promotion starts a run, which reads
the model from the triggering event, asks it a few tickets it has never seen, and only then
records it as served. Nothing here is specific to the emulator.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Asset, Param, Variable, task

from gemini_tuning.operators.evaluate import EvaluateTunedModelOperator

SERVING_VARIABLE = "support_ticket_classifier_serving"
# Tickets the tuned model has not seen; one per category. The template recorded with the model is applied.
SMOKE_TICKETS = [
    {"ticket": "hi team, my Vega watch does not turn on anymore. please help", "output": "hardware"},
    {"ticket": "the courier lost my Orbit tablet parcel. thanks", "output": "shipping"},
    {"ticket": "please refund the Pico speaker payment from last week.", "output": "billing"},
    {"ticket": "I cannot log in to my Lumen camera account.", "output": "account"},
]

with DAG(
    dag_id="gemini_tuning_deploy",
    description="Smoke-test and serve each model the tuning pipeline promotes",
    schedule=[Asset.ref(name="support_ticket_classifier")],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["gemini", "tuning", "example", "assets"],
    params={"gemini_conn_id": Param("gemini_tuning_default", type="string")},
):

    @task
    def promoted_model(triggering_asset_events=None) -> dict:
        """The model named by the event that triggered this run (model, job, base model, scores...)."""
        from gemini_tuning.assets import tuned_model_from_events

        model = tuned_model_from_events(triggering_asset_events)
        print(f"deploying {model['model']} (job {model['job_name']}, scores {model.get('scores')})")
        return model

    model = promoted_model()
    smoke_test = EvaluateTunedModelOperator(
        task_id="smoke_test",
        model=model,
        dataset=SMOKE_TICKETS,
        min_scores={"normalized_exact_match": 1.0},
        gemini_conn_id="{{ params.gemini_conn_id }}",
    )

    @task
    def serve(model: dict) -> str:
        """Point production at the model (here: a Variable your serving code reads)."""
        Variable.set(SERVING_VARIABLE, model["model"])
        return model["model"]

    smoke_test >> serve(model)
