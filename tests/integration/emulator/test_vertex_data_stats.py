"""tuningDataStats computed from the uploaded training file, read through google-genai."""

from __future__ import annotations

import json
import math

import pytest
from google.genai import errors, types

from tests.integration.emulator.conftest import QA

LIMIT = 60  # tokens per example, lowered for the test (the default is 131,072)


def _turn(role: str, text: str) -> dict:
    return {"role": role, "parts": [{"text": text}]}


def _rows() -> list[dict]:
    """8 examples: plain, with a system instruction, multi-turn, one too long, one with an empty answer."""
    rows = [{"contents": [_turn("user", q), _turn("model", a)]} for q, a in QA[:5]]
    rows.insert(1, {"systemInstruction": {"parts": [{"text": "Answer with a number."}]}, **rows[1]})
    rows[2]["contents"] = [_turn("user", "Hi"), _turn("model", "Hello"), _turn("user", "What is 2 plus one?")] + [
        _turn("model", "3")
    ]
    rows.append({"contents": [_turn("user", "x" * 400), _turn("model", "too long")]})  # example 7: 102 tokens
    rows.append({"contents": [_turn("user", "What is nothing?"), _turn("model", "  ")]})  # example 8: empty answer
    return rows


@pytest.fixture
def mixed(gcs_root, server):
    path = gcs_root / "bucket" / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _rows()) + "\n")  # a trailing blank line is skipped
    previous = server.state.settings.example_token_limit
    server.state.settings.example_token_limit = LIMIT
    yield "gs://bucket/mixed.jsonl"
    server.state.settings.example_token_limit = previous


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def _expected_tokens(rows: list[dict]) -> list[tuple[int, int]]:
    out = []
    for row in rows:
        system = "".join(p["text"] for p in row.get("systemInstruction", {}).get("parts", []))
        user = system + "".join(c["parts"][0]["text"] for c in row["contents"] if c["role"] == "user")
        model = "".join(c["parts"][0]["text"] for c in row["contents"] if c["role"] == "model")
        out.append((_tokens(user), _tokens(model)))
    return out


def _tune(vertex, uri: str, epochs: int):
    return vertex.tunings.tune(
        base_model="gemini-2.0-flash-001",
        training_dataset=types.TuningDataset(gcs_uri=uri),
        config=types.CreateTuningJobConfig(epoch_count=epochs),
    )


def test_stats_count_kept_and_dropped_examples(vertex, clock, mixed):
    job = _tune(vertex, mixed, epochs=3)
    clock.advance(1)
    stats = vertex.tunings.get(name=job.name).tuning_data_stats.supervised_tuning_data_stats
    kept = _rows()[:6]
    tokens = _expected_tokens(kept)
    assert stats.tuning_dataset_example_count == 8
    assert stats.total_truncated_example_count == 2
    assert stats.truncated_example_indices == [7, 8]  # 1-based, blank lines skipped
    too_long, empty = stats.dropped_example_reasons
    assert "Example 7 has 102 tokens" in too_long and str(LIMIT) in too_long
    assert "Example 8" in empty and "final model turn" in empty
    assert stats.tuning_step_count == math.ceil(6 / 4) * 3
    assert stats.total_billable_token_count == sum(i + o for i, o in tokens)
    characters = sum(len(p["text"]) for r in kept for c in r["contents"] for p in c["parts"]) + len(
        "Answer with a number."
    )
    assert stats.total_tuning_character_count == characters == stats.total_billable_character_count
    inputs = stats.user_input_token_distribution
    assert inputs.sum == sum(i for i, _ in tokens) == inputs.billable_sum
    assert (inputs.min, inputs.max) == (min(i for i, _ in tokens), max(i for i, _ in tokens))
    assert inputs.p5 <= inputs.median <= inputs.p95 and sum(b.count for b in inputs.buckets) == 6
    outputs = stats.user_output_token_distribution
    assert outputs.sum == sum(o for _, o in tokens)
    messages = stats.user_message_per_example_distribution
    assert (messages.min, messages.max, messages.sum) == (2, 4, 14)
    assert 0 < len(stats.user_dataset_examples) <= 10


def test_clean_file_has_no_dropped_fields(vhttp, clock):
    body = {
        "baseModel": "gemini-2.0-flash-001",
        "supervisedTuningSpec": {"trainingDatasetUri": "gs://bucket/train.jsonl"},
    }
    job = vhttp.post("/v1beta1/projects/p/locations/l/tuningJobs", json=body).json()
    clock.advance(1)
    stats = vhttp.get(f"/v1beta1/{job['name']}").json()["tuningDataStats"]["supervisedTuningDataStats"]
    # proto3 JSON leaves zero and empty fields out
    assert not {"totalTruncatedExampleCount", "truncatedExampleIndices", "droppedExampleReasons"} & set(stats)
    assert stats["tuningDatasetExampleCount"] == "12"


def test_dropped_examples_are_not_trained_on(vertex, clock, mixed):
    job = _tune(vertex, mixed, epochs=1)
    clock.advance(60)
    done = vertex.tunings.get(name=job.name)
    answer = vertex.models.generate_content(model=done.tuned_model.endpoint, contents="x" * 400)
    assert answer.text != "too long"


def test_every_example_dropped_is_invalid_argument(vertex, gcs_root, server):
    (gcs_root / "bucket" / "long.jsonl").write_text(
        json.dumps({"contents": [_turn("user", "y" * 400), _turn("model", "z")]}) + "\n"
    )
    server.state.settings.example_token_limit = LIMIT
    try:
        with pytest.raises(errors.ClientError) as exc:
            vertex.tunings.tune(
                base_model="gemini-2.0-flash-001",
                training_dataset=types.TuningDataset(gcs_uri="gs://bucket/long.jsonl"),
            )
    finally:
        server.state.settings.example_token_limit = 131_072
    assert exc.value.code == 400 and exc.value.status == "INVALID_ARGUMENT"
    assert "every example of gs://bucket/long.jsonl was dropped" in exc.value.message
    assert "over the limit" in exc.value.message
