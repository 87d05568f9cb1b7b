"""Print what the demo run produced: task states, the evaluation summary, report and plot paths."""

from __future__ import annotations

import json
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
        if validate:
            print(
                f"\n    dataset: {validate['valid']}/{validate['total']} valid, {validate['rejected']} rejected, "
                f"{validate['train_count']} train / {validate['validation_count']} held out"
            )
        if tune:
            print(f"    tuned model: {tune['model']} (recommended_epoch_count={tune['recommended_epoch_count']})")
            print(f"    loss curve PNG: {tune.get('loss_curve_uri')}")
        if evaluation:
            print("\n    evaluation (tuned vs base):")
            for name, m in evaluation["metrics"].items():
                base = "n/a" if m.get("baseline") is None else f"{m['baseline']:.3f}"
                delta = "" if m.get("delta") is None else f" ({m['delta']:+.3f})"
                print(f"      {name:<24} tuned {m['tuned']:.3f}  base {base}{delta}")
            print(
                f"      examples {evaluation['examples']}, failed {evaluation['failed']}, gates passed: {evaluation['gates']['passed']}"
            )
            print(f"    report: {evaluation.get('report_uri')}")
            print(f"    per-example results: {evaluation.get('results_uri')}")
        if promote:
            print(f"    promoted: {promote['model']}")
        return 0 if run.state == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "gemini_tuning_pipeline"))
