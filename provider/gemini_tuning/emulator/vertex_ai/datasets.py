"""Vertex training datasets on ``gs://``: reading and checking JSONL, and ``tuningDataStats``."""

from __future__ import annotations

import json
import math
import os
import statistics
from typing import Any

from gemini_tuning.emulator.errors import invalid
from gemini_tuning.emulator.gcs import local_path
from gemini_tuning.emulator.responder import content_text, count_tokens


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


def example_pairs(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(last user text before the final model turn, final model text) per example."""
    pairs = []
    for row in rows:
        contents = row["contents"]
        user = next(content_text(c) for c in reversed(contents[:-1]) if c.get("role") == "user")
        pairs.append((user, content_text(contents[-1])))
    return pairs


def _distribution(values: list[int], int_sum: bool = True) -> dict[str, Any]:
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


def data_stats(rows: list[dict[str, Any]], step_count: int) -> dict[str, Any]:
    """TuningDataStats.supervisedTuningDataStats computed from the training rows."""
    user_tokens, model_tokens, messages, chars = [], [], [], 0
    for row in rows:
        contents = row["contents"]
        system = (
            content_text(row.get("systemInstruction") or {}) if isinstance(row.get("systemInstruction"), dict) else ""
        )
        chars += len(system) + sum(len(content_text(c)) for c in contents)
        user_tokens.append(count_tokens(system + "".join(content_text(c) for c in contents if c.get("role") == "user")))
        model_tokens.append(count_tokens("".join(content_text(c) for c in contents if c.get("role") == "model")))
        messages.append(len(contents))
    return {
        "supervisedTuningDataStats": {
            "tuningDatasetExampleCount": str(len(rows)),
            "totalTuningCharacterCount": str(chars),
            "totalBillableTokenCount": str(sum(user_tokens) + sum(model_tokens)),
            "tuningStepCount": str(step_count),
            "userInputTokenDistribution": _distribution(user_tokens),
            "userOutputTokenDistribution": _distribution(model_tokens),
            "userMessagePerExampleDistribution": _distribution(messages),
            "userDatasetExamples": [c for row in rows[:3] for c in row["contents"]][:10],
        }
    }
