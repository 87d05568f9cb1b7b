"""A staging location only one worker can read is refused when the executor spreads tasks over workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.operators.dataset import UploadTuningDatasetOperator, ValidateTuningDatasetOperator
from gemini_tuning.staging_location import check_staging_location, executor_names, spreading_executors

CELERY = "airflow.providers.celery.executors.celery_executor.CeleryExecutor"


@pytest.fixture
def executor(monkeypatch):
    def configure(setting: str, shared: bool | None = None) -> None:
        monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", setting)
        if shared is not None:
            monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_IS_SHARED", str(shared))

    return configure


@pytest.mark.parametrize(
    ("setting", "names", "spreading"),
    [
        ("LocalExecutor", ["LocalExecutor"], []),
        (CELERY, ["CeleryExecutor"], ["CeleryExecutor"]),
        ("LocalExecutor, KubernetesExecutor", ["LocalExecutor", "KubernetesExecutor"], ["KubernetesExecutor"]),
        ("edge:airflow.providers.edge3.executors.EdgeExecutor", ["EdgeExecutor"], ["EdgeExecutor"]),
        ("my.company.PodExecutor", ["PodExecutor"], ["PodExecutor"]),  # unknown: assume it spreads
    ],
)
def test_executor_setting_is_parsed(setting, names, spreading):
    assert executor_names(setting) == names
    assert spreading_executors(setting) == spreading


@pytest.mark.parametrize(
    "uri", ["file:///srv/staging", "/srv/staging", "local:///srv/staging", "memory://staging", Path("/srv")]
)
@pytest.mark.parametrize("setting", [CELERY, "KubernetesExecutor", "LocalExecutor,CeleryExecutor", "EdgeExecutor"])
def test_a_local_staging_uri_is_refused_under_an_executor_that_spreads_tasks(executor, setting, uri):
    executor(setting)
    with pytest.raises(InvalidInputError) as raised:
        check_staging_location(uri)
    message = str(raised.value)
    assert "\n" not in message
    assert str(uri) in message
    assert "set [gemini_tuning] staging_uri to a gs://, s3:// or other shared location" in message
    assert "[gemini_tuning] staging_is_shared = True" in message


@pytest.mark.parametrize("uri", ["gs://bucket/staging", "s3://bucket/staging", "abfs://c/staging", None])
def test_object_storage_is_accepted_under_celery(executor, uri):
    executor(CELERY)
    check_staging_location(uri)


def test_a_local_staging_uri_is_fine_on_one_host(executor):
    executor("LocalExecutor")
    check_staging_location("file:///srv/staging")


def test_a_shared_filesystem_can_be_declared(executor):
    executor(CELERY, shared=True)
    check_staging_location("/mnt/nfs/staging")


def test_validate_refuses_local_staging_before_reading_anything(executor, tmp_path):
    executor(CELERY)
    operator = ValidateTuningDatasetOperator(
        task_id="validate", source=str(tmp_path / "missing.jsonl"), staging_uri=f"file://{tmp_path}/staging"
    )
    with pytest.raises(InvalidInputError, match=r"staging location file://.* one worker's local disk"):
        operator.execute({})
    assert not (tmp_path / "staging").exists()


def test_validate_uses_the_configured_default_staging(executor, monkeypatch):
    executor(CELERY)
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", "/var/lib/airflow/staging")
    operator = ValidateTuningDatasetOperator(task_id="validate", source=[{"text_input": "1", "output": "2"}])
    with pytest.raises(InvalidInputError, match="/var/lib/airflow/staging is on one worker's local disk"):
        operator.execute({})


def test_upload_refuses_a_dataset_staged_on_one_worker(executor):
    executor(CELERY)
    report = {
        "backend": "vertex_ai",
        "sha256": "0" * 64,
        "training_dataset_uri": "file:///tmp/x/train.jsonl",
        "train_count": 10,
    }
    operator = UploadTuningDatasetOperator(task_id="upload", dataset=report, destination_uri="gs://b/datasets")
    with pytest.raises(InvalidInputError, match=r"staged dataset file:///tmp/x/train.jsonl is on one worker"):
        operator.execute({})
