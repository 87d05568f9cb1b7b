"""Per-example rows, the summary (XCom) and the markdown report of an evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gemini_tuning.evaluation.metrics import Metric, mean, score

ROLES = ("tuned", "baseline")
WORST_SHOWN = 5
FAILED_SHOWN = 5
CELL_CHARS = 160


def build_rows(
    examples: Sequence[Any], outcomes: Mapping[str, Sequence[Any]], metrics: Mapping[str, Metric]
) -> list[dict[str, Any]]:
    """One JSON-safe row per example, in input order. Failed requests get no scores (``None``), never a zero."""
    rows = []
    for example in examples:
        row: dict[str, Any] = {
            "index": example.index,
            "line": example.line,
            "input": example.input,
            "expected": example.expected,
        }
        errors = []
        for role in ROLES:
            if role not in outcomes:
                row[f"{role}_output"] = row[f"{role}_scores"] = row[f"{role}_error"] = None
                continue
            outcome = outcomes[role][example.index]
            row[f"{role}_output"] = outcome.output
            row[f"{role}_error"] = outcome.error
            if outcome.ok:
                where = f"example {example.line} ({role} answer)"
                row[f"{role}_scores"] = score(metrics, outcome.output, example.expected, where=where)
            else:
                row[f"{role}_scores"] = None
                errors.append(f"{role}: {outcome.error}")
        row["failed"] = bool(errors)
        row["error"] = "; ".join(errors) or None
        rows.append(row)
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def summarize(
    rows: Sequence[Mapping[str, Any]],
    metric_names: Sequence[str],
    *,
    model: str,
    baseline_model: str | None,
) -> dict[str, Any]:
    """Counts and per-metric means. A metric's mean is over the examples that model answered."""
    examples = len(rows)
    failed = sum(1 for row in rows if row["failed"])
    metrics: dict[str, dict[str, float | None]] = {}
    for name in metric_names:
        tuned = mean(row["tuned_scores"][name] for row in rows if row["tuned_scores"] is not None)
        baseline = None
        if baseline_model:
            baseline = mean(row["baseline_scores"][name] for row in rows if row["baseline_scores"] is not None)
        delta = tuned - baseline if tuned is not None and baseline is not None else None
        metrics[name] = {"tuned": _round(tuned), "baseline": _round(baseline), "delta": _round(delta)}
    return {
        "model": model,
        "baseline_model": baseline_model,
        "examples": examples,
        "succeeded": examples - failed,
        "failed": failed,
        "failed_fraction": round(failed / examples, 6) if examples else 0.0,
        "failed_requests": {
            "tuned": sum(1 for row in rows if row["tuned_error"] is not None),
            "baseline": sum(1 for row in rows if row["baseline_error"] is not None),
        },
        "metrics": metrics,
    }


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
    summary: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    dataset: str,
    prompt_template: str | None = None,
    min_scores: Mapping[str, float] | None = None,
) -> str:
    """A short human-readable report: counts, a metric table, the gate verdict, failures and worst examples."""
    gates = summary["gates"]
    baseline = summary["baseline_model"]
    lines = [
        f"# Evaluation of `{summary['model']}`",
        "",
        f"- Dataset: `{dataset}`",
        f"- Baseline: `{baseline}`" if baseline else "- Baseline: none",
        f"- Prompt template: `{prompt_template}`" if prompt_template else "- Prompt template: none",
        f"- Verdict: **{'PASSED' if gates['passed'] else 'FAILED'}**",
        "",
        "## Counts",
        "",
        "| examples | succeeded | failed | failed fraction | failed tuned requests | failed baseline requests |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {summary['examples']} | {summary['succeeded']} | {summary['failed']} | {summary['failed_fraction']:.4f} "
        f"| {summary['failed_requests']['tuned']} | {summary['failed_requests']['baseline']} |",
        "",
        "## Metrics",
        "",
        "Means over the examples each model answered (failed requests are counted above, not scored).",
        "",
        "| metric | tuned | baseline | delta | min score |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in summary["metrics"].items():
        threshold = (min_scores or {}).get(name)
        lines.append(
            f"| {name} | {_cell(values['tuned'])} | {_cell(values['baseline'])} | {_delta(values['delta'])} "
            f"| {_cell(None if threshold is None else float(threshold))} |"
        )
    lines += ["", "## Gates", ""]
    if gates["reasons"]:
        lines += [f"- ❌ {reason}" for reason in gates["reasons"]]
    else:
        lines.append("- ✅ all gates passed")
    failed = [row for row in rows if row["failed"]]
    if failed:
        lines += ["", f"## Failed requests (first {min(FAILED_SHOWN, len(failed))} of {len(failed)})", ""]
        lines += ["| line | input | error |", "|---:|---|---|"]
        lines += [f"| {row['line']} | {_cell(row['input'])} | {_cell(row['error'])} |" for row in failed[:FAILED_SHOWN]]
    primary = next(iter(min_scores or summary["metrics"]), None)
    scored = [row for row in rows if row["tuned_scores"] is not None]
    if primary and scored:
        worst = sorted(scored, key=lambda row: (row["tuned_scores"][primary], row["index"]))[:WORST_SHOWN]
        lines += ["", f"## Worst examples by {primary} (tuned)", ""]
        lines += ["| line | score | input | expected | tuned | baseline |", "|---:|---:|---|---|---|---|"]
        lines += [
            f"| {row['line']} | {row['tuned_scores'][primary]:.4f} | {_cell(row['input'])} | {_cell(row['expected'])} "
            f"| {_cell(row['tuned_output'])} | {_cell(row['baseline_output'])} |"
            for row in worst
        ]
    return "\n".join(lines) + "\n"
