"""The markdown report of an evaluation: counts, metrics, gates, checkpoints, failures and worst examples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gemini_tuning.contracts.evaluation import EvaluationSummary

WORST_SHOWN = 5
FAILED_SHOWN = 5
CELL_CHARS = 160


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    text = str(value).replace("\r", " ").replace("\n", " ⏎ ")
    if len(text) > CELL_CHARS:
        text = text[: CELL_CHARS - 1] + "…"
    return text.replace("|", "\\|")


def _delta(value: float | None) -> str:
    return "—" if value is None else f"{value:+.4f}"


def render_markdown(
    summary: EvaluationSummary, rows: Sequence[Mapping[str, Any]], *, min_scores: Mapping[str, float] | None = None
) -> str:
    """A short human-readable report."""
    lines = _header(summary) + _metrics(summary, min_scores or {}) + _gates(summary) + _checkpoints(summary)
    lines += _failures(rows) + _worst(rows, summary.primary_metric)
    return "\n".join(lines) + "\n"


def _header(summary: EvaluationSummary) -> list[str]:
    s = summary
    return [
        f"# Evaluation of `{s.model}`",
        "",
        f"- Dataset: `{s.dataset}`",
        f"- Baseline: `{s.baseline_model}`" if s.baseline_model else "- Baseline: none",
        f"- Prompt template: `{s.prompt_template}`" if s.prompt_template else "- Prompt template: none",
        f"- Verdict: **{'PASSED' if s.gates.passed else 'FAILED'}**",
        "",
        "## Counts",
        "",
        "| examples | succeeded | failed | failed fraction | failed tuned requests | failed baseline requests |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {s.examples} | {s.succeeded} | {s.failed} | {s.failed_fraction:.4f} "
        f"| {s.failed_requests.tuned} | {s.failed_requests.baseline} |",
    ]


def _metrics(summary: EvaluationSummary, min_scores: Mapping[str, float]) -> list[str]:
    lines = [
        "",
        "## Metrics",
        "",
        "Means over the examples each model answered (failed requests are counted above, not scored).",
        "",
        "| metric | tuned | baseline | delta | min score |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in summary.metrics.items():
        threshold = min_scores.get(name)
        lines.append(
            f"| {name} | {_cell(values.tuned)} | {_cell(values.baseline)} | {_delta(values.delta)} "
            f"| {_cell(None if threshold is None else float(threshold))} |"
        )
    return lines


def _gates(summary: EvaluationSummary) -> list[str]:
    lines = ["", "## Gates", ""]
    lines += [f"- {'✅' if check.passed else '❌'} {check.message}" for check in summary.gates.checks]
    return lines


def _checkpoints(summary: EvaluationSummary) -> list[str]:
    if not summary.checkpoints:
        return []
    metric = summary.primary_metric
    best = summary.best_checkpoint.checkpoint_id if summary.best_checkpoint else None
    lines = ["", f"## Checkpoints by {metric}", "", "| checkpoint | epoch | step | failed | " + metric + " | |"]
    lines.append("|---|---:|---:|---:|---:|---|")
    for c in summary.checkpoints:
        notes = ", ".join(filter(None, ("best" if c.checkpoint_id == best else "", "default" if c.is_default else "")))
        lines.append(
            f"| {c.checkpoint_id} | {_cell(c.epoch)} | {_cell(c.step)} | {c.failed} | {_cell(c.metrics[metric])} "
            f"| {notes} |"
        )
    return lines


def _failures(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    failed = [row for row in rows if row["failed"]]
    if not failed:
        return []
    lines = ["", f"## Failed requests (first {min(FAILED_SHOWN, len(failed))} of {len(failed)})", ""]
    lines += ["| line | input | error |", "|---:|---|---|"]
    lines += [f"| {row['line']} | {_cell(row['input'])} | {_cell(row['error'])} |" for row in failed[:FAILED_SHOWN]]
    return lines


def _worst(rows: Sequence[Mapping[str, Any]], metric: str) -> list[str]:
    scored = [row for row in rows if row["tuned_scores"] is not None]
    if not scored:
        return []
    worst = sorted(scored, key=lambda row: (row["tuned_scores"][metric], row["index"]))[:WORST_SHOWN]
    lines = ["", f"## Worst examples by {metric} (tuned)", ""]
    lines += ["| line | score | input | expected | tuned | baseline |", "|---:|---:|---|---|---|---|"]
    lines += [
        f"| {row['line']} | {row['tuned_scores'][metric]:.4f} | {_cell(row['input'])} | {_cell(row['expected'])} "
        f"| {_cell(row['tuned_output'])} | {_cell(row['baseline_output'])} |"
        for row in worst
    ]
    return lines
