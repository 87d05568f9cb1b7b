"""Per-example scores in ``[0, 1]``, higher is better.

* ``exact_match``: 1.0 when the prediction equals the reference after stripping leading/trailing whitespace.
* ``normalized_exact_match``: 1.0 when both are equal after :func:`normalize` (Unicode NFKC, case-folded,
  punctuation removed, runs of whitespace collapsed to one space, stripped).
* ``rouge_l``: ROUGE-L F1 from ``rouge-score`` (its default tokenizer: lower-case, ``[a-z0-9]`` tokens,
  no stemming).
* ``chrf``: sentence-level chrF (character 6-grams, beta 2, sacreBLEU defaults) from ``sacrebleu``, / 100.
* any user callable ``(prediction, reference) -> float``.

``rouge-score`` and ``sacrebleu`` are dependencies of the provider. They are imported on first use, not at
import, and :func:`resolve_metrics` checks that they are installed before any request is sent.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from gemini_tuning.exceptions import InvalidInputError
from gemini_tuning.optional import require

Metric = Callable[[str, str], float]

_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, case-fold, drop Unicode punctuation (categories ``P*``), collapse whitespace, strip."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return _WHITESPACE.sub(" ", text).strip()


def exact_match(prediction: str, reference: str) -> float:
    return 1.0 if prediction.strip() == reference.strip() else 0.0


def normalized_exact_match(prediction: str, reference: str) -> float:
    return 1.0 if normalize(prediction) == normalize(reference) else 0.0


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 (longest common token subsequence). Two texts without any token score 1.0 if equal."""
    score = _rouge_scorer().score(reference, prediction)["rougeL"].fmeasure
    if score == 0.0 and prediction.strip() == reference.strip():
        return 1.0  # rouge-score gives 0 for two empty/token-less texts; identical texts are a match
    return float(score)


@lru_cache(maxsize=1)
def _chrf():
    from sacrebleu.metrics import CHRF

    return CHRF()


def chrf(prediction: str, reference: str) -> float:
    """Sentence chrF scaled to 0..1. Identical texts score 1.0 (also when both are empty)."""
    if prediction == reference:
        return 1.0
    return float(_chrf().sentence_score(prediction, [reference]).score) / 100.0


BUILTIN_METRICS: dict[str, Metric] = {
    "exact_match": exact_match,
    "normalized_exact_match": normalized_exact_match,
    "rouge_l": rouge_l,
    "chrf": chrf,
}
#: The library each built-in metric imports, and the pip extra that installs it.
METRIC_LIBRARIES: dict[str, tuple[str, str]] = {
    "rouge_l": ("rouge_score", "evaluation"),
    "chrf": ("sacrebleu", "evaluation"),
}


class MetricError(InvalidInputError):
    """A metric is unknown, its library is missing, or it raised or returned something that is not a finite number."""


def resolve_metrics(names: Iterable[str], custom: Mapping[str, Metric] | None = None) -> dict[str, Metric]:
    """``{name: callable}`` for the built-in ``names`` followed by the ``custom`` ones, in that order."""
    custom = dict(custom or {})
    resolved: dict[str, Metric] = {}
    for name in names:
        if name in custom:
            continue  # listed in both: the custom one, added below, wins
        if name not in BUILTIN_METRICS:
            raise MetricError(
                f"unknown metric {name!r}; built-in metrics are {', '.join(BUILTIN_METRICS)} "
                "(pass your own as custom_metrics={name: callable})"
            )
        if name in METRIC_LIBRARIES:
            module, extra = METRIC_LIBRARIES[name]
            require(module, extra, feature=f"the {name} metric")
        resolved[name] = BUILTIN_METRICS[name]
    for name, fn in custom.items():
        if not callable(fn):
            raise MetricError(f"custom metric {name!r} is not callable: {fn!r}")
        resolved[name] = fn
    if not resolved:
        raise MetricError("no metrics selected")
    return resolved


def score(metrics: Mapping[str, Metric], prediction: str, reference: str, *, where: str = "") -> dict[str, float]:
    """All ``metrics`` for one prediction. A metric raising or returning a non-finite value is a ``MetricError``."""
    scores: dict[str, float] = {}
    for name, fn in metrics.items():
        try:
            value = float(fn(prediction, reference))
        except Exception as exc:
            raise MetricError(
                f"metric {name!r} failed on {where or 'an example'}: {type(exc).__name__}: {exc}"
            ) from exc
        if not math.isfinite(value):
            raise MetricError(f"metric {name!r} returned {value} on {where or 'an example'}; expected a finite number")
        scores[name] = value
    return scores


def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def rounded(value: float | None) -> float | None:
    """A mean or delta as reported (6 decimals); ``None`` stays ``None``."""
    return None if value is None else round(value, 6)
