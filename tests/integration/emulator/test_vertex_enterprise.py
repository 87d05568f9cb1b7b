"""Vertex enterprise submission fields: serviceAccount, encryptionSpec.kmsKeyName (CMEK), tuningMode.

google-genai has ``encryption_spec`` and ``tuning_mode`` in ``CreateTuningJobConfig``; it has no
service account field, so the test sends it with ``HttpOptions.extra_body``.
"""

from __future__ import annotations

import pytest
from google.genai import errors, types

TRAIN = "gs://bucket/train.jsonl"
LOC = "projects/p/locations/us-central1"
KEY = "projects/p/locations/us-central1/keyRings/ring/cryptoKeys/key"
ACCOUNT = "tuner-sa@my-project.iam.gserviceaccount.com"


def _tune(vertex, **config):
    return vertex.tunings.tune(
        base_model="gemini-2.0-flash-001",
        training_dataset=types.TuningDataset(gcs_uri=TRAIN),
        config=types.CreateTuningJobConfig(epoch_count=1, **config),
    )


def test_fields_are_accepted_and_echoed(vertex, vhttp, clock):
    job = _tune(
        vertex,
        encryption_spec=types.EncryptionSpec(kms_key_name=KEY),
        tuning_mode=types.TuningMode.TUNING_MODE_FULL,
        http_options=types.HttpOptions(extra_body={"serviceAccount": ACCOUNT}),
    )
    assert job.service_account == ACCOUNT
    assert job.encryption_spec.kms_key_name == KEY
    assert job.supervised_tuning_spec.tuning_mode == types.TuningMode.TUNING_MODE_FULL
    assert job.supervised_tuning_spec.hyper_parameters.adapter_size is None  # full tuning has no adapter
    clock.advance(60)
    done = vertex.tunings.get(name=job.name)
    assert (done.service_account, done.encryption_spec.kms_key_name) == (ACCOUNT, KEY)
    # The resources the job creates are encrypted with the same key.
    assert vhttp.get(f"/v1beta1/{done.tuned_model.model}").json()["encryptionSpec"] == {"kmsKeyName": KEY}
    assert vhttp.get(f"/v1beta1/{done.tuned_model.endpoint}").json()["encryptionSpec"] == {"kmsKeyName": KEY}


def test_adapter_mode_keeps_the_adapter_size(vertex):
    job = _tune(vertex, tuning_mode=types.TuningMode.TUNING_MODE_PEFT_ADAPTER, adapter_size="ADAPTER_SIZE_EIGHT")
    assert job.supervised_tuning_spec.tuning_mode == types.TuningMode.TUNING_MODE_PEFT_ADAPTER
    assert job.supervised_tuning_spec.hyper_parameters.adapter_size == types.AdapterSize.ADAPTER_SIZE_EIGHT
    plain = _tune(vertex)
    assert plain.service_account is None and plain.encryption_spec is None
    assert plain.supervised_tuning_spec.tuning_mode is None


@pytest.mark.parametrize(
    "fields, fragment",
    [
        ({"serviceAccount": "not-an-email"}, "serviceAccount: 'not-an-email' is not a service account email"),
        ({"serviceAccount": "someone@gmail.com"}, "is not a service account email"),
        ({"encryptionSpec": {"kmsKeyName": "my-key"}}, "encryptionSpec.kmsKeyName: 'my-key' is not a Cloud KMS key"),
        ({"encryptionSpec": {}}, "encryptionSpec.kmsKeyName: None is not a Cloud KMS key"),
        (
            {"encryptionSpec": {"kmsKeyName": KEY.replace("us-central1", "europe-west4")}},
            "the key is in 'europe-west4'; it must be in the TuningJob's region 'us-central1'",
        ),
        ({"supervisedTuningSpec": {"tuningMode": "TUNING_MODE_LORA"}}, "supervisedTuningSpec.tuningMode"),
        (
            {
                "supervisedTuningSpec": {
                    "tuningMode": "TUNING_MODE_FULL",
                    "hyperParameters": {"adapterSize": "ADAPTER_SIZE_FOUR"},
                }
            },
            "adapterSize applies to adapter tuning only",
        ),
        ({"tunedModelDisplayName": "x" * 129}, "at most 128 characters"),
    ],
)
def test_bad_values_are_invalid_argument(vhttp, fields, fragment):
    body = {"baseModel": "gemini-2.0-flash-001", "supervisedTuningSpec": {"trainingDatasetUri": TRAIN}}
    spec = fields.pop("supervisedTuningSpec", {})
    body["supervisedTuningSpec"].update(spec)
    body.update(fields)
    r = vhttp.post(f"/v1beta1/{LOC}/tuningJobs", json=body)
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert fragment in r.json()["error"]["message"]
    assert vhttp.get(f"/v1beta1/{LOC}/tuningJobs").json() == {}  # nothing was created


def test_sdk_reports_the_clear_message(vertex):
    with pytest.raises(errors.ClientError) as exc:
        _tune(vertex, encryption_spec=types.EncryptionSpec(kms_key_name="my-key"))
    assert exc.value.code == 400 and "encryptionSpec.kmsKeyName" in exc.value.message


def test_compute_default_service_account_is_accepted(vhttp):
    body = {
        "baseModel": "gemini-2.0-flash-001",
        "serviceAccount": "123456789-compute@developer.gserviceaccount.com",
        "supervisedTuningSpec": {"trainingDatasetUri": TRAIN},
    }
    assert vhttp.post(f"/v1beta1/{LOC}/tuningJobs", json=body).status_code == 200
