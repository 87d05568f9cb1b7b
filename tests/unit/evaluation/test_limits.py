"""Tuned-model limits are checked before anything is sent."""

from __future__ import annotations

import pytest

from gemini_tuning.backends import capabilities_for
from gemini_tuning.evaluation.examples import EvalExample
from gemini_tuning.evaluation.limits import TunedModelLimitError, check_tuned_model_request, config_problems
from gemini_tuning.exceptions import InvalidInputError

GEMINI = capabilities_for("gemini_api")
VERTEX = capabilities_for("vertex_ai")


def ex(line, text="hi", **kw):
    return EvalExample(line - 1, line, text, "out", **kw)


def test_ok_examples_pass():
    check_tuned_model_request([ex(1), ex(2, "x" * 40_000)], {"temperature": 0}, GEMINI)


def test_long_input_names_the_line():
    with pytest.raises(TunedModelLimitError) as err:
        check_tuned_model_request([ex(1), ex(2, "x" * 40_001)], None, GEMINI, source="val.jsonl")
    assert "val.jsonl line 2: input is 40,001 characters" in str(err.value)
    assert "at most 40,000" in str(err.value) and "(Gemini API)" in str(err.value)
    assert isinstance(err.value, InvalidInputError)  # not retried


@pytest.mark.parametrize(
    "config",
    [
        {"system_instruction": "be brief"},
        {"systemInstruction": "be brief"},
        {"response_mime_type": "application/json"},
        {"responseMimeType": "application/json"},
        {"response_schema": {"type": "OBJECT"}},
        {"response_modalities": ["IMAGE"]},
    ],
)
def test_gemini_api_config_limits(config):
    with pytest.raises(TunedModelLimitError, match="tunedModels/x"):
        check_tuned_model_request([ex(1)], config, GEMINI, model="tunedModels/x")


def test_vertex_allows_system_instruction_and_json_but_not_images():
    assert config_problems({"system_instruction": "s", "response_mime_type": "application/json"}, VERTEX) == []
    assert config_problems({"response_modalities": ["TEXT"]}, GEMINI) == []
    assert config_problems({"response_modalities": ["TEXT", "IMAGE"]}, VERTEX)
    check_tuned_model_request([ex(1, "x" * 50_000, system_instruction="s")], None, VERTEX)


def test_example_level_system_instruction_and_non_text():
    examples = [ex(3, system_instruction="sys"), ex(4, non_text=("inlineData",))]
    with pytest.raises(TunedModelLimitError) as err:
        check_tuned_model_request(examples, None, GEMINI)
    message = str(err.value)
    assert "example 3: has a system instruction" in message
    assert "example 4: has non-text parts (inlineData)" in message
    with pytest.raises(TunedModelLimitError, match="non-text"):
        check_tuned_model_request(examples, None, VERTEX)


def test_many_problems_are_capped():
    with pytest.raises(TunedModelLimitError, match=r"and 15 more examples"):
        check_tuned_model_request([ex(i, "x" * 40_001) for i in range(1, 26)], None, GEMINI)
