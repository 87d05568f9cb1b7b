"""Metric values on fixed examples, computed by hand."""

from __future__ import annotations

import math
import sys

import pytest

from gemini_tuning.evaluation.metrics import (
    MetricError,
    chrf,
    exact_match,
    mean,
    normalize,
    normalized_exact_match,
    resolve_metrics,
    rouge_l,
    score,
)
from gemini_tuning.exceptions import InvalidInputError


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("positive", "positive", 1.0),
        ("  positive\n", "positive", 1.0),  # surrounding whitespace only
        ("Positive", "positive", 0.0),
        ("positive.", "positive", 0.0),
        ("", "positive", 0.0),
    ],
)
def test_exact_match(prediction, reference, expected):
    assert exact_match(prediction, reference) == expected


def test_normalize():
    assert normalize("  Hello,\tWORLD!!  ") == "hello world"
    assert normalize("ﬁne — “quoted”") == "fine quoted"  # NFKC ligature, Unicode dash and quotes
    assert normalize("Straße") == normalize("STRASSE")  # case-folding, not just lower()


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("Billing.", "billing", 1.0),
        ("the  answer is 42!", "The answer is 42", 1.0),
        ("billing issue", "billing", 0.0),
        ("4 2", "42", 0.0),  # whitespace collapses but is not removed
    ],
)
def test_normalized_exact_match(prediction, reference, expected):
    assert normalized_exact_match(prediction, reference) == expected


def test_rouge_l_hand_computed():
    # LCS("the cat sat on the mat", "the cat is on the mat") = "the cat on the mat" = 5 of 6 tokens each:
    # P = R = 5/6, F1 = 5/6.
    assert rouge_l("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    # prediction 2 tokens, reference 4, LCS 2: P = 1, R = 1/2, F1 = 2/3.
    assert rouge_l("cat mat", "the cat the mat") == pytest.approx(2 / 3)
    assert rouge_l("The Cat", "the cat") == 1.0  # tokenizer lower-cases
    assert rouge_l("dog", "cat") == 0.0
    assert rouge_l("", "") == 1.0


def test_chrf_hand_computed():
    # "ab" vs "abc": 1-grams P=2/2 R=2/3, 2-grams P=1/1 R=1/2, no 3..6-grams in the prediction.
    # Averaged over the 2 effective orders: P=1, R=7/12; F_beta2 = 5PR/(4P+R) = 7/11.
    assert chrf("ab", "abc") == pytest.approx(7 / 11)
    assert chrf("billing", "billing") == 1.0
    assert chrf("", "") == 1.0
    assert chrf("xyz", "abc") == 0.0
    assert 0.0 <= chrf("billing issue", "billing") <= 1.0


def test_resolve_and_score_with_custom_metric():
    metrics = resolve_metrics(
        ["exact_match", "chrf"], {"length_ratio": lambda p, r: min(len(p), len(r)) / max(len(p), len(r))}
    )
    assert list(metrics) == ["exact_match", "chrf", "length_ratio"]
    scores = score(metrics, "ab", "abcd")
    assert scores == {"exact_match": 0.0, "chrf": pytest.approx(chrf("ab", "abcd")), "length_ratio": 0.5}


def test_unknown_metric_and_bad_custom_metric():
    with pytest.raises(MetricError, match="unknown metric 'bleu'"):
        resolve_metrics(["bleu"])
    with pytest.raises(MetricError, match="not callable"):
        resolve_metrics([], {"x": 3})
    metrics = resolve_metrics([], {"nan": lambda p, r: math.nan})
    with pytest.raises(MetricError, match="'nan' returned nan on example 7"):
        score(metrics, "a", "b", where="example 7")
    metrics = resolve_metrics([], {"boom": lambda p, r: 1 / 0})
    with pytest.raises(MetricError, match="'boom' failed on example 3: ZeroDivisionError"):
        score(metrics, "a", "b", where="example 3")


def test_mean():
    assert mean([]) is None
    assert mean([1.0, 0.0, 0.5]) == 0.5


@pytest.mark.parametrize(("metric", "module"), [("rouge_l", "rouge_score"), ("chrf", "sacrebleu")])
def test_a_missing_metric_library_is_found_before_any_request(monkeypatch, metric, module):
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    with pytest.raises(InvalidInputError, match=f"the {metric} metric needs the Python module '{module}'"):
        resolve_metrics(["exact_match", metric])
    assert list(resolve_metrics(["exact_match"])) == ["exact_match"]  # the others still work
