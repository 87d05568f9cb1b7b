"""One page of an evaluation's per-example results, streamed from its ``results.jsonl`` in object storage.

The file stays where the evaluation wrote it; a page reads lines until it has ``limit`` rows (at
most ``MAX_SCANNED`` lines when filtering), so a large file never comes into memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PAGE_SIZE = 25
MAX_SCANNED = 50_000


@dataclass
class ResultRow:
    line: int | None
    input: str
    expected: str
    tuned: str | None
    baseline: str | None
    tuned_score: float | None
    baseline_score: float | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "disagree": self.disagrees}

    @property
    def disagrees(self) -> bool:
        """The tuned model's answer differs from the expected one (or its request failed)."""
        return self.tuned is None or _normalized(self.tuned) != _normalized(self.expected)


@dataclass
class ResultsPage:
    uri: str | None
    offset: int
    limit: int
    only_disagreements: bool
    rows: list[ResultRow] = field(default_factory=list)
    has_more: bool = False
    error: str | None = None
    metric: str | None = None


def _normalized(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _row(record: dict[str, Any], metric: str | None) -> ResultRow:
    def score(role: str) -> float | None:
        scores = record.get(f"{role}_scores")
        value = scores.get(metric) if isinstance(scores, dict) and metric else None
        return value if isinstance(value, int | float) else None

    def text(key: str) -> str | None:
        value = record.get(key)
        return None if value is None else str(value)

    return ResultRow(
        line=record.get("line") if isinstance(record.get("line"), int) else None,
        input=text("input") or "",
        expected=text("expected") or "",
        tuned=text("tuned_output"),
        baseline=text("baseline_output"),
        tuned_score=score("tuned"),
        baseline_score=score("baseline"),
        error=text("error"),
    )


def read_page(
    uri: str | None, *, offset: int = 0, limit: int = PAGE_SIZE, only_disagreements: bool = False, metric: str | None
) -> ResultsPage:
    """Rows ``offset`` .. ``offset + limit`` (counted after the disagreement filter, when on)."""
    page = ResultsPage(uri=uri, offset=offset, limit=limit, only_disagreements=only_disagreements, metric=metric)
    if not uri:
        return page
    try:
        from airflow.sdk import ObjectStoragePath

        with ObjectStoragePath(uri).open("r", encoding="utf-8") as lines:
            _fill(page, lines)
    except Exception as exc:  # the file moved, the bucket is unreachable: say so on the page
        page.error = f"The per-example results could not be read from {uri}: {type(exc).__name__}: {exc}"
    return page


def _fill(page: ResultsPage, lines) -> None:
    matched = 0
    for scanned, line in enumerate(lines):
        if scanned >= MAX_SCANNED and page.only_disagreements:
            page.error = f"Only the first {MAX_SCANNED:,} examples were searched for disagreements."
            return
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        row = _row(record, page.metric)
        if page.only_disagreements and not row.disagrees:
            continue
        matched += 1
        if matched <= page.offset:
            continue
        if len(page.rows) == page.limit:
            page.has_more = True
            return
        page.rows.append(row)
