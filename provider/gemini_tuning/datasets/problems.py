"""Problems found in a dataset, counted in full but listed with restraint.

Every problem is counted. The first ``max_reported`` are kept for the report; a systematic problem (the same
message on row after row, e.g. a Latin-1 file or a misnamed column) is listed for its first
``SAME_PROBLEM_LISTED`` rows, then summarized once with a count.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

SAME_PROBLEM_LISTED = 5
MAX_KINDS = 10_000  # distinct messages tracked for the summary; beyond that, problems are only counted
_NUMBERS = re.compile(r"\d[\d,]*")  # "byte offset 1,234" and "byte offset 99" are the same problem


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem: ``path:line: field: message`` (line 0 for dataset-level problems)."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


@dataclass(slots=True)
class _Kind:
    first: Problem
    count: int = 0


class ProblemLog:
    """Collects problems; ``on_problem`` sees each listed one as it is found (the CLI prints them)."""

    def __init__(self, path: str, max_reported: int, on_problem: Callable[[Problem], None] | None = None):
        self.path = path
        self.max_reported = max_reported
        self.on_problem = on_problem
        self.count = 0
        self.listed: list[Problem] = []
        self._kinds: dict[tuple[str, str], _Kind] = {}

    def add(self, line: int, field: str, message: str) -> None:
        problem = Problem(self.path, line, field, message)
        self.count += 1
        key = (field, _NUMBERS.sub("#", message))
        kind = self._kinds.get(key)
        if kind is None:
            if len(self._kinds) >= MAX_KINDS:
                return
            kind = self._kinds[key] = _Kind(problem)
        kind.count += 1
        if kind.count > SAME_PROBLEM_LISTED:
            return
        if len(self.listed) < self.max_reported:
            self.listed.append(problem)
        if self.on_problem is not None:
            self.on_problem(problem)

    def add_all(self, line: int, problems: list[tuple[str, str]]) -> None:
        for field, message in problems:
            self.add(line, field, message)

    def repeated(self) -> list[dict[str, Any]]:
        """One entry per problem seen more than ``SAME_PROBLEM_LISTED`` times: the rows not listed."""
        return [
            {
                "field": kind.first.field,
                "message": f"the same problem as line {kind.first.line} on {kind.count - SAME_PROBLEM_LISTED:,} "
                f"more line(s), not listed: {kind.first.message}",
                "count": kind.count - SAME_PROBLEM_LISTED,
            }
            for kind in self._kinds.values()
            if kind.count > SAME_PROBLEM_LISTED
        ]

    def to_report(self) -> dict[str, Any]:
        return {
            "problem_count": self.count,
            "problems": [asdict(p) for p in self.listed],
            "repeated_problems": self.repeated(),
        }
