"""DAGs of the kill/restart system tests: one tune task on Vertex AI, deferred or blocking.

``training_dataset`` is a ``gs://`` file the test writes into the emulator's folder; one retry, soon.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from gemini_tuning.operators.tuning import CreateTuningJobOperator

for mode in ("deferred", "blocking"):
    with DAG(
        dag_id=f"system_tune_{mode}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        render_template_as_native_obj=True,
        params={"training_dataset": "gs://bucket/system-tests/train.jsonl", "epoch_count": 4},
    ):
        CreateTuningJobOperator(
            task_id="tune",
            base_model="gemini-2.0-flash-001",
            training_dataset="{{ params.training_dataset }}",
            epoch_count="{{ params.epoch_count }}",
            deferrable=mode == "deferred",
            poll_interval=1,
            plot_loss_curve=False,
            gemini_conn_id="gemini_vertex",
            retries=1,
            retry_delay=timedelta(seconds=1),
        )
