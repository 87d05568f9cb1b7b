"""Adding tuning to a DAG you already have (TaskFlow style).

``existing_etl`` was a plain TaskFlow pipeline that cleaned FAQ pairs for a help-center bot. Three
operators turn it into one that also keeps a tuned model fresh: validate what the ETL produced,
tune on it without holding a worker slot, and gate the result on an evaluation. Their outputs are
ordinary XComArgs, so they compose with ``@task`` functions both ways.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag, task

from gemini_tuning.backends import backend_of
from gemini_tuning.operators.dataset import ValidateTuningDatasetOperator
from gemini_tuning.operators.evaluate import EvaluateTunedModelOperator
from gemini_tuning.operators.tuning import CreateTuningJobOperator


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    user_defined_macros={"backend_of": backend_of},
    tags=["gemini", "tuning", "example", "taskflow"],
)
def gemini_tuning_taskflow():
    # --- the DAG as it was -------------------------------------------------------------
    @task
    def extract_faq() -> list[dict]:
        from example_data import generate_tickets

        return [{"question": ticket, "answer": category} for ticket, category in generate_tickets(120, seed=7)]

    @task
    def clean(rows: list[dict]) -> list[dict]:
        return [{"question": " ".join(r["question"].split()), "answer": r["answer"].strip()} for r in rows]

    rows = clean(extract_faq())

    # --- what tuning adds ---------------------------------------------------------------
    dataset = ValidateTuningDatasetOperator(
        task_id="validate",
        source=rows,  # an inline list from XCom works as well as a file
        backend="{{ backend_of('gemini_tuning_default') }}",
        input_column="question",
        output_column="answer",
        on_invalid="skip",
        validation_fraction=0.2,
    ).output

    tuned = CreateTuningJobOperator(
        task_id="tune",
        training_dataset=dataset,  # base_model: the connection's backend's default
        epoch_count=4,
        deferrable=True,
        poll_interval=float(os.environ.get("GEMINI_TUNING_POLL_INTERVAL", "30")),
    ).output

    report = EvaluateTunedModelOperator(
        task_id="evaluate",
        model=tuned,
        dataset=dataset,
        baseline_model="{{ ti.xcom_pull(task_ids='tune')['base_model'] }}",
    ).output

    @task
    def announce(summary: dict, evaluation: dict) -> str:
        message = f"{summary['model']} ready: {evaluation['metrics']}"
        print(message)
        return message

    announce(tuned, report)


gemini_tuning_taskflow()
