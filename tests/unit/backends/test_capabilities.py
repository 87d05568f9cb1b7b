"""Backend capabilities and the checks every spec goes through before any request (no emulator)."""

from __future__ import annotations

import dataclasses

import pytest

from gemini_tuning.backends import (
    BACKEND_NAMES,
    Capabilities,
    backend_for,
    capabilities_for,
    normalize_backend_name,
)
from gemini_tuning.connection import ConnectionSettings
from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.models import Hyperparameters, TuningJobSpec

EXAMPLES = [{"text_input": str(i), "output": str(i + 1)} for i in range(30)]


def test_every_backend_has_frozen_capabilities():
    assert BACKEND_NAMES == ("gemini_api", "vertex_ai")
    for name in BACKEND_NAMES:
        caps = capabilities_for(name)
        assert isinstance(caps, Capabilities) and caps.name == name
        with pytest.raises(dataclasses.FrozenInstanceError):
            caps.name = "other"  # type: ignore[misc]


def test_capabilities_answer_the_questions_the_code_asks():
    gemini, vertex = capabilities_for("gemini_api"), capabilities_for("vertex_ai")
    assert (gemini.display_name_max, vertex.display_name_max) == (40, 128)
    assert (gemini.staging, vertex.staging) == ("inline", "gcs")
    assert (gemini.labels, vertex.labels) == (False, True)
    assert (gemini.cancel, vertex.cancel) == ("delete", "cancel")
    assert gemini.limits.max_input_chars == 40_000 and gemini.limits.max_output_chars == 5_000
    assert gemini.limits.max_training_bytes == 4_000_000 and vertex.limits.max_training_bytes == 1_000_000_000
    assert vertex.limits.max_input_chars is None
    assert vertex.adapter_sizes == (1, 2, 4, 8, 16, 32) and gemini.adapter_sizes == ()


@pytest.mark.parametrize("value", ["vertex", "openai", "gemini"])
def test_unknown_backend_is_one_line(value):
    with pytest.raises(InvalidInputError) as info:
        ConnectionSettings(backend=value)
    assert str(info.value) == f"Unknown backend {value!r}; expected one of: gemini_api, vertex_ai."


def test_backend_names_are_normalized():
    assert normalize_backend_name("Vertex-AI ") == "vertex_ai"
    assert normalize_backend_name(None) == "gemini_api"


def _check(backend: str, **fields):
    settings = ConnectionSettings(backend=backend, api_key="k", project="p")
    spec = {"base_model": "models/gemini-1.5-flash-001-tuning", "training_examples": EXAMPLES, **fields}
    if backend == "vertex_ai":
        spec.update(base_model="gemini-2.0-flash-001", training_examples=None, training_dataset_uri="gs://b/t.jsonl")
    spec.update(fields)
    backend_for(settings).check_spec(TuningJobSpec(**spec))


def test_adapter_size_accepts_the_sdk_enum_spelling():
    from google.genai import types

    assert Hyperparameters.parse(adapter_size="ADAPTER_SIZE_FOUR").adapter_size == 4
    assert Hyperparameters.parse(adapter_size=types.AdapterSize.ADAPTER_SIZE_EIGHT).adapter_size == 8
    assert Hyperparameters.parse(adapter_size="16").adapter_size == 16
    _check("vertex_ai", hyperparameters=Hyperparameters.parse(adapter_size="ADAPTER_SIZE_FOUR"))


def test_fractional_epoch_count_is_one_line():
    with pytest.raises(InvalidInputError) as info:
        Hyperparameters.parse(epoch_count=2.5)
    assert str(info.value) == "`epoch_count` must be a whole number, got 2.5."


def test_batch_size_larger_than_the_training_set_is_refused():
    with pytest.raises(InvalidInputError, match="`batch_size` is 64 but the training set has only 30 examples"):
        _check("gemini_api", hyperparameters=Hyperparameters(batch_size=64), example_count=30)


def test_publisher_model_names_are_refused_on_the_gemini_api():
    with pytest.raises(InvalidInputError, match="`publishers/google/models/...` names are Vertex AI's"):
        _check("gemini_api", base_model="publishers/google/models/gemini-2.0-flash-001")


def test_display_name_longer_than_the_service_takes():
    _check("vertex_ai", display_name="x" * 128)
    with pytest.raises(InvalidInputError, match="`display_name` is 41 characters; Gemini API accepts at most 40"):
        _check("gemini_api", display_name="x" * 41)


def test_labels_are_refused_where_jobs_have_none():
    _check("vertex_ai", labels={"team": "a"})
    with pytest.raises(InvalidInputError, match="`labels` are not supported by Gemini API"):
        _check("gemini_api", labels={"team": "a"})
