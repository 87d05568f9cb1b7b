"""The example DAGs' extract step exports the same cumulative data whichever worker runs it."""

from __future__ import annotations

import json

from example_data import stage_tickets  # dags/ is on sys.path (tests/conftest.py)


def _rows(uri: str) -> list[dict]:
    with open(uri.removeprefix("file://")) as f:
        return [json.loads(line) for line in f]


def test_batches_staged_by_different_workers_are_all_exported(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", f"file://{tmp_path}/shared-staging")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "worker-a"))
    stage_tickets("weekly.db", "week1.jsonl", count=30, seed=1, batch="2026-03-02")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "worker-b"))  # another worker, its own local database
    uri, rows = stage_tickets("weekly.db", "week2.jsonl", count=20, seed=2, batch="2026-03-09")
    assert rows == 50 == len(_rows(uri))


def test_a_batch_is_recorded_once(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__GEMINI_TUNING__STAGING_URI", f"file://{tmp_path}/staging")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    first = stage_tickets("tickets.db", "tickets.jsonl", count=25)
    again = stage_tickets("tickets.db", "tickets.jsonl", count=25)
    assert first == again and first[1] == 25
    assert _rows(first[0])[0].keys() == {"ticket", "category"}
