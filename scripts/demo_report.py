"""Print what the demo run produced: task states, the evaluation summary, report and plot paths."""

from __future__ import annotations

import json
import os
import sys


def main(dag_id: str) -> int:
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id).order_by(DagRun.id.desc()).first()
        if run is None:
            print(f"no run of {dag_id} found")
            return 1

        def xcom(task_id, key="return_value"):
            row = session.query(XComModel).filter_by(dag_id=dag_id, run_id=run.run_id, task_id=task_id, key=key).first()
            if row is None:
                return None
            return json.loads(row.value) if isinstance(row.value, str) else row.value

        print(f"\n==> {dag_id} run {run.run_id}: {run.state}")
        for ti in sorted(run.get_task_instances(session=session), key=lambda t: t.start_date or run.start_date):
            print(f"    {ti.task_id:<16} {ti.state}")
        validate, tune, evaluation, promote = (xcom(t) for t in ("validate", "tune", "evaluate", "promote"))
        picked = xcom("pick_checkpoint")
        if validate:
            print(
                f"\n    dataset: {validate['valid']}/{validate['total']} valid, {validate['rejected']} rejected, "
                f"{validate['train_count']} train / {validate['validation_count']} held out"
            )
        if tune:
            print(f"    backend: {tune['backend']}, tuned model: {tune['tuned_model']}")
            print_loss(tune)
            print_data_stats(tune.get("data_stats"))
            print_checkpoints(tune, picked)
            print(f"    loss curve PNG: {local(tune.get('loss_curve_uri'))}")
        if evaluation:
            print("\n    evaluation (tuned vs base):")
            for name, m in evaluation["metrics"].items():
                base = "n/a" if m.get("baseline") is None else f"{m['baseline']:.3f}"
                delta = "" if m.get("delta") is None else f" ({m['delta']:+.3f})"
                print(f"      {name:<24} tuned {m['tuned']:.3f}  base {base}{delta}")
            print(
                f"      examples {evaluation['examples']}, failed {evaluation['failed']}, gates passed: {evaluation['gates']['passed']}"
            )
            print(f"    report: {local(evaluation.get('report_uri'))}")
            print(f"    per-example results: {local(evaluation.get('results_uri'))}")
        if promote:
            print(f"    promoted: {promote['model']}")
        return 0 if run.state == "success" else 1


def local(uri: str | None) -> str | None:
    """A gs:// URI with the local file the demo maps it to."""
    root = os.environ.get("GEMINI_TUNING_DEMO_GCS")
    if not uri or not root or not uri.startswith("gs://"):
        return uri
    return f"{uri}\n      (on disk: {os.path.join(root, uri.removeprefix('gs://'))})"


def print_loss(tune: dict) -> None:
    source = "TensorBoard time series" if tune["backend"] == "vertex_ai" else "loss snapshots"
    if not tune["loss_curve"]:
        print(f"\n    loss curve: none ({tune.get('metrics_missing')})")
        return
    evals = {p["epoch"]: p["mean_loss"] for p in tune.get("eval_loss_curve") or []}
    print(f"\n    loss per epoch (from the {source}):")
    print("      epoch  train loss  validation loss")
    for point in tune["loss_curve"]:
        mark = "  <- recommended" if point["epoch"] == tune["recommended_epoch_count"] else ""
        val = f"{evals[point['epoch']]:.4f}" if point["epoch"] in evals else "-"
        print(f"      {point['epoch']:>5}  {point['mean_loss']:>10.4f}  {val:>15}{mark}")
    accuracy = tune.get("token_accuracy")
    print(
        f"      recommended_epoch_count={tune['recommended_epoch_count']} (from {tune.get('recommended_epoch_source')})"
        + (f", token accuracy {accuracy:.3f}" if accuracy is not None else "")
    )


def print_data_stats(stats: dict | None) -> None:
    if not stats:
        print("\n    data stats: none (the Gemini API reports none)")
        return
    tokens_in, tokens_out = stats.get("input_token_distribution") or {}, stats.get("output_token_distribution") or {}
    print(
        f"\n    data stats (from the service): {stats['example_count']} examples, "
        f"{stats['billable_token_count']} billable tokens, {stats['tuning_step_count']} tuning steps, "
        f"{stats['truncated_example_count']} truncated, {stats['dropped_example_count']} dropped"
    )
    if tokens_in:
        print(
            f"      tokens per example: input mean {tokens_in.get('mean') or 0:.1f} (max {tokens_in.get('max')}), "
            f"output mean {tokens_out.get('mean') or 0:.1f} (max {tokens_out.get('max')})"
        )
    for dropped in stats.get("dropped_examples") or []:
        print(f"      dropped line {dropped['index']}: {dropped['reason']}")


def print_checkpoints(tune: dict, picked: dict | None) -> None:
    if not tune.get("checkpoints"):
        return
    print("\n    checkpoints:")
    for c in tune["checkpoints"]:
        print(f"      {c['checkpoint_id']:>3}  epoch {c['epoch']}  step {c['step']}  {c['endpoint']}")
    if picked:
        print(f"    promoted checkpoint: {picked['default_checkpoint_id']} -> {picked['model']}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "gemini_tuning_pipeline"))
