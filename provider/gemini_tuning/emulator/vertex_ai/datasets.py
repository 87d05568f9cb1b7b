"""Vertex training datasets on ``gs://``: reading and checking JSONL, dropping what the service
drops, and ``tuningDataStats``."""

from __future__ import annotations

import json
import math
import os
import statistics
from dataclasses import dataclass
from typing import Any

from gemini_tuning.emulator.errors import invalid
from gemini_tuning.emulator.gcs import local_path
from gemini_tuning.emulator.responder import content_text, count_tokens

#: The examples' indices and reasons listed in the stats (a sample; the count covers all).
MAX_DROPPED_SAMPLE = 100


def read_dataset(gcs_root: str | None, uri: str, field: str) -> list[dict[str, Any]]:
    """Read and check a Vertex JSONL dataset; 400 INVALID_ARGUMENT naming the URI on problems."""
    if not isinstance(uri, str) or not uri.startswith("gs://"):
        raise invalid(f"{field}: {uri!r} is not a Cloud Storage URI (gs://bucket/path).")
    if not gcs_root:
        raise invalid(f"{field}: cannot read {uri}: the emulator was started without --gcs-root.")
    try:
        path = local_path(gcs_root, uri)
    except ValueError:
        raise invalid(f"{field}: invalid Cloud Storage URI {uri!r}.") from None
    if not os.path.isfile(path):
        raise invalid(f"{field}: the dataset file {uri} does not exist or is not readable.")
    rows = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise invalid(f"{field}: {uri} line {lineno} is not valid JSON: {exc}") from None
            contents = row.get("contents") if isinstance(row, dict) else None
            if not isinstance(contents, list) or not contents:
                raise invalid(f"{field}: {uri} line {lineno}: 'contents' must be a non-empty list.")
            roles = [c.get("role") if isinstance(c, dict) else None for c in contents]
            if any(r not in ("user", "model") for r in roles):
                raise invalid(f"{field}: {uri} line {lineno}: each content needs role 'user' or 'model'.")
            if "user" not in roles or roles[-1] != "model":
                raise invalid(
                    f"{field}: {uri} line {lineno}: an example needs a user turn and must end with a model turn."
                )
            rows.append(row)
    if not rows:
        raise invalid(f"{field}: the dataset file {uri} has no examples.")
    return rows


@dataclass
class Example:
    """One training example with what the data stats count (tokens are about characters / 4)."""

    index: int  # 1-based position in the file, blank lines skipped
    row: dict[str, Any]
    input_tokens: int  # system instruction and user turns
    output_tokens: int  # model turns
    characters: int
    messages: int


@dataclass
class Screened:
    """A dataset after the service's checks: the examples it tunes on and the ones it drops."""

    kept: list[Example]
    dropped: list[tuple[int, str]]  # (1-based index, reason)

    def pairs(self) -> list[tuple[str, str]]:
        """(last user text before the final model turn, final model text) per kept example."""
        out = []
        for example in self.kept:
            contents = example.row["contents"]
            user = next(content_text(c) for c in reversed(contents[:-1]) if c.get("role") == "user")
            out.append((user, content_text(contents[-1])))
        return out


def _measure(index: int, row: dict[str, Any]) -> Example:
    contents = row["contents"]
    instruction = row.get("systemInstruction")
    system = content_text(instruction) if isinstance(instruction, dict) else ""
    user = system + "".join(content_text(c) for c in contents if c.get("role") == "user")
    model = "".join(content_text(c) for c in contents if c.get("role") == "model")
    return Example(index, row, count_tokens(user), count_tokens(model), len(user) + len(model), len(contents))


def screen(rows: list[dict[str, Any]], token_limit: int) -> Screened:
    """Drop what the service drops: examples over ``token_limit`` tokens and empty answers."""
    kept, dropped = [], []
    for index, row in enumerate(rows, 1):
        example = _measure(index, row)
        tokens = example.input_tokens + example.output_tokens
        if tokens > token_limit:
            dropped.append((index, f"Example {index} has {tokens} tokens, over the limit of {token_limit}."))
        elif not content_text(row["contents"][-1]).strip():
            dropped.append((index, f"Example {index} has no text in its final model turn."))
        else:
            kept.append(example)
    return Screened(kept, dropped)


def _distribution(values: list[int]) -> dict[str, Any]:
    """``SupervisedTuningDatasetDistribution`` of ``values``: five equal-width buckets (empty ones left out)."""
    ordered = sorted(values)

    def pct(p: float) -> float:
        return float(ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered)) - 1))])

    lo, hi = ordered[0], ordered[-1]
    width = (hi - lo) / 5 or 1
    buckets = []
    for i in range(5):
        left, right = lo + i * width, lo + (i + 1) * width
        count = sum(1 for v in ordered if left <= v < right or (i == 4 and v == right))
        if count:
            buckets.append({"count": float(count), "left": float(left), "right": float(right)})
        if hi == lo:
            break
    total = sum(ordered)
    return {
        "sum": str(total),
        "billableSum": str(total),
        "min": float(lo),
        "max": float(hi),
        "mean": statistics.fmean(ordered),
        "median": float(statistics.median(ordered)),
        "p5": pct(0.05),
        "p95": pct(0.95),
        "buckets": buckets,
    }


def data_stats(dataset: Screened, step_count: int) -> dict[str, Any]:
    """``TuningDataStats`` with ``supervisedTuningDataStats`` computed from the screened training data.

    Counts are over the kept examples except ``tuningDatasetExampleCount`` (every example in the
    file); dropped examples are counted in ``totalTruncatedExampleCount`` with their indices and
    reasons (at most :data:`MAX_DROPPED_SAMPLE`). Zero counts are left out, as in proto3 JSON.
    """
    kept = dataset.kept
    characters = sum(e.characters for e in kept)
    stats: dict[str, Any] = {
        "tuningDatasetExampleCount": str(len(kept) + len(dataset.dropped)),
        "totalTuningCharacterCount": str(characters),
        "totalBillableCharacterCount": str(characters),
        "totalBillableTokenCount": str(sum(e.input_tokens + e.output_tokens for e in kept)),
        "tuningStepCount": str(step_count),
        "userInputTokenDistribution": _distribution([e.input_tokens for e in kept]),
        "userOutputTokenDistribution": _distribution([e.output_tokens for e in kept]),
        "userMessagePerExampleDistribution": _distribution([e.messages for e in kept]),
        "userDatasetExamples": [c for e in kept[:3] for c in e.row["contents"]][:10],
    }
    if dataset.dropped:
        sample = dataset.dropped[:MAX_DROPPED_SAMPLE]
        stats["totalTruncatedExampleCount"] = str(len(dataset.dropped))
        stats["truncatedExampleIndices"] = [str(index) for index, _ in sample]
        stats["droppedExampleReasons"] = [reason for _, reason in sample]
    return {"supervisedTuningDataStats": stats}
