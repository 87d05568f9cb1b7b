"""``CheckpointChoice``: the checkpoint id ``SetDefaultCheckpointOperator`` promotes."""

from __future__ import annotations

import json

import pytest

from gemini_tuning.contracts.tuning import CheckpointChoice
from gemini_tuning.exceptions import InvalidInputError

#: the fields of an EvaluationSummary evaluated with checkpoints="all" (others elided)
EVALUATION = {
    "schema_version": 1,
    "model": "projects/p/locations/l/endpoints/3",
    "primary_metric": "normalized_exact_match",
    "checkpoints": [
        {"checkpoint_id": "1", "epoch": 1, "step": 10, "endpoint": "e1", "is_default": False, "metrics": {}},
        {"checkpoint_id": "2", "epoch": 2, "step": 20, "endpoint": "e2", "is_default": False, "metrics": {}},
    ],
    "best_checkpoint": {"checkpoint_id": "2", "epoch": 2, "step": 20, "endpoint": "e2", "is_default": False},
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, "2"),
        (" 3 ", "3"),
        (EVALUATION, "2"),
        (json.dumps(EVALUATION), "2"),
        (repr(EVALUATION), "2"),  # what a rendered {{ ti.xcom_pull() }} gives
        (EVALUATION["checkpoints"][0], "1"),
    ],
)
def test_an_id_or_the_chosen_checkpoint(value, expected):
    assert CheckpointChoice.checkpoint_id_of(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "`checkpoint_id` is empty"),
        ("", "`checkpoint_id` is empty"),
        ({**EVALUATION, "best_checkpoint": None}, 'without a `best_checkpoint`.*checkpoints="all"'),
        ({**EVALUATION, "schema_version": 99}, "schema_version 99"),
        ([1, 2], "must be a checkpoint id or evaluation summary"),
    ],
)
def test_what_names_no_checkpoint_is_one_clear_error(value, message):
    with pytest.raises(InvalidInputError, match=message):
        CheckpointChoice.checkpoint_id_of(value)
