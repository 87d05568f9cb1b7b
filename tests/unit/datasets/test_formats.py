from __future__ import annotations

import pytest

from gemini_tuning.datasets import to_backend, to_text_pair
from gemini_tuning.datasets.formats import contents_example, text_pair_example
from gemini_tuning.exceptions import InvalidInputError


def test_gemini_to_vertex_round_trip():
    example = text_pair_example("1", "2")
    vertex = to_backend(example, "vertex_ai")
    assert vertex == {
        "contents": [{"role": "user", "parts": [{"text": "1"}]}, {"role": "model", "parts": [{"text": "2"}]}]
    }
    assert to_backend(vertex, "gemini_api") == example


def test_text_input_camel_case_and_text_pair():
    assert to_text_pair({"textInput": "a", "output": "b"}) == ("a", "b")
    assert to_text_pair(contents_example("a", "b")) == ("a", "b")


def test_multi_part_turns_are_concatenated():
    example = {
        "contents": [
            {"role": "user", "parts": [{"text": "a"}, {"text": "b"}]},
            {"role": "model", "parts": [{"text": "c"}]},
        ]
    }
    assert to_text_pair(example) == ("ab", "c")


@pytest.mark.parametrize(
    "example, message",
    [
        (
            {"contents": [{"role": "user", "parts": [{"text": "a"}]}, {"role": "model", "parts": [{"text": "b"}]}] * 2},
            "not a single-turn",
        ),
        (contents_example("a", "b", system_instruction="be brief"), "systemInstruction"),
        ({"foo": 1}, "not a tuning example"),
    ],
)
def test_to_text_pair_refuses_what_is_not_a_pair(example, message):
    with pytest.raises(InvalidInputError, match=message):
        to_text_pair(example)


def test_unknown_backend():
    with pytest.raises(InvalidInputError, match="Unknown backend .openai.; expected one of: gemini_api, vertex_ai"):
        to_backend({"text_input": "a", "output": "b"}, "openai")
