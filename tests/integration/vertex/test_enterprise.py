"""Vertex AI enterprise fields (service account, CMEK, tuning mode) sent and echoed; mistakes caught locally."""

from __future__ import annotations

import pytest

from gemini_tuning.backends.genai_private import rest
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.hooks.gemini_tuning import GeminiTuningHook
from gemini_tuning.operators.tuning import CreateTuningJobOperator
from tests.helpers import next_number_examples, stat
from tests.integration.operators.test_tuning_operators import FakeTI
from tests.integration.vertex.helpers import vertex_op

SA = "tuning-sa@demo-project.iam.gserviceaccount.com"
KEY = "projects/demo-project/locations/us-central1/keyRings/ring/cryptoKeys/key"


def make_op(conn_id, emulator, **kwargs):
    kwargs.setdefault("epoch_count", 1)
    return vertex_op(conn_id, emulator, key="e", **kwargs)


@pytest.mark.parametrize("mode", ["full", "adapter"])
def test_fields_reach_the_service_and_come_back(vertex_conn, emulator, mode):
    summary = make_op(vertex_conn, emulator, service_account=SA, kms_key_name=KEY, tuning_mode=mode).execute(
        {"ti": FakeTI()}
    )
    job = GeminiTuningHook(vertex_conn).get_tuning_job(summary["job_name"])
    assert (job.service_account, job.kms_key_name, job.tuning_mode) == (SA, KEY, mode)
    assert (job.hyperparameters.adapter_size is None) == (mode == "full")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"service_account": "not-an-email"}, "`service_account` 'not-an-email' is not a service account email"),
        ({"kms_key_name": "my-key"}, "`kms_key_name` 'my-key' is not a Cloud KMS key"),
        ({"kms_key_name": KEY.replace("us-central1", "europe-west4")}, "needs a key in the job's own region"),
        ({"tuning_mode": "lora"}, "`tuning_mode` must be `full` or `adapter`"),
        ({"tuning_mode": "full", "adapter_size": 4}, "full tuning (`tuning_mode='full'`) takes none"),
    ],
)
def test_mistakes_fail_before_any_request(vertex_conn, emulator, kwargs, message):
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_op(vertex_conn, emulator, **kwargs).execute({"ti": FakeTI()})
    assert stat(emulator, "requests") == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"service_account": SA}, "`service_account` is not supported by Gemini API"),
        ({"tuning_mode": "full"}, "`tuning_mode` is not supported by Gemini API"),
        ({"labels": {"team": "search"}}, "`labels` are not supported by Gemini API"),
    ],
)
def test_gemini_api_rejects_vertex_fields_and_labels(gemini_conn, emulator, kwargs, message):
    op = CreateTuningJobOperator(
        task_id="t", training_dataset=next_number_examples(20), gemini_conn_id=gemini_conn, **kwargs
    )
    with pytest.raises(InvalidInputError, match=message):
        op.execute({"ti": FakeTI()})
    assert stat(emulator, "jobs_created") == 0


def test_what_the_job_creates_is_encrypted_with_the_key(vertex_conn, emulator):
    summary = make_op(vertex_conn, emulator, kms_key_name=KEY, epoch_count=2).execute({"ti": FakeTI()})
    client = GeminiTuningHook(vertex_conn).client
    assert rest(client, "get", summary["tuned_model"])["encryptionSpec"] == {"kmsKeyName": KEY}
    assert len(summary["checkpoints"]) == 2
    for checkpoint in summary["checkpoints"]:  # every checkpoint's endpoint, not only the default one
        assert rest(client, "get", checkpoint["endpoint"])["encryptionSpec"] == {"kmsKeyName": KEY}


def test_a_pre_tuned_model_of_another_region_fails_before_any_request(vertex_conn, emulator):
    op = make_op(vertex_conn, emulator, pre_tuned_model="projects/demo-project/locations/europe-west4/models/1@1")
    with pytest.raises(InvalidInputError, match="model in 'europe-west4'.*tunes in 'us-central1'"):
        op.execute({"ti": FakeTI()})
    assert stat(emulator, "requests") == 0
