"""Asset-driven retuning: whenever the labelled-tickets dataset is updated, tune and evaluate again.

``export_labelled_tickets`` stands for whatever upstream process refreshes the training data (a
labelling tool's export, a dbt model, another team's DAG). It declares the asset as an outlet;
``gemini_tuning_on_new_data`` is scheduled on that asset, so it runs after every update and reads
the file the producer wrote.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, Asset, task

from gemini_tuning.backends import backend_of
from gemini_tuning.operators.dataset import (
    UploadTuningDatasetOperator,
    ValidateTuningDatasetOperator,
    default_staging_uri,
)
from gemini_tuning.operators.evaluate import EvaluateTunedModelOperator
from gemini_tuning.operators.tuning import CreateTuningJobOperator

LABELLED_TICKETS = Asset(name="labelled_support_tickets", uri="gemini_tuning://datasets/labelled-support-tickets")


with DAG(
    dag_id="export_labelled_tickets",
    description="Producer: refresh the labelled tickets file and announce it",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["gemini", "tuning", "example", "assets"],
):

    @task(outlets=[LABELLED_TICKETS])
    def export(outlet_events=None) -> str:
        from example_data import stage_tickets

        uri, rows = stage_tickets("support_tickets.db", "labelled_support_tickets.jsonl")
        outlet_events[LABELLED_TICKETS].extra = {"uri": uri, "rows": rows}
        return uri

    export()


with DAG(
    dag_id="gemini_tuning_on_new_data",
    description="Consumer: retune when the labelled tickets asset is updated",
    schedule=[LABELLED_TICKETS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    user_defined_macros={"backend_of": backend_of},
    tags=["gemini", "tuning", "example", "assets"],
):

    @task(inlets=[LABELLED_TICKETS])
    def latest_export(triggering_asset_events=None) -> str:
        """The file named by the asset event that triggered this run (the default location otherwise)."""
        for events in (triggering_asset_events or {}).values():
            for event in reversed(list(events)):
                if event.extra.get("uri"):
                    return event.extra["uri"]
        from airflow.sdk import ObjectStoragePath

        return str(ObjectStoragePath(default_staging_uri()) / "raw" / "labelled_support_tickets.jsonl")

    validate = ValidateTuningDatasetOperator(
        task_id="validate",
        source=latest_export(),
        backend="{{ backend_of('gemini_tuning_default') }}",
        input_column="ticket",
        output_column="category",
        on_invalid="skip",
        deduplicate=True,
        validation_fraction=0.2,
    )
    upload = UploadTuningDatasetOperator(task_id="upload", dataset=validate.output)
    tune = CreateTuningJobOperator(
        task_id="tune",
        training_dataset=upload.output,  # base_model: the connection's backend's default
        deferrable=True,
        poll_interval=float(os.environ.get("GEMINI_TUNING_POLL_INTERVAL", "60")),
    )
    EvaluateTunedModelOperator(
        task_id="evaluate",
        model=tune.output,
        dataset=upload.output,
        baseline_model="{{ ti.xcom_pull(task_ids='tune')['base_model'] }}",
        min_scores={"normalized_exact_match": 0.8},
    )
