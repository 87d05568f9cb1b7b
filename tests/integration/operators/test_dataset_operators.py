from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pytest

from gemini_tuning.contracts.dataset import UploadResult, ValidationReport
from gemini_tuning.datasets.errors import DatasetUploadError, DatasetUsageError, DatasetValidationError
from gemini_tuning.datasets.upload import upload_dataset
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.operators.dataset import (
    UploadTuningDatasetOperator,
    ValidateTuningDatasetOperator,
    default_staging_uri,
)
from tests import dagtest
from tests.dagtest import ti_of, xcom
from tests.dataset_helpers import pairs, write_jsonl
from tests.helpers import VERTEX_CONN_ID, conn_json

START = datetime(2026, 1, 1, tzinfo=UTC)


def validate(source, backend="gemini_api", **kwargs):
    return ValidateTuningDatasetOperator(task_id="v", source=source, backend=backend, **kwargs).execute({})


def test_module_import_is_light():
    import subprocess
    import sys

    code = "import sys, gemini_tuning.operators.dataset as m; print(any(k.startswith(('google.genai','pandas','matplotlib')) for k in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_default_staging_uri_from_config(monkeypatch):
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", "memory://configured")
    assert default_staging_uri() == "memory://configured"


def test_validate_execute_fails_listing_problems(tmp_path):
    op = ValidateTuningDatasetOperator(
        task_id="v", source=[*pairs(20), {"text_input": ""}], backend="gemini_api", staging_uri=str(tmp_path)
    )
    with pytest.raises(DatasetValidationError, match=r"<inline>:21: text_input: is empty or whitespace-only"):
        op.execute({})
    assert issubclass(DatasetValidationError, InvalidInputError)  # not retried


def test_validate_returns_the_contract(tmp_path):
    report = validate(pairs(30), validation_fraction=0.2, staging_uri=str(tmp_path))
    assert ValidationReport.parse(report).to_xcom() == report
    assert report["schema_version"] == 1 and report["training_dataset_uri"].endswith("/train.jsonl")
    assert report["staging_dir"] == report["training_dataset_uri"].rsplit("/", 1)[0]


def test_backend_comes_from_the_connection(monkeypatch, tmp_path):
    monkeypatch.setenv(f"AIRFLOW_CONN_{VERTEX_CONN_ID.upper()}", conn_json("vertex_ai", "http://127.0.0.1:9"))
    op = ValidateTuningDatasetOperator(
        task_id="v", source=pairs(30), gemini_conn_id=VERTEX_CONN_ID, staging_uri=str(tmp_path)
    )
    report = op.execute({})
    assert report["backend"] == "vertex_ai"
    first = json.loads(Path(report["training_dataset_uri"][7:]).read_text().splitlines()[0])
    assert first["contents"][0] == {"role": "user", "parts": [{"text": "q 0"}]}
    offline = validate(pairs(30), backend="gemini_api", gemini_conn_id=VERTEX_CONN_ID, staging_uri=str(tmp_path))
    assert offline["backend"] == "gemini_api"


def test_missing_connection_says_how_to_validate_offline():
    op = ValidateTuningDatasetOperator(task_id="v", source=pairs(30), gemini_conn_id="no_such_conn")
    with pytest.raises(DatasetUsageError, match=r"'no_such_conn', which is not defined: .* backend='gemini_api'"):
        op.execute({})


def test_max_rejected_fraction_refuses_a_mostly_broken_file(tmp_path):
    """A Latin-1 CSV under on_invalid="skip": 26% of the rows go, so the dataset is refused."""
    rows = [f"question {i},answer {i}" for i in range(74)] + [f"caf\xe9 {i},r\xe9ponse {i}" for i in range(26)]
    (tmp_path / "latin1.csv").write_bytes(("q,a\n" + "\n".join(rows) + "\n").encode("latin-1"))
    kwargs = {"input_column": "q", "output_column": "a", "on_invalid": "skip", "staging_uri": str(tmp_path / "s")}
    with pytest.raises(DatasetValidationError) as exc:
        validate(str(tmp_path / "latin1.csv"), **kwargs)
    message = str(exc.value)
    assert "26 of 100 examples rejected (26.0%), more than max_rejected_fraction=0.05" in message
    assert "re-save the file as UTF-8" in message
    assert "the same problem as line 76 on 21 more line(s), not listed" in message  # 5 listed, then one summary
    report = validate(str(tmp_path / "latin1.csv"), max_rejected_fraction=0.3, **kwargs)
    assert (report["valid"], report["rejected"], report["rejected_fraction"]) == (74, 26, 0.26)


def test_outputs_never_land_next_to_the_source(tmp_path):
    source_dir = tmp_path / "shared-bucket"
    source_dir.mkdir()
    src = write_jsonl(source_dir / "data.jsonl", [*pairs(60), "not json"])
    report = validate(str(src), on_invalid="skip", validation_fraction=0.2, staging_uri=str(tmp_path / "staging"))
    assert sorted(p.name for p in source_dir.iterdir()) == ["data.jsonl"]
    for key in ("training_dataset_uri", "validation_dataset_uri", "rejects_uri", "staging_dir"):
        assert report[key].startswith(f"file://{tmp_path}/staging/"), key


def test_upload_gemini_checks_inline_limit(tmp_path):
    big = tmp_path / "train.jsonl"
    big.write_bytes(b"x" * 4_000_001)
    report = {"backend": "gemini_api", "training_dataset_uri": str(big), "sha256": "ab" * 32, "train_count": 1}
    with pytest.raises(DatasetUploadError, match=r"is 4,000,001 bytes; the Gemini API inline upload limit is 4 MB"):
        upload_dataset(report)
    big.write_bytes(b"x" * 10)
    assert upload_dataset(report).training_dataset_uri == str(big)


def test_upload_vertex_needs_gs_or_destination(tmp_path):
    report = {
        "backend": "vertex_ai",
        "training_dataset_uri": f"file://{tmp_path}/t.jsonl",
        "sha256": "ab" * 32,
        "train_count": 1,
    }
    with pytest.raises(DatasetUploadError, match="pass destination_uri"):
        upload_dataset(report)


def test_upload_names_what_is_wrong_with_a_foreign_dict():
    with pytest.raises(InvalidInputError, match=r"`dataset` is not a valid staged dataset .*training_dataset_uri"):
        upload_dataset({"backend": "vertex_ai", "train_uri": "gs://b/t.jsonl"})


def test_upload_vertex_is_idempotent_to_memory(tmp_path):
    report = validate(pairs(40), backend="vertex_ai", validation_fraction=0.25, staging_uri=str(tmp_path))
    first = upload_dataset(report, "memory://bucket/tuning")
    sha = report["sha256"]
    assert first.uploaded and first.training_dataset_uri == f"memory://bucket/tuning/{sha[:16]}/train.jsonl"
    assert first.validation_dataset_uri == f"memory://bucket/tuning/{sha[:16]}/validation.jsonl"
    assert (first.train_count, first.validation_count) == (report["train_count"], report["validation_count"])
    assert first.staging_dir == report["staging_dir"]
    fs = fsspec.filesystem("memory")
    writes = []
    original = fs.open

    def counting_open(path, mode="rb", **kw):
        if "w" in mode:
            writes.append(path)
        return original(path, mode, **kw)

    fs.open = counting_open
    try:
        second = upload_dataset(report, "memory://bucket/tuning")
    finally:
        del fs.open
    assert not second.uploaded and writes == []
    assert second.model_copy(update={"uploaded": True}) == first


def test_upload_vertex_to_file_destination_mtimes(tmp_path):
    report = validate(pairs(40), backend="vertex_ai", staging_uri=str(tmp_path / "s"))
    dest = f"file://{tmp_path}/dest"
    upload_dataset(report, dest)
    train = next((tmp_path / "dest").rglob("train.jsonl"))
    before = os.stat(train).st_mtime_ns
    result = UploadTuningDatasetOperator(task_id="u", dataset=json.dumps(report), destination_uri=dest).execute({})
    assert not result["uploaded"] and UploadResult.parse(result).to_xcom() == result
    assert os.stat(train).st_mtime_ns == before


def test_upload_vertex_to_gs_emulator(tmp_path):
    emulator = pytest.importorskip("gemini_tuning.emulator.gcs")
    emulator.register_gcs_emulator(tmp_path / "gcs")
    report = validate(pairs(30), backend="vertex_ai", staging_uri=str(tmp_path / "s"))
    first = upload_dataset(report, "gs://bucket/prefix")
    assert first.uploaded and first.training_dataset_uri.startswith("gs://bucket/prefix/")
    assert not upload_dataset(report, "gs://bucket/prefix").uploaded


def test_both_operators_in_dag_test(airflow_db, tmp_path):
    from airflow.sdk import DAG, task

    src = tmp_path / "data.jsonl"
    src.write_text("".join(json.dumps(p) + "\n" for p in pairs(30)) + "not json\n")
    result_file = tmp_path / "result.json"
    with DAG("dataset_ops_test", schedule=None, start_date=START, catchup=False) as dag:
        validate_task = ValidateTuningDatasetOperator(
            task_id="validate",
            source="{{ params.src }}",
            backend="vertex_ai",
            on_invalid="skip",
            validation_fraction=0.2,
            staging_uri=str(tmp_path / "staging"),
            params={"src": str(src)},
        )
        upload = UploadTuningDatasetOperator(
            task_id="upload", dataset=validate_task.output, destination_uri=f"file://{tmp_path}/bucket"
        )

        @task
        def record(report: dict, uploaded: dict) -> None:
            result_file.write_text(json.dumps({"report": report, "uploaded": uploaded}))

        record(validate_task.output, upload.output)

    dr = dagtest.run_dag(dag)
    assert dr.state == "success"
    result = json.loads(result_file.read_text())
    report, uploaded = result["report"], result["uploaded"]
    assert (report["total"], report["valid"], report["rejected"]) == (31, 30, 1)
    assert report["rejects_uri"] and report["source"] == str(src)
    assert uploaded["uploaded"] and uploaded["sha256"] == report["sha256"]
    assert Path(uploaded["training_dataset_uri"][7:]).exists()
    assert uploaded["train_count"] + uploaded["validation_count"] == 30


def test_xcom_pull_templates_render_to_reprs_that_are_accepted(airflow_db, tmp_path):
    """``"{{ ti.xcom_pull(...) }}"`` renders a list or dict to its Python repr; both operators read it."""
    from airflow.sdk import DAG, task

    with DAG("dataset_ops_xcom_pull", schedule=None, start_date=START, catchup=False) as dag:

        @task
        def rows() -> list[dict]:
            return [{"question": f"it's {i}", "answer": f"a {i}"} for i in range(30)]

        validate_task = ValidateTuningDatasetOperator(
            task_id="validate",
            source="{{ ti.xcom_pull(task_ids='rows') }}",
            backend="gemini_api",
            input_column="question",
            output_column="answer",
            staging_uri=str(tmp_path),
        )
        upload = UploadTuningDatasetOperator(task_id="upload", dataset="{{ ti.xcom_pull(task_ids='validate') }}")
        rows() >> validate_task >> upload

    dr = dagtest.run_dag(dag)
    assert ti_of(dr, "upload").state == "success", ti_of(dr, "validate").state
    assert xcom(dr, "validate")["train_count"] == 30 == xcom(dr, "upload")["train_count"]


def test_a_template_that_cannot_be_read_says_what_to_do(tmp_path):
    with pytest.raises(
        DatasetUsageError, match=r"pass the upstream task.s `.output` .*render_template_as_native_obj=True"
    ):
        validate("[{'text_input': datetime.date(2026, 1, 1)}]", staging_uri=str(tmp_path))


def test_validate_failure_in_dag_test(airflow_db, tmp_path):
    from airflow.sdk import DAG

    with DAG("dataset_ops_fail", schedule=None, start_date=START, catchup=False) as dag:
        ValidateTuningDatasetOperator(
            task_id="validate", source=pairs(5), backend="gemini_api", staging_uri=str(tmp_path)
        )
    dr = dagtest.run_dag(dag)
    assert dr.state == "failed"


class _TI:
    dag_id, task_id, run_id, map_index = "dag", "tune", "manual__1", -1

    def xcom_push(self, key, value):
        pass


@pytest.mark.parametrize(
    "rows, message",
    [
        ([*pairs(30), '{"text_input": "q", "output": '], r"data.jsonl:31: json: invalid JSON: Expecting value"),
        (
            [{"text_input": f"{i} " + "x" * 9_000, "output": "y" * 1_000} for i in range(1_000)],  # ~10 MB
            r"the Gemini API inline upload limit is 4 MB",
        ),
    ],
    ids=["bad-line", "10MB"],
)
def test_a_raw_file_handed_to_the_tuning_operator_is_checked_before_any_request(
    gemini_conn, emulator, tmp_path, rows, message
):
    from gemini_tuning.operators.tuning import CreateTuningJobOperator
    from tests.helpers import stat

    src = write_jsonl(tmp_path / "data.jsonl", rows)
    op = CreateTuningJobOperator(
        task_id="tune",
        base_model="models/gemini-1.5-flash-001-tuning",
        training_dataset=str(src),
        gemini_conn_id=gemini_conn,
    )
    before = stat(emulator, "requests")
    with pytest.raises(DatasetValidationError, match=message):
        op.execute({"ti": _TI()})
    assert stat(emulator, "requests") == before
