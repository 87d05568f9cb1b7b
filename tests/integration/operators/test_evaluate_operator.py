"""EvaluateTunedModelOperator against the emulator, on both backends, inside ``dag.test()`` and directly."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from airflow.sdk import conf

from gemini_tuning.contracts.dataset import UploadResult
from gemini_tuning.contracts.evaluation import EvaluationSummary
from gemini_tuning.contracts.tuning import TuningSummary
from gemini_tuning.evaluation.limits import TunedModelLimitError
from gemini_tuning.exceptions import GateFailed, InvalidInputError, NotFoundError, ServiceError, TransientServiceError
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
    """A finished tuning job trained on 30 templated tickets; returns its tuning summary (plus ``conn_id``)."""
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
    summary = TuningSummary.from_job(job, prompt_template=TEMPLATE).to_xcom()
    assert summary["base_model"] == BASE[backend]
    return {**summary, "conn_id": conn_id}  # the extra key is ignored by the contract


def staged_validation(backend, emulator, tmp_path, rows) -> dict:
    """An upload result whose validation file is already templated (local on Gemini API, gs:// on Vertex)."""
    examples = templated(rows)
    if backend == "vertex_ai":
        uri = write_vertex_dataset(emulator.gcs_root, examples, "eval/staged/validation.jsonl")
    else:
        path = tmp_path / "staged" / "validation.jsonl"
        path.parent.mkdir(parents=True)
        path.write_text("".join(json.dumps(e) + "\n" for e in examples))
        uri = path.as_uri()
    return UploadResult(
        backend=backend,
        training_dataset_uri=uri.replace("validation", "train"),
        train_count=30,
        sha256="0" * 64,
        validation_dataset_uri=uri,
        validation_count=len(rows),
        prompt_template=TEMPLATE,
    ).to_xcom()


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
    assert summary["gates"]["passed"] and summary["gates"]["reasons"] == []
    assert [(c["gate"], c["metric"], c["passed"]) for c in summary["gates"]["checks"]] == [
        ("max_failed_fraction", None, True),
        ("min_score", "exact_match", True),
        ("min_score", "chrf", True),
        *[("improvement_over_baseline", name, True) for name in summary["metrics"]],
    ]
    assert summary["prompt_template"] == TEMPLATE and summary["primary_metric"] == "exact_match"
    assert EvaluationSummary.parse(summary).model == tuned["model"]
    # outputs under the staging location, per dag/run/task
    staging = conf.get("gemini_tuning", "staging_uri")
    assert summary["results_uri"].startswith(f"{staging}/evaluations/eval_ok_{backend}/")
    assert summary["results_uri"].endswith("/evaluate/results.jsonl")
    rows = [json.loads(line) for line in read_text(summary["results_uri"]).splitlines()]
    assert [r["line"] for r in rows] == list(range(1, 13))
    assert rows[0]["input"] == TEMPLATE.format(text=tickets(1)[0]["text"])  # not templated twice
    assert rows[0]["tuned_output"] == rows[0]["expected"] == "billing"
    assert rows[0]["baseline_output"].startswith("As a general-purpose assistant")
    assert rows[0]["tuned_scores"]["exact_match"] == 1.0 and rows[0]["baseline_scores"]["exact_match"] == 0.0
    report = read_text(summary["report_uri"])
    assert "**PASSED**" in report and "| exact_match | 1.0000 | 0.0000 | +1.0000 | 0.9000 |" in report


def test_the_sensors_output_feeds_evaluation(tuned, emulator, tmp_path, airflow_db):
    """A job submitted elsewhere: TuningJobSensor's summary is a model argument like the create operator's."""
    from airflow.sdk import DAG

    from gemini_tuning.sensors.tuning import TuningJobSensor

    backend = tuned["backend"]
    with DAG(f"eval_sensor_{backend}", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        wait = TuningJobSensor(
            task_id="wait", job_name=tuned["job_name"], poke_interval=0.05, gemini_conn_id=tuned["conn_id"]
        )
        EvaluateTunedModelOperator(
            task_id="evaluate",
            model=wait.output,
            dataset=staged_validation(backend, emulator, tmp_path, tickets(4)),
            min_scores={"exact_match": 1.0},
            gemini_conn_id=tuned["conn_id"],
        )
    serialize(dag)
    dagrun = dag.test()
    assert state_of(dagrun) == "success", {ti.task_id: ti.state for ti in dagrun.get_task_instances()}
    summary = xcom(dagrun)
    assert (summary["model"], summary["job_name"]) == (tuned["model"], tuned["job_name"])
    assert summary["metrics"]["exact_match"]["tuned"] == 1.0


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
    assert summary["gates"]["checks"][1]["passed"] is False and summary["gates"]["checks"][1]["value"] == 0.0
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
    with pytest.raises(GateFailed, match=r"6 of 6 examples failed") as err:
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


def test_a_wrong_api_key_stops_at_the_first_request(gemini_conn, emulator, monkeypatch, tmp_path):
    """400 API_KEY_INVALID would repeat for every example: one request, then the service's message."""
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_WRONG_KEY", conn_json("gemini_api", emulator.url, api_key="wrong-key"))
    with pytest.raises(ServiceError) as err:
        execute(
            EvaluateTunedModelOperator(
                task_id="evaluate",
                model=BASE["gemini_api"],
                dataset=templated(tickets(16)),
                max_concurrency=1,
                output_uri=str(tmp_path / "out"),
                gemini_conn_id="gemini_wrong_key",
            )
        )
    error = err.value
    assert (type(error), error.http_status, error.status) == (ServiceError, 400, "INVALID_ARGUMENT")
    assert "refused example 1: API key not valid. Please pass a valid API key." in error.message
    assert "examples failed" not in str(error) and "wrong-key" not in str(error)
    assert generate_requests(emulator) <= 1  # the emulator may refuse it before counting the route
    assert not (tmp_path / "out").exists()


def test_a_missing_model_stops_at_the_first_request(backend_conn, emulator, tmp_path):
    backend, conn_id = backend_conn
    missing = {
        "gemini_api": "tunedModels/does-not-exist",
        "vertex_ai": "projects/demo-project/locations/us-central1/endpoints/404",
    }
    with pytest.raises(NotFoundError) as err:
        execute(
            EvaluateTunedModelOperator(
                task_id="evaluate",
                model=missing[backend],
                dataset=templated(tickets(16)),
                baseline_model=BASE[backend],
                max_concurrency=1,
                output_uri=str(tmp_path / "out"),
                gemini_conn_id=conn_id,
            )
        )
    assert err.value.http_status == 404 and err.value.status == "NOT_FOUND"
    assert f"the tuned model {missing[backend]} refused example 1: " in err.value.message
    assert generate_requests(emulator) <= 2  # the first example's tuned request (and its baseline one at most)


def test_a_missing_metric_library_fails_before_any_request(gemini_conn, emulator, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "rouge_score", None)  # the README's runtime install, without the library
    with pytest.raises(InvalidInputError, match="the rouge_l metric needs the Python module 'rouge_score'"):
        execute(
            EvaluateTunedModelOperator(
                task_id="evaluate",
                model=BASE["gemini_api"],
                dataset=templated(tickets(4)),
                output_uri=str(tmp_path / "out"),
                gemini_conn_id=gemini_conn,
            )
        )
    assert generate_requests(emulator) == 0


def test_outputs_never_land_next_to_the_source_data(tuned, tmp_path):
    """A raw dataset in a folder the user owns (may be read-only or shared): nothing is written there."""
    source = tmp_path / "shared-bucket"
    source.mkdir()
    raw = source / "holdout.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in tickets(3)))
    summary, ti = execute(
        EvaluateTunedModelOperator(task_id="evaluate", model=tuned, dataset=str(raw), gemini_conn_id=tuned["conn_id"])
    )
    assert [p.name for p in source.iterdir()] == ["holdout.jsonl"]
    folder = f"{conf.get('gemini_tuning', 'staging_uri')}/evaluations/{ti.dag_id}/{ti.run_id}/{ti.task_id}"
    assert (summary["results_uri"], summary["report_uri"]) == (f"{folder}/results.jsonl", f"{folder}/report.md")
    assert len(read_text(summary["results_uri"]).splitlines()) == 3


def test_every_checkpoint_is_evaluated_and_the_best_reported(vertex_conn, emulator, tmp_path):
    """A Vertex job of 8 epochs keeps 8 checkpoints; early ones under-fit, late ones over-fit unseen prompts."""
    hook = GeminiTuningHook(vertex_conn)
    train = [{"text_input": f"What number comes after {i}?", "output": str(i + 1)} for i in range(30)]
    job = hook.create_tuning_job(
        base_model=BASE["vertex_ai"],
        training_dataset_uri=write_vertex_dataset(emulator.gcs_root, train, "ckpt/train.jsonl"),
        job_id="eval-checkpoints",
        hyperparameters={"epoch_count": 8},
    )
    job = hook.wait_for_tuning_job(job.name, poll_interval=0.05)
    summary_in = TuningSummary.from_job(job).to_xcom()  # what the tuning operator and the sensor return
    checkpoints = summary_in["checkpoints"]
    assert len(checkpoints) == 8 and summary_in["default_checkpoint_id"] == "8"
    held_out = [{"text_input": e["text_input"] + " Answer briefly.", "output": e["output"]} for e in train]

    summary, _ = execute(
        EvaluateTunedModelOperator(
            task_id="evaluate",
            model=summary_in,
            dataset=held_out,
            checkpoints="all",
            min_scores={"exact_match": 0.5},
            output_uri=str(tmp_path / "out"),
            gemini_conn_id=vertex_conn,
        )
    )
    results = summary["checkpoints"]
    assert [c["checkpoint_id"] for c in results] == [str(n) for n in range(1, 9)]
    assert [c["is_default"] for c in results] == [False] * 7 + [True]  # the endpoint `model` calls
    scores = [c["metrics"]["exact_match"] for c in results]
    assert scores[0] < scores[3] < max(scores) and scores[-1] < max(scores)  # under- and over-fitted ends
    best = summary["best_checkpoint"]
    assert best["metrics"]["exact_match"] == max(scores) and not best["is_default"]
    assert summary["metrics"]["exact_match"]["tuned"] == scores[-1]  # gates judge the default checkpoint
    # each checkpoint answered every example once; the default one's answers are the tuned model's
    assert generate_requests(emulator) == len(held_out) * len(checkpoints)
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert all(set(row["checkpoints"]) == {str(n) for n in range(1, 9)} for row in rows)
    assert rows[0]["checkpoints"]["8"]["output"] == rows[0]["tuned_output"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Checkpoints by exact_match" in report and f"| {best['checkpoint_id']} |" in report


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
    with pytest.raises(InvalidInputError, match="needs a baseline_model"):
        execute(EvaluateTunedModelOperator(require_improvement_over_baseline=True, **kwargs))
    with pytest.raises(InvalidInputError, match="unknown metric 'bleu'"):
        execute(EvaluateTunedModelOperator(metrics=["bleu"], **kwargs))
    with pytest.raises(InvalidInputError, match="generation_config is not a valid .*temprature: Extra inputs"):
        execute(EvaluateTunedModelOperator(generation_config={"temprature": 0}, **kwargs))
    with pytest.raises(InvalidInputError, match="metric 'boom' failed on a trial run on example 1's reference"):
        execute(EvaluateTunedModelOperator(custom_metrics={"boom": lambda p, r: 1 / 0}, **kwargs))
    with pytest.raises(InvalidInputError, match="checkpoints='all' needs the tuning summary"):
        execute(EvaluateTunedModelOperator(checkpoints="all", **kwargs))
    with pytest.raises(InvalidInputError, match="conflicts with the dataset's recorded template"):
        execute(
            EvaluateTunedModelOperator(
                task_id="evaluate",
                model="tunedModels/any",
                dataset=UploadResult(
                    backend="gemini_api",
                    training_dataset_uri="file:///nowhere/train.jsonl",
                    train_count=1,
                    sha256="0" * 64,
                    validation_dataset_uri="file:///nowhere/validation.jsonl",
                ).to_xcom(),
                prompt_template="Q: {q}",
                gemini_conn_id=gemini_conn,
            )
        )
    assert generate_requests(emulator) == 0


def test_templated_fields():
    assert {"model", "dataset", "prompt_template", "baseline_model", "min_scores", "checkpoints", "output_uri"} <= set(
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
