"""DAGs for the browser test of the UI plugin (tests/system/test_ui_browser.py).

``ui_showcase``: validate -> upload -> tune -> evaluate on inline support tickets. Some labels and
inputs are HTML injection attempts, so the tuned model's answers (and the baseline's) carry them
into the per-example table, where they must show as text. ``secret_long``: one tuning job long
enough to be watched while it runs; the test's restricted user may not read this DAG.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from gemini_tuning.operators.dataset import UploadTuningDatasetOperator, ValidateTuningDatasetOperator
from gemini_tuning.operators.evaluate import EvaluateTunedModelOperator
from gemini_tuning.operators.tuning import CreateTuningJobOperator

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_ATTR = '"><img src=x onerror="window.__xss=2">'
# The "account" tickets read like the billing ones: the tuned model gets some of them wrong.
TOPICS = [
    ("my invoice shows a double charge", "billing"),
    ("the parcel has not arrived", "shipping"),
    (f"the screen shows {XSS_ATTR}", XSS_SCRIPT),
    ("my invoice shows a double charge", "account"),
]
TICKETS = [
    {"text_input": f"Ticket {i}: {TOPICS[i % 4][0]} (order {1000 + i})", "output": TOPICS[i % 4][1]} for i in range(48)
]
REJECTED = [{"text_input": "Ticket with no answer", "output": ""}, {"text_input": "", "output": "billing"}]

with DAG(
    dag_id="ui_showcase",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    params={"epochs": Param(3, type="integer"), "min_score": Param(0.5, type="number")},
    tags=["ui-test"],
):
    validate = ValidateTuningDatasetOperator(
        task_id="validate", source=TICKETS + REJECTED, on_invalid="skip", validation_fraction=0.25, seed=7
    )
    upload = UploadTuningDatasetOperator(task_id="upload", dataset=validate.output)
    tune = CreateTuningJobOperator(
        task_id="tune",
        base_model=BASE_MODEL,
        training_dataset=upload.output,
        epoch_count="{{ params.epochs }}",
        display_name="ticket classifier",
        deferrable=True,
        poll_interval=1,
        retries=0,
    )
    EvaluateTunedModelOperator(
        task_id="evaluate",
        model=tune.output,
        dataset=upload.output,
        baseline_model=BASE_MODEL,
        min_scores={"normalized_exact_match": "{{ params.min_score }}"},
        retries=0,
    )

with DAG(dag_id="secret_long", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["ui-test"]):
    CreateTuningJobOperator(
        task_id="tune_long",
        base_model=BASE_MODEL,
        training_dataset=[{"text_input": f"question {i}", "output": f"answer {i}"} for i in range(100)],
        epoch_count=20,
        batch_size=1,
        deferrable=True,
        poll_interval=1,
        retries=0,
    )
