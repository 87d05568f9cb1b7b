"""``tuning_job_config=``: checked against google-genai's CreateTuningJobConfig before any request."""

from __future__ import annotations

import pytest

from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.tuning_config import check_tuning_job_config


def test_fields_the_provider_does_not_name_pass_through_in_snake_case():
    values = check_tuning_job_config(
        {"outputUri": "gs://b/out", "custom_base_model": "gs://b/model", "evaluation_config": {"metrics": []}},
        "vertex_ai",
    )
    assert values["output_uri"] == "gs://b/out"  # camelCase accepted, returned as the SDK's field name
    assert values["custom_base_model"] == "gs://b/model"
    assert values["evaluation_config"] == {"metrics": []}


def test_json_text_is_accepted():
    assert check_tuning_job_config('{"output_uri": "gs://b/out"}', "vertex_ai") == {"output_uri": "gs://b/out"}


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
    [
        ("epoch_count", "epoch_count"),
        ("tuned_model_display_name", "display_name"),
        ("labels", "labels"),
        ("export_last_checkpoint_only", "export_last_checkpoint_only"),
        ("encryption_spec", "kms_key_name"),
    ],
)
def test_fields_an_operator_argument_sets_are_refused(field, argument):
    values = {"epoch_count": 3, "tuned_model_display_name": "x", "labels": {"a": "b"}}
    value = {**values, "export_last_checkpoint_only": True, "encryption_spec": {"kms_key_name": "k"}}[field]
    with pytest.raises(InvalidInputError, match=f"sets `{field}`; use the operator's `{argument}`"):
        check_tuning_job_config({field: value}, "vertex_ai")


def test_the_gemini_api_takes_no_config():
    with pytest.raises(InvalidInputError, match="gemini_api backend takes only the operator's own arguments"):
        check_tuning_job_config({"output_uri": "gs://b/out"}, "gemini_api")


def test_not_a_dict():
    with pytest.raises(InvalidInputError, match="must be a dict, got list"):
        check_tuning_job_config([1], "vertex_ai")
