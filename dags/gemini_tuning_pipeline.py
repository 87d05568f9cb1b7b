"""Tune Gemini to classify support tickets: extract -> validate -> upload -> tune -> evaluate -> promote.

The whole product in one DAG. It runs as is against the emulator (``./scripts/demo``: Vertex AI by
default); pointing the ``gemini_tuning_default`` connection at Google runs it for real. The
connection alone picks the backend: nothing below names one (the base model defaults to the
backend's, see ``CreateTuningJobOperator``).

* extract: seed a SQLite "source system" with support tickets and export them as JSONL;
* validate: check every row against the backend's limits, apply the prompt template, split off a
  held-out validation set (rejected rows are counted and written out, never dropped silently);
* upload: hand the staged files to the backend (Gemini API: inline, <= 4 MB; Vertex AI: gs://);
* tune: submit the job and wait in the triggerer (deferrable), retry-safe;
* pick_checkpoint: on Vertex AI, make the checkpoint of the recommended epoch the model's default
  (the validation loss's plateau), so evaluation and production use it;
* evaluate: tuned model vs. the base model on the held-out set, with quality gates;
* promote: record the model in an Airflow Variable and emit an Asset event carrying its name;
* delete_previous: remove the model promoted before this one.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, Asset, Param, Variable, task

from gemini_tuning.backends import backend_of
from gemini_tuning.operators.dataset import UploadTuningDatasetOperator, ValidateTuningDatasetOperator
from gemini_tuning.operators.evaluate import EvaluateTunedModelOperator
from gemini_tuning.operators.tuning import CreateTuningJobOperator, DeleteTunedModelOperator

PROMOTED_MODEL = Asset(name="support_ticket_classifier", uri="gemini_tuning://models/support-ticket-classifier")
PROMOTED_VARIABLE = "support_ticket_classifier_model"
PROMPT = "Classify the support ticket as billing, shipping, hardware or account.\nTicket: {ticket}\nCategory:"

with DAG(
    dag_id="gemini_tuning_pipeline",
    description="Supervised fine-tuning of Gemini on support tickets, evaluated and promoted",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    user_defined_macros={"backend_of": backend_of},
    tags=["gemini", "tuning", "example"],
    params={
        "gemini_conn_id": Param("gemini_tuning_default", type="string", description="its backend decides the service"),
        "base_model": Param("", type="string", description="empty: the backend's default tunable model"),
        "gcs_destination": Param("gs://gemini-tuning-demo/datasets", type="string", description="Vertex AI only"),
        "epoch_count": Param(5, type="integer", minimum=1),
        "ticket_count": Param(240, type="integer", minimum=20),
        "min_score": Param(0.8, type="number", description="gate: held-out normalized exact match"),
        "delete_previous": Param(True, type="boolean"),
    },
) as dag:

    @task
    def extract(params=None) -> str:
        """Seed the source database if needed and export its tickets as JSONL under the staging area."""
        from example_data import stage_tickets

        uri, rows = stage_tickets("support_tickets.db", "support_tickets.jsonl", count=params["ticket_count"])
        print(f"exported {rows} tickets to {uri}")
        return uri

    validate = ValidateTuningDatasetOperator(
        task_id="validate",
        source=extract(),
        backend="{{ backend_of(params.gemini_conn_id) }}",
        output_column="category",
        prompt_template=PROMPT,
        on_invalid="skip",
        deduplicate=True,
        validation_fraction=0.2,
        seed=42,
    )
    upload = UploadTuningDatasetOperator(
        task_id="upload",
        dataset=validate.output,
        destination_uri="{{ params.gcs_destination }}",  # the Gemini API takes the data inline and ignores it
    )
    tune = CreateTuningJobOperator(
        task_id="tune",
        base_model="{{ params.base_model }}",
        training_dataset=upload.output,
        display_name="support ticket classifier",
        epoch_count="{{ params.epoch_count }}",
        deferrable=True,
        poll_interval=float(os.environ.get("GEMINI_TUNING_POLL_INTERVAL", "30")),
        timeout=6 * 3600,
        gemini_conn_id="{{ params.gemini_conn_id }}",
    )

    @task
    def pick_checkpoint(summary: dict, params=None) -> dict:
        """Vertex AI: serve the checkpoint of the recommended epoch (the summary, its `model` updated)."""
        from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook

        chosen = next((c for c in summary["checkpoints"] if c["epoch"] == summary["recommended_epoch_count"]), None)
        if chosen is None or chosen["checkpoint_id"] == summary["default_checkpoint_id"]:
            return summary  # Gemini API (no checkpoints), or the default is already the one
        hook = GeminiTuningHook(gemini_conn_id=params["gemini_conn_id"])
        hook.set_default_checkpoint(summary["tuned_model"], chosen["checkpoint_id"])
        print(f"checkpoint {chosen['checkpoint_id']} (epoch {chosen['epoch']}) is now the default")
        return {
            **summary,
            "model": chosen["endpoint"],
            "endpoint": chosen["endpoint"],
            "default_checkpoint_id": chosen["checkpoint_id"],
        }

    tuned = pick_checkpoint(tune.output)
    evaluate = EvaluateTunedModelOperator(
        task_id="evaluate",
        model=tuned,
        dataset=upload.output,
        baseline_model="{{ ti.xcom_pull(task_ids='tune')['base_model'] }}",
        min_scores={"normalized_exact_match": "{{ params.min_score }}"},
        require_improvement_over_baseline=True,
        max_failed_fraction=0.0,
        gemini_conn_id="{{ params.gemini_conn_id }}",
    )

    @task(outlets=[PROMOTED_MODEL])
    def promote(summary: dict, evaluation: dict, outlet_events=None) -> dict:
        """Make the tuned model the one production reads; hand back the model it replaces."""
        previous = Variable.get(PROMOTED_VARIABLE, default=None)
        model = summary["model"]
        Variable.set(PROMOTED_VARIABLE, model)
        outlet_events[PROMOTED_MODEL].extra = {
            "model": model,
            "job_name": summary["job_name"],
            "metrics": evaluation["metrics"],
        }
        return {"model": model, "previous_model": previous if previous != model else None}

    promoted = promote(tuned, evaluate.output)
    evaluate >> promoted

    DeleteTunedModelOperator(
        task_id="delete_previous",
        model_name="{{ ti.xcom_pull(task_ids='promote')['previous_model'] if params.delete_previous else None }}",
        gemini_conn_id="{{ params.gemini_conn_id }}",
    ).set_upstream(promoted)
