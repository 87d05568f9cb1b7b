"""EvaluateTunedModelOperator against the emulator, on both backends, inside ``dag.test()`` and directly."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from gemini_tuning.evaluation.limits import TunedModelLimitError
from gemini_tuning.exceptions import TransientServiceError
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.operators.evaluate import EvaluateTunedModelOperator
from tests.helpers import conn_json, write_vertex_dataset

BASE = {"gemini_api": "models/gemini-1.5-flash-001-tuning", "vertex_ai": "gemini-2.0-flash-001"}
TEMPLATE = "Ticket: {text}\nCategory:"
CATEGORIES = ["billing", "bug", "account", "shipping", "refund"]


def tickets(n: int, start: int = 0) -> list[dict[str, str]]:
    """Raw rows (before the template): distinct texts, a category each."""
    return [
        {"text": f"ticket {i} about {CATEGORIES[i % 5]} number {i * 7}", "output": CATEGORIES[i % 5]}
        for i in range(start, start + n)
    ]


def templated(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"text_input": TEMPLATE.format(text=r["text"]), "output": r["output"]} for r in rows]


@pytest.fixture
def tuned(backend_conn, emulator):
    """A finished tuning job trained on 30 templated tickets; returns a tuning-summary-like dict."""
    backend, conn_id = backend_conn
    hook = GeminiTuningHook(conn_id)
    train = templated(tickets(30))
    if backend == "gemini_api":
        job = hook.create_tuning_job(
            base_model=BASE[backend], training_examples=train, job_id="eval-test", hyperparameters={"epoch_count": 2}
        )
    else:
        job = hook.create_tuning_job(
            base_model=BASE[backend],
            training_dataset_uri=write_vertex_dataset(emulator.gcs_root, train, "eval/train.jsonl"),
            job_id="eval-test",
            hyperparameters={"epoch_count": 2},
        )
    job = hook.wait_for_tuning_job(job.name, poll_interval=0.05)
    assert job.done and (job.endpoint or job.tuned_model)
    return {
        "backend": backend,
        "conn_id": conn_id,
        "model": job.endpoint or job.tuned_model,
        "base_model": BASE[backend],
        "prompt_template": TEMPLATE,
        "job_name": job.name,
    }


def staged_validation(backend, emulator, tmp_path, rows) -> dict:
    """An upload-operator-like dict whose validation file is already templated (local on Gemini API, gs:// on Vertex)."""
    examples = templated(rows)
    if backend == "vertex_ai":
        uri = write_vertex_dataset(emulator.gcs_root, examples, "eval/staged/validation.jsonl")
    else:
        path = tmp_path / "staged" / "validation.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text("".join(json.dumps(e) + "\n" for e in examples))
        uri = path.as_uri()
    return {"backend": backend, "validation_dataset_uri": uri, "prompt_template": TEMPLATE}


def run_dag(dag_id, **op_kwargs):
    from airflow.sdk import DAG

    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False) as dag:
        EvaluateTunedModelOperator(task_id="evaluate", **op_kwargs)
    serialize(dag)
    return dag.test()


def serialize(dag) -> None:
    """Airflow 3.3's ``dag.test()`` needs the DAG serialized in a bundle; one defined in a test file is not."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.serialization.serialized_objects import LazyDeserializedDAG
    from airflow.utils.session import create_session

    with create_session() as session:
        DagBundlesManager().sync_bundles_to_db(session=session)
        session.commit()
        update_dag_parsing_results_in_db(
            "dags-folder", None, [LazyDeserializedDAG.from_dag(dag)], {}, None, set(), session
        )


def xcom(dagrun, task_id="evaluate", key="return_value"):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dagrun.dag_id, run_id=dagrun.run_id, task_id=task_id, key=key)
            .one()
        )
        value = row.value
    return json.loads(value) if isinstance(value, str) else value


def state_of(dagrun, task_id="evaluate"):
    return next(ti for ti in dagrun.get_task_instances() if ti.task_id == task_id).state


def read_text(uri: str) -> str:
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(uri).read_text()


class FakeTI:
    dag_id, task_id, run_id, map_index = "adhoc_dag", "evaluate", "manual__1", -1

    def __init__(self):
        self.xcom = {}

    def xcom_push(self, key, value):
        self.xcom[key] = value


def execute(op):
    ti = FakeTI()
    try:
        return op.execute({"ti": ti, "run_id": ti.run_id}), ti
    except Exception as exc:
        exc.ti = ti
        raise


def generate_requests(emulator) -> int:
    return sum(n for route, n in emulator.stats()["requests"].items() if "generateContent" in route)


# -- dag.test() on both backends ----------------------------------------------------------------------
def test_evaluate_inside_dag_test_passes_gates(tuned, emulator, tmp_path, airflow_db):
    backend = tuned["backend"]
    dataset = staged_validation(backend, emulator, tmp_path, tickets(12))  # seen tickets: the tuned model knows them
    dagrun = run_dag(
        f"eval_ok_{backend}",
        model=tuned,
        dataset=dataset,
        baseline_model=tuned["base_model"],
        min_scores={"exact_match": 0.9, "chrf": 0.9},
        require_improvement_over_baseline=True,
        max_concurrency=4,
        gemini_conn_id=tuned["conn_id"],
    )
    assert state_of(dagrun) == "success"
    summary = xcom(dagrun)
    assert summary["model"] == tuned["model"] and summary["baseline_model"] == tuned["base_model"]
    assert (summary["examples"], summary["succeeded"], summary["failed"], summary["failed_fraction"]) == (
        12,
        12,
        0,
        0.0,
    )
    assert summary["metrics"]["exact_match"] == {"tuned": 1.0, "baseline": 0.0, "delta": 1.0}
    assert set(summary["metrics"]) == {"exact_match", "normalized_exact_match", "rouge_l", "chrf"}
    assert all(m["delta"] > 0 for m in summary["metrics"].values())
    assert summary["gates"] == {"passed": True, "reasons": []}
    assert summary["prompt_template"] == TEMPLATE
    # outputs next to the staged dataset, via ObjectStoragePath (gs:// on Vertex)
    staged_dir = dataset["validation_dataset_uri"].rsplit("/", 1)[0]
    assert summary["results_uri"].startswith(staged_dir + "/evaluations/")
    rows = [json.loads(line) for line in read_text(summary["results_uri"]).splitlines()]
    assert [r["line"] for r in rows] == list(range(1, 13))
    assert rows[0]["input"] == TEMPLATE.format(text=tickets(1)[0]["text"])  # not templated twice
    assert rows[0]["tuned_output"] == rows[0]["expected"] == "billing"
    assert rows[0]["baseline_output"].startswith("As a general-purpose assistant")
    assert rows[0]["tuned_scores"]["exact_match"] == 1.0 and rows[0]["baseline_scores"]["exact_match"] == 0.0
    report = read_text(summary["report_uri"])
    assert "**PASSED**" in report and "| exact_match | 1.0000 | 0.0000 | +1.0000 | 0.9000 |" in report


def test_gate_failure_pushes_summary_then_fails(tuned, emulator, tmp_path, airflow_db):
    backend = tuned["backend"]
    dagrun = run_dag(
        f"eval_gate_{backend}",
        model=tuned["base_model"],  # the base model does not know the task
        dataset=staged_validation(backend, emulator, tmp_path, tickets(6)),
        min_scores={"normalized_exact_match": 0.8},
        gemini_conn_id=tuned["conn_id"],
    )
    assert state_of(dagrun) == "failed"
    summary = xcom(dagrun)
    assert summary["gates"]["passed"] is False
    assert summary["gates"]["reasons"] == ["normalized_exact_match: tuned score 0.0000 < min_scores 0.8"]
    assert "**FAILED**" in read_text(summary["report_uri"])


# -- failures, retries and concurrency ---------------------------------------------------------------
def test_injected_429s_lose_nothing(tuned, emulator, monkeypatch, tmp_path):
    conn_id = "gemini_eval_patient"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        conn_json(tuned["backend"], emulator.url, retries=12, retry_initial_delay=0.005, retry_max_delay=0.02),
    )
    emulator.set_faults(rate_429=0.3)
    summary, _ = execute(
        EvaluateTunedModelOperator(
            task_id="evaluate",
            model=tuned,
            dataset=staged_validation(tuned["backend"], emulator, tmp_path, tickets(30)),
            baseline_model=tuned["base_model"],
            max_concurrency=8,
            output_uri=str(tmp_path / "out"),
            gemini_conn_id=conn_id,
        )
    )
    assert emulator.stats()["faults_injected"]["429"] > 0
    assert (summary["examples"], summary["failed"]) == (30, 0)
    assert summary["metrics"]["exact_match"]["tuned"] == 1.0
    assert len((tmp_path / "out" / "results.jsonl").read_text().splitlines()) == 30


def test_requests_failing_after_retries_are_counted_and_fail_the_gate(tuned, emulator, tmp_path):
    emulator.set_faults(rate_503=1.0)
    with pytest.raises(Exception, match=r"6 of 6 examples failed") as err:
        execute(
            EvaluateTunedModelOperator(
                task_id="evaluate",
                model=tuned["model"],
                dataset=staged_validation(tuned["backend"], emulator, tmp_path, tickets(6)),
                max_failed_fraction=0.5,
                output_uri=str(tmp_path / "out"),
                gemini_conn_id=tuned["conn_id"],
            )
        )
    summary = err.value.ti.xcom["return_value"]
    assert (summary["examples"], summary["succeeded"], summary["failed"], summary["failed_fraction"]) == (6, 0, 6, 1.0)
    assert summary["metrics"]["exact_match"]["tuned"] is None  # not a silent zero
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all(r["failed"] and "503" in r["tuned_error"] and r["tuned_scores"] is None for r in rows)


def test_some_failures_within_max_failed_fraction_pass(tuned, emulator, tmp_path, monkeypatch):
    """Patch one example's request to fail for good: it is counted, the rest are scored, the gate allows it."""
    original = GeminiTuningHook.agenerate

    async def flaky(self, model, text, config=None):
        if "ticket 3 " in text:
            raise TransientServiceError("Resource has been exhausted", http_status=429, status="RESOURCE_EXHAUSTED")
        return await original(self, model, text, config)

    monkeypatch.setattr(GeminiTuningHook, "agenerate", flaky)
    summary, _ = execute(
        EvaluateTunedModelOperator(
            task_id="evaluate",
            model=tuned,
            dataset=staged_validation(tuned["backend"], emulator, tmp_path, tickets(10)),
            max_failed_fraction=0.1,
            output_uri=str(tmp_path / "out"),
            gemini_conn_id=tuned["conn_id"],
        )
    )
    assert (summary["examples"], summary["succeeded"], summary["failed"], summary["failed_fraction"]) == (10, 9, 1, 0.1)
    assert summary["gates"]["passed"] and summary["metrics"]["exact_match"]["tuned"] == 1.0


# -- the prompt-template rule, limits, options ------------------------------------------------------
def test_raw_data_gets_the_jobs_template(tuned, emulator, tmp_path):
    raw = tickets(5, start=2)  # untemplated rows: {"text", "output"}
    summary, _ = execute(
        EvaluateTunedModelOperator(
            task_id="evaluate",
            model=tuned,  # carries prompt_template
            dataset=raw,
            custom_metrics={"same_length": lambda p, r: float(len(p) == len(r))},
            max_examples=4,
            output_uri=str(tmp_path / "out"),
            gemini_conn_id=tuned["conn_id"],
        )
    )
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [r["input"] for r in rows] == [TEMPLATE.format(text=r["text"]) for r in raw[:4]]
    assert summary["examples"] == 4 and summary["metrics"]["exact_match"]["tuned"] == 1.0
    assert summary["metrics"]["same_length"] == {"tuned": 1.0, "baseline": None, "delta": None}


def test_limits_fail_before_any_request(backend_conn, emulator, tmp_path):
    backend, conn_id = backend_conn
    long_input = [{"text_input": "x" * 40_001, "output": "y"}, {"text_input": "ok", "output": "y"}]
    kwargs = dict(task_id="evaluate", model="tunedModels/any", output_uri=str(tmp_path), gemini_conn_id=conn_id)
    if backend == "gemini_api":
        with pytest.raises(TunedModelLimitError, match=r"<inline> line 1: input is 40,001 characters"):
            execute(EvaluateTunedModelOperator(dataset=long_input, **kwargs))
        with pytest.raises(TunedModelLimitError, match="JSON mode"):
            execute(
                EvaluateTunedModelOperator(
                    dataset=long_input[1:], generation_config={"response_mime_type": "application/json"}, **kwargs
                )
            )
    else:
        with pytest.raises(TunedModelLimitError, match="text only"):
            execute(
                EvaluateTunedModelOperator(
                    dataset=long_input, generation_config={"response_modalities": ["IMAGE"]}, **kwargs
                )
            )
    assert generate_requests(emulator) == 0


def test_argument_errors_fail_before_any_request(gemini_conn, emulator, tmp_path):
    kwargs = dict(
        task_id="evaluate",
        model="tunedModels/any",
        dataset=[{"text_input": "a", "output": "b"}],
        gemini_conn_id=gemini_conn,
    )
    with pytest.raises(ValueError, match="needs a baseline_model"):
        execute(EvaluateTunedModelOperator(require_improvement_over_baseline=True, **kwargs))
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        execute(EvaluateTunedModelOperator(metrics=["bleu"], **kwargs))
    with pytest.raises(ValueError, match="conflicts with the dataset's recorded template"):
        execute(
            EvaluateTunedModelOperator(
                task_id="evaluate",
                model="tunedModels/any",
                dataset={"validation_dataset_uri": "file:///nowhere/validation.jsonl", "prompt_template": None},
                prompt_template="Q: {q}",
                gemini_conn_id=gemini_conn,
            )
        )
    assert generate_requests(emulator) == 0


def test_templated_fields():
    assert {"model", "dataset", "prompt_template", "baseline_model", "min_scores", "output_uri"} <= set(
        EvaluateTunedModelOperator.template_fields
    )


def test_operator_module_imports_nothing_heavy():
    code = (
        "import sys\n"
        "import gemini_tuning.operators.evaluate\n"
        "heavy = [m for m in ('google.genai', 'rouge_score', 'sacrebleu', 'numpy', 'nltk') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    (line,) = [line for line in out.stdout.splitlines() if line.startswith("HEAVY=")]
    assert line == "HEAVY=", f"heavy modules imported: {line}"
