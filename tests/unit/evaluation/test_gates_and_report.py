"""Gates pass/fail, baseline comparison, failure accounting in the summary and the markdown report."""

from __future__ import annotations

import pytest

from gemini_tuning.evaluation.examples import EvalExample
from gemini_tuning.evaluation.gates import apply_gates, check_gate_arguments
from gemini_tuning.evaluation.metrics import resolve_metrics
from gemini_tuning.evaluation.report import build_rows, render_markdown, summarize
from gemini_tuning.evaluation.runner import Outcome

EXAMPLES = [EvalExample(i, i + 1, f"q{i}", a) for i, a in enumerate(["billing", "bug", "billing", "account"])]
METRICS = resolve_metrics(["exact_match", "normalized_exact_match"])


def run(tuned, baseline=None):
    outcomes = {
        "tuned": [Outcome(t) if t is not None else Outcome(None, error="503 UNAVAILABLE", code=503) for t in tuned]
    }
    if baseline is not None:
        outcomes["baseline"] = [Outcome(b) for b in baseline]
    rows = build_rows(EXAMPLES, outcomes, METRICS)
    return rows, summarize(rows, list(METRICS), model="tunedModels/t", baseline_model="base" if baseline else None)


def test_summary_with_baseline():
    rows, summary = run(["billing", "Bug", "billing", "account"], ["billing", "x", "y", "z"])
    assert summary["examples"] == 4 and summary["failed"] == 0 and summary["succeeded"] == 4
    assert summary["metrics"]["exact_match"] == {"tuned": 0.75, "baseline": 0.25, "delta": 0.5}
    assert summary["metrics"]["normalized_exact_match"] == {"tuned": 1.0, "baseline": 0.25, "delta": 0.75}
    assert rows[1]["tuned_scores"] == {"exact_match": 0.0, "normalized_exact_match": 1.0}
    assert rows[1]["baseline_output"] == "x" and rows[1]["error"] is None


def test_failed_requests_are_counted_not_scored_as_zero():
    rows, summary = run(["billing", None, "billing", "account"])
    assert summary["failed"] == 1 and summary["failed_fraction"] == 0.25 and summary["failed_requests"]["tuned"] == 1
    assert rows[1]["tuned_scores"] is None and rows[1]["failed"] and "503" in rows[1]["error"]
    assert summary["metrics"]["exact_match"]["tuned"] == 1.0  # mean over the 3 answered examples
    assert summary["metrics"]["exact_match"]["baseline"] is None


def test_gates():
    _, summary = run(["billing", None, "billing", "x"], None)
    gates = apply_gates(summary, min_scores={"exact_match": 0.8}, improve=[], max_failed_fraction=0.0)
    assert not gates["passed"]
    assert gates["reasons"] == [
        "1 of 4 examples failed (fraction 0.2500 > max_failed_fraction 0.0)",
        "exact_match: tuned score 0.6667 < min_scores 0.8",
    ]
    assert apply_gates(summary, min_scores={"exact_match": 0.6}, improve=[], max_failed_fraction=0.25)["passed"]


def test_improvement_over_baseline():
    _, summary = run(["billing", "bug", "billing", "account"], ["billing", "bug", "billing", "account"])
    gates = apply_gates(summary, min_scores=None, improve=["exact_match"], max_failed_fraction=0.0)
    assert gates == {"passed": False, "reasons": ["exact_match: tuned 1.0000 does not improve on baseline 1.0000"]}
    _, summary = run(["billing", "bug", "billing", "account"], ["a", "b", "c", "account"])
    assert apply_gates(summary, min_scores=None, improve=list(METRICS), max_failed_fraction=0.0)["passed"]


def test_gate_arguments_are_checked_up_front():
    names = ["exact_match", "chrf"]
    assert (
        check_gate_arguments(
            names, min_scores=None, require_improvement=True, baseline_model="b", max_failed_fraction=0
        )
        == names
    )
    assert check_gate_arguments(
        names, min_scores=None, require_improvement=["chrf"], baseline_model="b", max_failed_fraction=0
    ) == ["chrf"]
    with pytest.raises(ValueError, match="needs a baseline_model"):
        check_gate_arguments(
            names, min_scores=None, require_improvement=True, baseline_model=None, max_failed_fraction=0
        )
    with pytest.raises(ValueError, match="'rouge_l', which is not evaluated"):
        check_gate_arguments(
            names, min_scores={"rouge_l": 0.5}, require_improvement=False, baseline_model=None, max_failed_fraction=0
        )
    with pytest.raises(ValueError, match="must be a number"):
        check_gate_arguments(
            names, min_scores={"chrf": "high"}, require_improvement=False, baseline_model=None, max_failed_fraction=0
        )
    with pytest.raises(ValueError, match="between 0 and 1"):
        check_gate_arguments(
            names, min_scores=None, require_improvement=False, baseline_model=None, max_failed_fraction=2
        )


def test_markdown_report():
    rows, summary = run(["billing", None, "bill|ing", "account"], ["billing", "x", "y", "z"])
    summary["gates"] = apply_gates(summary, min_scores={"exact_match": 0.9}, improve=[], max_failed_fraction=0.0)
    text = render_markdown(
        summary, rows, dataset="file:///v.jsonl", prompt_template="T: {x}", min_scores={"exact_match": 0.9}
    )
    assert "**FAILED**" in text
    assert "| exact_match | 0.6667 | 0.2500 | +0.4167 | 0.9000 |" in text
    assert "| 4 | 3 | 1 | 0.2500 | 1 | 0 |" in text
    assert "## Failed requests (first 1 of 1)" in text and "503 UNAVAILABLE" in text
    assert "## Worst examples by exact_match (tuned)" in text and "bill\\|ing" in text
