"""List filters: the subset of AIP-160 (https://google.aip.dev/160) the Vertex List calls use.

A filter is one or more terms joined by ``AND``. A term is ``field OP value`` with OP one of
``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` or ``:`` (has: a repeated field contains the value,
a map has the key). Fields are snake_case or lowerCamelCase paths into the rendered resource;
map keys (``labels.team``, ``metadata."a:b".string_value``) are kept as written, and a trailing
``string_value``/``number_value``/``bool_value`` selects the value of a metadata entry. Values
are quoted strings or bare words/numbers. ``OR``, ``NOT`` and parentheses are rejected with
400 INVALID_ARGUMENT, as is a field the List call does not support.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gemini_tuning.emulator.deps import camel, paged
from gemini_tuning.emulator.errors import invalid

TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op><=|>=|!=|=|<|>|:)|(?P<word>[^\s"=<>!:]+))')
VALUE_SELECTORS = {"string_value", "number_value", "bool_value", "stringValue", "numberValue", "boolValue"}
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
Term = tuple[list[str], str, str]


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(expr.rstrip()):
        match = TOKEN.match(expr, pos)
        if not match or match.end() == pos:
            raise invalid(f"Invalid filter {expr!r}: cannot parse near {expr[pos:]!r}.")
        kind = match.lastgroup or "word"
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def parse_filter(expr: str | None, fields: Iterable[str]) -> list[Term]:
    """Parse ``expr`` into terms (path segments, operator, value); ``fields`` are the supported roots."""
    if not expr or not expr.strip():
        return []
    allowed = {camel(f) for f in fields}
    groups: list[list[tuple[str, str]]] = [[]]
    for token in _tokens(expr):
        if token == ("word", "AND"):
            groups.append([])
        else:
            groups[-1].append(token)
    return [_term(group, expr, allowed) for group in groups]


def _term(tokens: list[tuple[str, str]], expr: str, allowed: set[str]) -> Term:
    if ("word", "OR") in tokens or ("word", "NOT") in tokens:
        raise invalid(f"Invalid filter {expr!r}: terms must be joined by AND (OR and NOT are not supported).")
    if len(tokens) != 3 or tokens[0][0] != "word" or tokens[1][0] != "op" or tokens[2][0] == "op":
        raise invalid(f'Invalid filter {expr!r}: expected terms like field = "value" joined by AND.')
    (_, field), (_, op), (kind, value) = tokens
    path = [seg.strip('"') for seg in re.findall(r'"[^"]*"|[^.]+', field)]
    if camel(path[0]) not in allowed:
        raise invalid(f"Unsupported filter field {path[0]!r}: supported fields are {sorted(allowed)}.")
    return path, op, value[1:-1] if kind == "str" else value


def _resolve(resource: Any, path: list[str]) -> Any:
    value = resource
    for seg in path:
        if not isinstance(value, dict):
            return value if seg in VALUE_SELECTORS else None
        value = value.get(camel(seg), value.get(seg))
        if value is None:
            return None
    return value


def _scalar_matches(actual: Any, op: str, wanted: str) -> bool:
    if isinstance(actual, bool):
        return COMPARE[op](str(actual).lower(), wanted.lower()) if op in ("=", "!=") else False
    if isinstance(actual, (int, float)) or op in ("<", "<=", ">", ">="):
        try:
            return COMPARE[op](float(actual), float(wanted))
        except (TypeError, ValueError):
            return COMPARE[op](str(actual), wanted)
    return COMPARE[op](str(actual), wanted)


def matches(resource: dict[str, Any], terms: list[Term]) -> bool:
    """Whether ``resource`` satisfies every term."""
    for path, op, wanted in terms:
        actual = _resolve(resource, path)
        if op == ":":
            ok = wanted in actual if isinstance(actual, (list, dict)) else actual is not None and str(actual) == wanted
        elif actual is None:
            ok = op == "!="
        elif isinstance(actual, list):
            ok = any(_scalar_matches(item, op, wanted) for item in actual)
        else:
            ok = _scalar_matches(actual, op, wanted)
        if not ok:
            return False
    return True


@dataclass
class ListQuery:
    """The query parameters of a filtered List call (a FastAPI dependency: ``query: ListQuery = Depends()``)."""

    filter: str | None = None
    pageSize: str | None = None
    pageToken: str | None = None

    def page(
        self, resources: list[dict[str, Any]], fields: Iterable[str], *, key: str, default: int, maximum: int = 1000
    ) -> dict[str, Any]:
        """The List response over rendered ``resources`` that match the filter."""
        terms = parse_filter(self.filter, fields)
        kept = [r for r in resources if matches(r, terms)]
        return paged(kept, self.pageSize, self.pageToken, key=key, default=default, maximum=maximum)
