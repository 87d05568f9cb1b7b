"""``tuning_job_config=``: checked against google-genai's CreateTuningJobConfig before any request."""

from __future__ import annotations

import pytest

from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.tuning_config import check_tuning_job_config


def test_fields_the_provider_does_not_name_pass_through_in_snake_case():
    values = check_tuning_job_config(
        {"export_last_checkpoint_only": True, "outputUri": "gs://b/out", "encryption_spec": {"kms_key_name": "k"}},
        "vertex_ai",
    )
    assert values["export_last_checkpoint_only"] is True
    assert values["output_uri"] == "gs://b/out"  # camelCase accepted, returned as the SDK's field name
    assert values["encryption_spec"] == {"kms_key_name": "k"}


def test_json_text_is_accepted():
    assert check_tuning_job_config('{"export_last_checkpoint_only": false}', "vertex_ai") == {
        "export_last_checkpoint_only": False
    }


@pytest.mark.parametrize("empty", [None, {}])
def test_nothing_given_is_nothing(empty):
    assert check_tuning_job_config(empty, "gemini_api") == {}


def test_an_unknown_field_is_named():
    with pytest.raises(InvalidInputError, match=r"export_last_checkpoint: Extra inputs are not permitted"):
        check_tuning_job_config({"export_last_checkpoint": True}, "vertex_ai")


def test_a_wrong_value_is_named():
    with pytest.raises(InvalidInputError, match=r"`tuning_job_config` is not a valid CreateTuningJobConfig: beta"):
        check_tuning_job_config({"beta": "high"}, "vertex_ai")


@pytest.mark.parametrize(
    ("field", "argument"),
    [("epoch_count", "epoch_count"), ("tuned_model_display_name", "display_name"), ("labels", "labels")],
)
def test_fields_an_operator_argument_sets_are_refused(field, argument):
    value = {"epoch_count": 3, "tuned_model_display_name": "x", "labels": {"a": "b"}}[field]
    with pytest.raises(InvalidInputError, match=f"sets `{field}`; use the operator's `{argument}`"):
        check_tuning_job_config({field: value}, "vertex_ai")


def test_the_gemini_api_takes_no_config():
    with pytest.raises(InvalidInputError, match="gemini_api backend takes only the operator's own arguments"):
        check_tuning_job_config({"export_last_checkpoint_only": True}, "gemini_api")


def test_not_a_dict():
    with pytest.raises(InvalidInputError, match="must be a dict, got list"):
        check_tuning_job_config([1], "vertex_ai")
