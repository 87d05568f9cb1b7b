"""Gates pass/fail per check, baseline comparison, failure accounting in the summary and the markdown report."""

from __future__ import annotations

import pytest

from gemini_tuning.contracts.evaluation import EvaluationSummary
from gemini_tuning.contracts.tuning import CheckpointChoice
from gemini_tuning.evaluation.checkpoints import select_checkpoints
from gemini_tuning.evaluation.examples import EvalDataset, EvalExample
from gemini_tuning.evaluation.gates import check_gate_arguments
from gemini_tuning.evaluation.inputs import ModelUnderTest, read_model
from gemini_tuning.evaluation.metrics import resolve_metrics
from gemini_tuning.evaluation.plan import EvaluationPlan
from gemini_tuning.evaluation.report import render_markdown
from gemini_tuning.evaluation.runner import Outcome
from gemini_tuning.evaluation.scoring import build_summary, score_rows
from gemini_tuning.exceptions import InvalidInputError

EXAMPLES = [EvalExample(i, i + 1, f"q{i}", a) for i, a in enumerate(["billing", "bug", "billing", "account"])]
METRICS = resolve_metrics(["exact_match", "normalized_exact_match"])
NAMES = list(METRICS)


def plan(baseline=None, min_scores=None, improve=False, max_failed_fraction=0.0):
    gates = check_gate_arguments(
        NAMES,
        min_scores=min_scores,
        require_improvement=improve,
        baseline_model=baseline,
        max_failed_fraction=max_failed_fraction,
    )
    data = EvalDataset(EXAMPLES, "file:///v.jsonl", "T: {x}", template_applied=False, total=4)
    return EvaluationPlan(ModelUnderTest("tunedModels/t"), baseline, data, METRICS, gates, config=None)


def failed_503():
    return Outcome(None, error="UNAVAILABLE (HTTP 503): overloaded", http_status=503)


def run(tuned, baseline=None, **gates):
    p = plan(baseline="base" if baseline is not None else None, **gates)
    outcomes = {"tuned": [Outcome(t) if t is not None else failed_503() for t in tuned]}
    if baseline is not None:
        outcomes["baseline"] = [Outcome(b) for b in baseline]
    rows = score_rows(p, outcomes)
    return rows, build_summary(p, rows)


def test_summary_with_baseline():
    rows, summary = run(["billing", "Bug", "billing", "account"], ["billing", "x", "y", "z"])
    assert (summary.examples, summary.failed, summary.succeeded) == (4, 0, 4)
    assert summary.metrics["exact_match"].model_dump() == {"tuned": 0.75, "baseline": 0.25, "delta": 0.5}
    assert summary.metrics["normalized_exact_match"].model_dump() == {"tuned": 1.0, "baseline": 0.25, "delta": 0.75}
    assert rows[1]["tuned_scores"] == {"exact_match": 0.0, "normalized_exact_match": 1.0}
    assert rows[1]["baseline_output"] == "x" and rows[1]["error"] is None
    assert summary.primary_metric == "exact_match" and summary.gates.passed


def test_failed_requests_are_counted_not_scored_as_zero():
    rows, summary = run(["billing", None, "billing", "account"], max_failed_fraction=0.25)
    assert (summary.failed, summary.failed_fraction, summary.failed_requests.tuned) == (1, 0.25, 1)
    assert rows[1]["tuned_scores"] is None and rows[1]["failed"] and "503" in rows[1]["error"]
    assert summary.metrics["exact_match"].tuned == 1.0  # mean over the 3 answered examples
    assert summary.metrics["exact_match"].baseline is None


def test_every_gate_is_reported_with_its_verdict():
    _, summary = run(["billing", None, "billing", "x"], min_scores={"exact_match": 0.8, "normalized_exact_match": 0.5})
    gates = summary.gates
    assert not gates.passed
    assert [(c.gate, c.metric, c.passed) for c in gates.checks] == [
        ("max_failed_fraction", None, False),
        ("min_score", "exact_match", False),
        ("min_score", "normalized_exact_match", True),
    ]
    assert gates.checks[1].value == pytest.approx(2 / 3, abs=1e-6) and gates.checks[1].threshold == 0.8
    assert gates.reasons == [
        "1 of 4 examples failed (fraction 0.2500 > max_failed_fraction 0.0)",
        "exact_match: tuned score 0.6667 < min_scores 0.8",
    ]
    assert summary.primary_metric == "exact_match"
    _, summary = run(["billing", None, "billing", "x"], min_scores={"exact_match": 0.6}, max_failed_fraction=0.25)
    assert summary.gates.passed and summary.gates.reasons == []


def test_improvement_over_baseline():
    same = ["billing", "bug", "billing", "account"]
    _, summary = run(same, same, improve=["exact_match"])
    assert summary.gates.reasons == ["exact_match: tuned 1.0000 does not improve on baseline 1.0000"]
    check = summary.gates.checks[-1]
    assert (check.gate, check.value, check.threshold, check.passed) == ("improvement_over_baseline", 1.0, 1.0, False)
    _, summary = run(same, ["a", "b", "c", "account"], improve=True)
    assert summary.gates.passed and len(summary.gates.checks) == 3


def test_gate_arguments_are_checked_up_front():
    names = ["exact_match", "chrf"]
    kwargs = dict(min_scores=None, baseline_model="b", max_failed_fraction=0)
    assert check_gate_arguments(names, require_improvement=True, **kwargs).improve == ("exact_match", "chrf")
    assert check_gate_arguments(names, require_improvement=["chrf"], **kwargs).improve == ("chrf",)
    assert check_gate_arguments(names, require_improvement="chrf", **kwargs).primary_metric == "chrf"
    bad = [
        (dict(require_improvement=True, baseline_model=None), "needs a baseline_model"),
        (dict(min_scores={"rouge_l": 0.5}), "'rouge_l', which is not evaluated"),
        (dict(min_scores={"chrf": "high"}), "must be a number"),
        (dict(max_failed_fraction=2), "between 0 and 1"),
        (dict(require_improvement=["bleu"]), r"names \['bleu'\]"),
    ]
    for overrides, message in bad:
        arguments = dict(min_scores=None, require_improvement=False, baseline_model="b", max_failed_fraction=0)
        with pytest.raises(InvalidInputError, match=message):
            check_gate_arguments(names, **(arguments | overrides))


def test_summary_is_the_evaluation_contract():
    _, summary = run(["billing", "bug", "billing", "account"], ["a", "b", "c", "d"], min_scores={"exact_match": 0.9})
    again = EvaluationSummary.parse(summary.to_xcom(), argument="evaluation")
    assert again == summary and summary.to_xcom()["schema_version"] == 1
    assert again.gates.checks[1].metric == "exact_match"


def test_markdown_report():
    rows, summary = run(
        ["billing", None, "bill|ing", "account"], ["billing", "x", "y", "z"], min_scores={"exact_match": 0.9}
    )
    text = render_markdown(summary, rows, min_scores={"exact_match": 0.9})
    assert "**FAILED**" in text and "- Prompt template: `T: {x}`" in text
    assert "| exact_match | 0.6667 | 0.2500 | +0.4167 | 0.9000 |" in text
    assert "| 4 | 3 | 1 | 0.2500 | 1 | 0 |" in text
    assert "- ❌ exact_match: tuned score 0.6667 < min_scores 0.9" in text
    assert "## Failed requests (first 1 of 1)" in text and "HTTP 503" in text
    assert "## Worst examples by exact_match (tuned)" in text and "bill\\|ing" in text


def test_checkpoints_are_scored_and_the_best_is_reported():
    summary_in = {
        "job_name": "tuningJobs/1",
        "backend": "vertex_ai",
        "state": "JOB_STATE_SUCCEEDED",
        "model": "endpoints/3",
        "checkpoints": [
            {"checkpoint_id": str(i), "epoch": i, "step": 10 * i, "endpoint": f"endpoints/{i}"} for i in (1, 2, 3)
        ],
    }
    model = read_model(summary_in)
    gates = check_gate_arguments(
        NAMES,
        min_scores={"normalized_exact_match": 0.5},
        require_improvement=False,
        baseline_model=None,
        max_failed_fraction=0.0,
    )
    data = EvalDataset(EXAMPLES, "<inline>", None, template_applied=False, total=4)
    p = EvaluationPlan(model, None, data, METRICS, gates, None, checkpoints=select_checkpoints(model, "all"))
    assert p.requests() == {"tuned": "endpoints/3", "checkpoint:1": "endpoints/1", "checkpoint:2": "endpoints/2"}
    answers = {
        "tuned": ["billing", "bug", "x", "y"],  # checkpoint 3 (the default): 2 of 4
        "checkpoint:1": ["x", "y", "z", "w"],  # 0 of 4
        "checkpoint:2": ["Billing!", "bug", "billing", "account"],  # 4 of 4 normalized, 3 of 4 exact
    }
    outcomes = {role: [Outcome(a) for a in texts] for role, texts in answers.items()}
    outcomes["checkpoint:1"][3] = failed_503()
    rows = score_rows(p, outcomes)
    summary = build_summary(p, rows)
    assert summary.primary_metric == "normalized_exact_match"
    by_id = {c.checkpoint_id: c for c in summary.checkpoints}
    assert by_id["1"].failed == 1 and by_id["1"].metrics["normalized_exact_match"] == 0.0
    assert by_id["2"].metrics == {"exact_match": 0.75, "normalized_exact_match": 1.0}
    assert by_id["3"].is_default and by_id["3"].metrics["normalized_exact_match"] == 0.5
    assert summary.best_checkpoint == by_id["2"]
    assert CheckpointChoice.checkpoint_id_of(summary.to_xcom()) == "2"  # what SetDefaultCheckpointOperator reads
    assert summary.failed == 0  # a checkpoint's failure is its own, not the evaluation's
    assert rows[0]["checkpoints"]["2"] == {
        "output": "Billing!",
        "scores": {"exact_match": 0.0, "normalized_exact_match": 1.0},
        "error": None,
    }
    text = render_markdown(summary, rows)
    assert "## Checkpoints by normalized_exact_match" in text
    assert "| 2 | 2 | 20 | 0 | 1.0000 | best |" in text and "| 3 | 3 | 30 | 0 | 0.5000 | default |" in text
