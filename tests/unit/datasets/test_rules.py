"""Every per-example rule and its message, through the engine so line numbers and fields are checked too."""

from __future__ import annotations

import pytest

from gemini_tuning.backends import capabilities_for
from gemini_tuning.datasets.engine import Options, validate_dataset
from gemini_tuning.datasets.rules import dataset_checks, template_fields
from tests.dataset_helpers import pairs

U, M = "user", "model"


def turn(role, *texts):
    return {"role": role, "parts": [{"text": t} for t in texts]}


def problems_of(record, backend="gemini_api", **options):
    report = validate_dataset([record], Options(backend=backend, **options))
    return [(p["line"], p["field"], p["message"]) for p in report["problems"] if p["field"] != "dataset"]


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"output": "b"}, [("text_input", "missing field")]),
        ({"text_input": "a"}, [("output", "missing field")]),
        ({"text_input": 5, "output": "b"}, [("text_input", "must be a string, got number")]),
        ({"text_input": "a", "output": None}, [("output", "missing field")]),
        ({"text_input": "a", "output": ["b"]}, [("output", "must be a string, got array")]),
        ({"text_input": "   \n", "output": "b"}, [("text_input", "is empty or whitespace-only")]),
        ({"text_input": "a", "output": ""}, [("output", "is empty or whitespace-only")]),
        ({"text_input": "a\x07b", "output": "b"}, [("text_input", "contains control character U+0007 at character 2")]),
        ({"text_input": "a", "output": "b\x7f"}, [("output", "contains control character U+007F at character 2")]),
        (
            {"text_input": "x" * 40_001, "output": "b"},
            [("text_input", "is 40,001 characters; the Gemini API limit is 40,000")],
        ),
        (
            {"text_input": "a", "output": "y" * 5_001},
            [("output", "is 5,001 characters; the Gemini API limit is 5,000")],
        ),
        ({"textInput": 1, "output": "b"}, [("textInput", "must be a string, got number")]),
        ({"foo": "bar"}, [("record", 'expected "text_input" and "output" fields, or "contents"')]),
        (["a", "b"], [("record", "must be a JSON object, got array")]),
    ],
)
def test_text_pair_rules(record, expected):
    assert problems_of(record) == [(1, f, m) for f, m in expected]


def test_tabs_and_newlines_are_fine_and_limits_are_inclusive():
    assert problems_of({"text_input": "a\tb\r\nc" + "x" * 39_994, "output": "y" * 5_000}) == []


def test_vertex_has_no_character_limits():
    assert problems_of({"text_input": "x" * 50_000, "output": "y" * 9_000}, backend="vertex_ai") == []


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"contents": []}, [("contents", "must be a non-empty list of turns")]),
        (
            {"contents": [turn(U, "a"), turn(U, "b")]},
            [
                ("contents[1].role", 'roles must alternate starting with "user": expected "model", got "user"'),
                ("contents", 'the last turn must be "model", got "user"'),
            ],
        ),
        (
            {"contents": [turn(M, "a"), turn(U, "b"), turn(M, "c")]},
            [
                ("contents[0].role", 'roles must alternate starting with "user": expected "user", got "model"'),
            ],
        ),
        (
            {"contents": [turn("assistant", "a"), turn(M, "b")]},
            [("contents[0].role", 'must be "user" or "model", got "assistant"')],
        ),
        ({"contents": [turn(U, "a")]}, [("contents", 'the last turn must be "model", got "user"')]),
        (
            {"contents": [turn(U, "a"), {"role": M, "parts": [{"inlineData": {"mimeType": "image/png"}}]}]},
            [("contents[1].parts[0]", "only text parts are supported, got inlineData")],
        ),
        (
            {"contents": [turn(U, "a"), {"role": M, "parts": []}]},
            [("contents[1].parts", "must be a non-empty list of text parts")],
        ),
        ({"contents": [turn(U, " "), turn(M, "b")]}, [("contents[0].parts[0].text", "is empty or whitespace-only")]),
        (
            {"contents": [turn(U, "a\x00"), turn(M, "b")]},
            [("contents[0].parts[0].text", "contains control character U+0000 at character 2")],
        ),
        ({"contents": [turn(U, "a"), turn(M, 3)]}, [("contents[1].parts[0].text", "must be a string, got number")]),
        ({"contents": ["x", turn(M, "b")]}, [("contents[0]", "must be an object, got string")]),
        (
            {"contents": [turn(U, "a"), turn(M, "b")], "systemInstruction": "x"},
            [("systemInstruction", "must be an object, got string")],
        ),
    ],
)
def test_vertex_rules(record, expected):
    assert problems_of(record, backend="vertex_ai") == [(1, f, m) for f, m in expected]


def test_vertex_multi_turn_and_system_instruction_are_valid_for_vertex():
    record = {
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "contents": [turn(U, "a"), turn(M, "b"), turn(U, "c"), turn(M, "d")],
    }
    assert problems_of(record, backend="vertex_ai") == []


def test_vertex_only_features_rejected_for_gemini_api():
    multi = {"contents": [turn(U, "a"), turn(M, "b"), turn(U, "c"), turn(M, "d")]}
    assert problems_of(multi) == [
        (1, "contents", "has 4 turns; only single-turn (user, model) examples convert to the Gemini API format")
    ]
    system = {"contents": [turn(U, "a"), turn(M, "b")], "systemInstruction": {"parts": [{"text": "x"}]}}
    assert problems_of(system) == [
        (
            1,
            "systemInstruction",
            "is not supported by Gemini API tuning (tuned models do not support system instructions)",
        )
    ]
    too_long = {"contents": [turn(U, "x" * 40_001), turn(M, "b")]}
    assert problems_of(too_long) == [(1, "contents[0].parts", "is 40,001 characters; the Gemini API limit is 40,000")]


def test_prompt_template_rules():
    t = "question: {question}\ncontext: {context}"
    assert problems_of({"question": "q", "output": "a"}, prompt_template=t) == [
        (1, "context", "missing field required by prompt_template placeholder {context}")
    ]
    assert problems_of({"question": 1, "context": "c", "output": "a"}, prompt_template=t) == [
        (1, "question", "must be a string for prompt_template placeholder {question}, got number")
    ]
    assert problems_of({"question": "q", "context": "c", "output": "a"}, prompt_template=t) == []


@pytest.mark.parametrize(
    "template, message",
    [
        ("no placeholder", "has no placeholder"),
        ("bad {", "invalid prompt_template"),
        ("{}", "is not supported"),
        ("{a.b}", "is not supported"),
    ],
)
def test_bad_templates(template, message):
    with pytest.raises(ValueError, match=message):
        template_fields(template)


def test_dataset_checks_gemini():
    gemini = capabilities_for("gemini_api")
    errors, warnings = dataset_checks(gemini, train_count=19, validation_count=0, train_bytes=10)
    assert errors == ["19 training examples; Gemini API tuning needs at least 20"] and warnings == []
    errors, warnings = dataset_checks(gemini, train_count=20, validation_count=0, train_bytes=4_000_001)
    assert errors == [
        "the training data is 4,000,001 bytes; the Gemini API inline upload limit is 4 MB (4,000,000 bytes)"
    ]
    assert warnings == ["only 20 training examples; 100-500 are recommended"]
    assert dataset_checks(gemini, train_count=100, validation_count=0, train_bytes=4_000_000) == ([], [])


def test_dataset_checks_vertex():
    vertex = capabilities_for("vertex_ai")
    errors, _ = dataset_checks(vertex, train_count=1_000_001, validation_count=5_001, train_bytes=1_000_000_001)
    assert errors == [
        "1,000,001 training examples; Vertex AI tuning accepts at most 1,000,000",
        "5,001 validation examples; Vertex AI tuning accepts at most 5,000",
        "the training data is 1,000,000,001 bytes; the Vertex AI training file limit is 1 GB (1,000,000,000 bytes)",
    ]
    assert dataset_checks(vertex, train_count=0, validation_count=0, train_bytes=0)[0] == [
        "0 training examples; Vertex AI tuning needs at least 1"
    ]
    assert dataset_checks(vertex, train_count=1, validation_count=5_000, train_bytes=1_000_000_000) == ([], [])


def test_minimum_examples_through_the_engine():
    report = validate_dataset(pairs(19))
    assert not report["ok"]
    assert report["problems"][-1] == {
        "path": "<inline>",
        "line": 0,
        "field": "dataset",
        "message": "19 training examples; Gemini API tuning needs at least 20",
    }
    report = validate_dataset(pairs(20))
    assert report["ok"] and report["warnings"] == ["only 20 training examples; 100-500 are recommended"]
