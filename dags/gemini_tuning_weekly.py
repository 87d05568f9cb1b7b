"""Retune every week on fresh tickets, starting from last week's recommended epoch count.

Each run adds the week's new tickets to the source database, retunes on everything collected so
far, and stores the tuning summary's ``recommended_epoch_count`` (the epoch after which the loss
stopped improving) in a Variable that next week's run starts from: the reference page's advice
to stop training right before the loss curve plateaus, applied automatically.

Continuous tuning (Vertex AI): trigger with ``{"continuous": true}`` and each week continues last
week's tuned model on the new data instead of starting from the base model again; with no new
display name the result is the next version of the same model (``.../models/ID@2``, ``@3``, ...).
The connection decides the backend; the base model is the backend's default.
"""

from __future__ import annotations

import os
import zlib
from datetime import datetime

from airflow.sdk import DAG, Param, Variable, task

from gemini_tuning.backends import backend_of
from gemini_tuning.operators.dataset import UploadTuningDatasetOperator, ValidateTuningDatasetOperator
from gemini_tuning.operators.evaluate import EvaluateTunedModelOperator
from gemini_tuning.operators.tuning import CreateTuningJobOperator

EPOCHS_VARIABLE = "support_ticket_classifier_weekly_epochs"
MODEL_VARIABLE = "support_ticket_classifier_weekly_model"
#: last week's tuned model (``TuningSummary.tuned_model``): what a continuous run continues
TUNED_MODEL_VARIABLE = "support_ticket_classifier_weekly_tuned_model"

with DAG(
    dag_id="gemini_tuning_weekly",
    description="Weekly retune on fresh data, epochs carried over from the previous run",
    schedule="@weekly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    user_defined_macros={"backend_of": backend_of},
    params={
        "continuous": Param(False, type="boolean", description="Vertex AI: continue last week's model"),
        "gemini_conn_id": Param("gemini_tuning_default", type="string"),
    },
    tags=["gemini", "tuning", "example", "recurring"],
) as dag:

    @task
    def collect_fresh_tickets(ds=None) -> str:
        """Append this week's tickets to the source and export the cumulative set."""
        from example_data import stage_tickets

        uri, _ = stage_tickets(
            "support_tickets_weekly.db",
            f"support_tickets_{ds}.jsonl",
            count=120,
            seed=zlib.crc32(ds.encode()),
            batch=ds,
        )
        return uri

    validate = ValidateTuningDatasetOperator(
        task_id="validate",
        source=collect_fresh_tickets(),
        backend="{{ backend_of(params.gemini_conn_id) }}",
        input_column="ticket",
        output_column="category",
        on_invalid="skip",
        deduplicate=True,
        validation_fraction=0.2,
    )
    upload = UploadTuningDatasetOperator(task_id="upload", dataset=validate.output)
    tune = CreateTuningJobOperator(
        task_id="tune",
        training_dataset=upload.output,
        pre_tuned_model=f"{{{{ var.value.get('{TUNED_MODEL_VARIABLE}', '') if params.continuous else '' }}}}",
        epoch_count=f"{{{{ var.json.get('{EPOCHS_VARIABLE}', 5) }}}}",
        # a continued model keeps its name and gets a new version; a fresh one is named here
        display_name=f"{{{{ '' if params.continuous and var.value.get('{TUNED_MODEL_VARIABLE}', '') else 'weekly ticket classifier' }}}}",
        deferrable=True,
        poll_interval=float(os.environ.get("GEMINI_TUNING_POLL_INTERVAL", "60")),
        timeout=12 * 3600,
        gemini_conn_id="{{ params.gemini_conn_id }}",
    )
    evaluate = EvaluateTunedModelOperator(
        task_id="evaluate",
        model=tune.output,
        dataset=upload.output,
        baseline_model="{{ ti.xcom_pull(task_ids='tune')['base_model'] }}",
        min_scores={"normalized_exact_match": 0.8},
        gemini_conn_id="{{ params.gemini_conn_id }}",
    )

    @task
    def carry_over(summary: dict) -> dict:
        """Next week starts from this run's plateau epoch; production reads the new model."""
        if summary["recommended_epoch_count"]:
            Variable.set(EPOCHS_VARIABLE, summary["recommended_epoch_count"], serialize_json=True)
        Variable.set(MODEL_VARIABLE, summary["model"])
        Variable.set(TUNED_MODEL_VARIABLE, summary["tuned_model"])
        return {"model": summary["model"], "next_epoch_count": summary["recommended_epoch_count"]}

    evaluate >> carry_over(tune.output)
