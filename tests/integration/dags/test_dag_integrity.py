"""Every example DAG parses: no import errors, no heavy imports and no network at parse time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[3] / "dags"
EXPECTED = {
    "gemini_tuning_pipeline",
    "gemini_tuning_weekly",
    "export_labelled_tickets",
    "gemini_tuning_on_new_data",
    "gemini_tuning_taskflow",
    "gemini_tuning_deploy",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_all_example_dags_are_there(dagbag):
    assert set(dagbag.dag_ids) >= EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dags_are_tagged_and_not_catching_up(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "example" in dag.tags and dag.catchup is False


def test_weekly_variant_is_weekly_and_asset_variant_is_asset_driven(dagbag):
    assert dagbag.dags["gemini_tuning_weekly"].schedule == "@weekly"
    consumer = dagbag.dags["gemini_tuning_on_new_data"]
    assert "labelled_support_tickets" in str(consumer.timetable.asset_condition)


def test_pipeline_shape(dagbag):
    dag = dagbag.dags["gemini_tuning_pipeline"]
    order = ["extract", "validate", "upload", "tune", "evaluate", "promote", "delete_previous"]
    for upstream, downstream in zip(order, order[1:]):
        assert upstream in dag.get_task(downstream).upstream_task_ids or upstream in {
            t.task_id for t in dag.get_task(downstream).get_flat_relatives(upstream=True)
        }
    assert dag.get_task("tune").deferrable


#: Never imported while a DAG file is parsed: the SDK and its credentials, optional extras, the
#: OpenLineage integration (only its own calls import gemini_tuning.lineage), the Google provider.
HEAVY = (
    "google.genai",
    "google.auth",
    "google.oauth2",
    "matplotlib",
    "pandas",
    "rouge_score",
    "sacrebleu",
    "fastapi",
    "uvicorn",
    "openlineage",
    "airflow.providers.openlineage",
    "airflow.providers.google",
    "gemini_tuning.lineage",
)
#: What Airflow itself imports of every installed provider to read its configuration defaults.
PROVIDER_METADATA = {"airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info"}


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_parse_time_is_light_and_offline(path):
    """Import the DAG file in a fresh interpreter with sockets disabled; nothing heavy may load."""
    code = f"""
import socket, sys, runpy
def _no_network(*args, **kwargs):
    raise RuntimeError("network access at DAG parse time")
socket.socket.connect = _no_network
socket.create_connection = _no_network
runpy.run_path({str(path)!r})
loaded = set(sys.modules) - {PROVIDER_METADATA!r}
heavy = sorted({{p for p in {HEAVY!r} for m in loaded if m == p or m.startswith(p + ".")}})
print("HEAVY", heavy)
sys.exit(1 if heavy else 0)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
