"""Vertex AI enterprise fields (service account, CMEK key, tuning mode) and regions, checked before any request."""

from __future__ import annotations

import pytest

from gemini_tuning.backends.genai_private import rest
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.operators.tuning import CreateTuningJobOperator
from tests.helpers import next_number_examples, stat, write_vertex_dataset
from tests.integration.operators.test_tuning_operators import FakeTI

ACCOUNT = "tuning-runner@demo-project.iam.gserviceaccount.com"
KEY = "projects/keys-project/locations/us-central1/keyRings/tuning/cryptoKeys/models"


def tune(conn_id, emulator, wait=True, **kwargs):
    kwargs.setdefault("base_model", None if kwargs.get("pre_tuned_model") else "gemini-2.0-flash-001")
    return CreateTuningJobOperator(
        task_id="tune",
        training_dataset=write_vertex_dataset(emulator.gcs_root, next_number_examples(40), "enterprise.jsonl"),
        epoch_count=2,
        poll_interval=0.02,
        wait_for_completion=wait,
        gemini_conn_id=conn_id,
        **kwargs,
    ).execute({"ti": FakeTI(task_id="tune")})


def test_full_tuning_as_a_service_account_with_cmek_is_sent_and_echoed(vertex_conn, emulator):
    summary = tune(vertex_conn, emulator, service_account=ACCOUNT, kms_key_name=KEY, tuning_mode="full")
    hook = GeminiTuningHook(vertex_conn)
    job = hook.get_tuning_job(summary["job_name"])
    assert (job.service_account, job.kms_key_name, job.tuning_mode) == (ACCOUNT, KEY, "TUNING_MODE_FULL")
    assert job.hyperparameters.adapter_size is None  # full tuning has no adapter
    model = rest(hook.client, "get", summary["tuned_model"])
    assert model["encryptionSpec"] == {"kmsKeyName": KEY}  # what the job created is encrypted with the key
    for checkpoint in summary["checkpoints"]:
        assert rest(hook.client, "get", checkpoint["endpoint"])["encryptionSpec"] == {"kmsKeyName": KEY}


def test_adapter_tuning_keeps_its_adapter_size(vertex_conn, emulator):
    job = tune(vertex_conn, emulator, wait=False, tuning_mode="ADAPTER", adapter_size=8)
    assert (job["tuning_mode"], job["hyperparameters"]["adapter_size"]) == ("TUNING_MODE_PEFT_ADAPTER", 8)
    assert job["service_account"] is None and job["kms_key_name"] is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"service_account": "runner@demo-project"}, "`service_account` 'runner@demo-project' is not a service"),
        ({"service_account": "Runner@demo-project.iam.gserviceaccount.com"}, "NAME@PROJECT.iam.gserviceaccount"),
        ({"kms_key_name": "projects/p/keyRings/r/cryptoKeys/k"}, "is not a Cloud KMS key name"),
        ({"kms_key_name": KEY.replace("us-central1", "europe-west4")}, "key in 'europe-west4'.*'us-central1'"),
        ({"tuning_mode": "full", "adapter_size": 4}, "`adapter_size` applies to adapter tuning only"),
        ({"tuning_mode": "lora"}, "`tuning_mode` must be 'full' or 'adapter'"),
        (
            {"pre_tuned_model": "projects/demo-project/locations/europe-west4/models/1@1"},
            "model in 'europe-west4'.*tunes in 'us-central1'",
        ),
    ],
)
def test_bad_fields_fail_before_any_request(vertex_conn, emulator, fields, message):
    with pytest.raises(InvalidInputError, match=message):
        tune(vertex_conn, emulator, **fields)
    assert stat(emulator, "jobs_created") == 0
    assert not any("tuningJobs" in path for path in emulator.stats()["requests"])


@pytest.mark.parametrize("field", ["service_account", "kms_key_name", "tuning_mode"])
def test_the_gemini_api_refuses_them_before_any_request(gemini_conn, emulator, field):
    value = {"service_account": ACCOUNT, "kms_key_name": KEY, "tuning_mode": "full"}[field]
    op = CreateTuningJobOperator(
        task_id="t", training_dataset=next_number_examples(20), gemini_conn_id=gemini_conn, **{field: value}
    )
    with pytest.raises(InvalidInputError, match=f"`{field}` is not supported by Gemini API"):
        op.execute({"ti": FakeTI()})
    assert stat(emulator, "jobs_created") == 0
