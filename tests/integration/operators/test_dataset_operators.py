from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pytest

from gemini_tuning.datasets.engine import DatasetValidationError
from gemini_tuning.datasets.upload import DatasetUploadError, upload_dataset
from gemini_tuning.operators.dataset import (
    UploadTuningDatasetOperator,
    ValidateTuningDatasetOperator,
    default_staging_uri,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def run_dag_test(dag):
    """``dag.test()`` needs the DAG serialized in the metadata DB; a DAG defined in a test is in no bundle."""
    import tempfile

    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=tempfile.mkdtemp())
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test()


def pairs(n):
    return [{"text_input": f"q {i}", "output": f"a {i}"} for i in range(n)]


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
    op = ValidateTuningDatasetOperator(task_id="v", source=[*pairs(20), {"text_input": ""}], staging_uri=str(tmp_path))
    with pytest.raises(DatasetValidationError, match=r"<inline>:21: text_input: is empty or whitespace-only"):
        op.execute({})


def test_upload_gemini_checks_inline_limit(tmp_path):
    big = tmp_path / "train.jsonl"
    big.write_bytes(b"x" * 4_000_001)
    report = {"backend": "gemini_api", "training_dataset_uri": str(big), "sha256": "ab" * 32, "train_count": 1}
    with pytest.raises(DatasetUploadError, match=r"is 4,000,001 bytes; the Gemini API inline upload limit is 4 MB"):
        upload_dataset(report)
    big.write_bytes(b"x" * 10)
    assert upload_dataset(report)["training_dataset_uri"] == str(big)


def test_upload_vertex_needs_gs_or_destination(tmp_path):
    report = {"backend": "vertex_ai", "training_dataset_uri": f"file://{tmp_path}/t.jsonl", "sha256": "ab" * 32}
    with pytest.raises(DatasetUploadError, match="pass destination_uri"):
        upload_dataset(report)
    with pytest.raises(DatasetUploadError, match="no train_uri"):
        upload_dataset({"backend": "vertex_ai"})


def test_upload_vertex_is_idempotent_to_memory(tmp_path):
    op = ValidateTuningDatasetOperator(
        task_id="v", source=pairs(40), backend="vertex_ai", validation_fraction=0.25, staging_uri=str(tmp_path)
    )
    report = op.execute({})
    first = upload_dataset(report, "memory://bucket/tuning")
    sha = report["sha256"]
    assert first["uploaded"] and first["training_dataset_uri"] == f"memory://bucket/tuning/{sha[:16]}/train.jsonl"
    assert first["validation_dataset_uri"] == f"memory://bucket/tuning/{sha[:16]}/validation.jsonl"
    assert (first["example_count"], first["validation_example_count"]) == (
        report["train_count"],
        report["validation_count"],
    )
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
    assert not second["uploaded"] and writes == []
    assert {k: v for k, v in second.items() if k != "uploaded"} == {k: v for k, v in first.items() if k != "uploaded"}


def test_upload_vertex_to_file_destination_mtimes(tmp_path):
    report = ValidateTuningDatasetOperator(
        task_id="v", source=pairs(40), backend="vertex_ai", staging_uri=str(tmp_path / "s")
    ).execute({})
    dest = f"file://{tmp_path}/dest"
    upload_dataset(report, dest)
    train = next((tmp_path / "dest").rglob("train.jsonl"))
    before = os.stat(train).st_mtime_ns
    assert not UploadTuningDatasetOperator(task_id="u", dataset=json.dumps(report), destination_uri=dest).execute({})[
        "uploaded"
    ]
    assert os.stat(train).st_mtime_ns == before


def test_upload_vertex_to_gs_emulator(tmp_path):
    emulator = pytest.importorskip("gemini_tuning.emulator.gcs")
    emulator.register_gcs_emulator(tmp_path / "gcs")
    report = ValidateTuningDatasetOperator(
        task_id="v", source=pairs(30), backend="vertex_ai", staging_uri=str(tmp_path / "s")
    ).execute({})
    first = upload_dataset(report, "gs://bucket/prefix")
    assert first["uploaded"] and first["training_dataset_uri"].startswith("gs://bucket/prefix/")
    assert not upload_dataset(report, "gs://bucket/prefix")["uploaded"]


def test_both_operators_in_dag_test(airflow_db, tmp_path):
    from airflow.sdk import DAG, task

    src = tmp_path / "data.jsonl"
    src.write_text("".join(json.dumps(p) + "\n" for p in pairs(30)) + "not json\n")
    result_file = tmp_path / "result.json"
    with DAG("dataset_ops_test", schedule=None, start_date=START, catchup=False) as dag:
        validate = ValidateTuningDatasetOperator(
            task_id="validate",
            source="{{ params.src }}",
            backend="vertex_ai",
            on_invalid="skip",
            validation_fraction=0.2,
            staging_uri=str(tmp_path / "staging"),
            params={"src": str(src)},
        )
        upload = UploadTuningDatasetOperator(
            task_id="upload", dataset=validate.output, destination_uri=f"file://{tmp_path}/bucket"
        )

        @task
        def record(report: dict, uploaded: dict) -> None:
            result_file.write_text(json.dumps({"report": report, "uploaded": uploaded}))

        record(validate.output, upload.output)

    dr = run_dag_test(dag)
    assert dr.state == "success"
    result = json.loads(result_file.read_text())
    report, uploaded = result["report"], result["uploaded"]
    assert (report["total"], report["valid"], report["rejected"]) == (31, 30, 1)
    assert report["rejects_uri"] and report["source"] == str(src)
    assert uploaded["uploaded"] and uploaded["sha256"] == report["sha256"]
    assert Path(uploaded["training_dataset_uri"][7:]).exists()
    assert uploaded["example_count"] + uploaded["validation_example_count"] == 30


def test_validate_failure_in_dag_test(airflow_db, tmp_path):
    from airflow.sdk import DAG

    with DAG("dataset_ops_fail", schedule=None, start_date=START, catchup=False) as dag:
        ValidateTuningDatasetOperator(task_id="validate", source=pairs(5), staging_uri=str(tmp_path))
    dr = run_dag_test(dag)
    assert dr.state == "failed"
