"""The dataset errors, under the provider's one hierarchy (:mod:`gemini_tuning.exceptions`).

All three are :class:`~gemini_tuning.exceptions.InvalidInputError` (bad input, not retried). This module imports
Airflow (through ``gemini_tuning.exceptions``); the readers and the engine import it only when they raise, so
``gemini-tuning validate`` on a valid local file never pays for that import.
"""

from __future__ import annotations

from typing import Any

from gemini_tuning.exceptions import InvalidInputError


class DatasetUsageError(InvalidInputError):
    """The dataset cannot be read at all: missing file, unknown format or scheme, bad arguments. CLI exit 2."""


class DatasetValidationError(InvalidInputError):
    """The dataset was read and is invalid; ``report`` holds the counts and the first problems. CLI exit 1."""

    def __init__(self, report: dict[str, Any]):
        self.report = report
        super().__init__(describe_invalid(report))


class DatasetUploadError(InvalidInputError):
    """A staged dataset cannot be handed to its backend (too large inline, not where the service reads)."""


def describe_invalid(report: dict[str, Any]) -> str:
    """The multi-line message of an invalid report: the verdict, the first problems, the repeated ones."""
    lines = [
        f"Tuning dataset {report['source']} is invalid: {report['problem_count']} problem(s); "
        f"{report['rejected']} of {report['total']} examples rejected."
    ]
    lines += [f"  {p['path']}:{p['line']}: {p['field']}: {p['message']}" for p in report["problems"]]
    repeated = report.get("repeated_problems") or []
    lines += [f"  {report['source']}: {r['field']}: {r['message']}" for r in repeated]
    listed = len(report["problems"]) + sum(r["count"] for r in repeated)
    if report["problem_count"] > listed:
        lines.append(f"  ... and {report['problem_count'] - listed} more")
    return "\n".join(lines)
