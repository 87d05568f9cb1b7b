"""Paging through an evaluation's per-example file without reading it whole."""

from __future__ import annotations

import json

from gemini_tuning.ui import results


def write(tmp_path, n: int) -> str:
    path = tmp_path / "results.jsonl"
    with path.open("w") as f:
        for i in range(n):
            expected = f"answer {i}"
            tuned = expected if i % 3 else f"wrong {i}"
            record = {
                "line": i + 1,
                "input": f"q{i}",
                "expected": expected,
                "tuned_output": tuned,
                "baseline_output": "?",
                "tuned_scores": {"m": float(tuned == expected)},
                "baseline_scores": {"m": 0.0},
                "error": None,
            }
            f.write(json.dumps(record) + "\n")
        f.write("not json\n")
    return path.as_uri()


def test_pages_are_bounded_and_ordered(tmp_path):
    uri = write(tmp_path, 60)
    first = results.read_page(uri, offset=0, limit=25, metric="m")
    last = results.read_page(uri, offset=50, limit=25, metric="m")
    assert ([r.line for r in first.rows][:3], len(first.rows), first.has_more) == ([1, 2, 3], 25, True)
    assert ([r.line for r in last.rows][0], len(last.rows), last.has_more) == (51, 10, False)
    assert (first.rows[1].tuned_score, first.rows[0].tuned_score, first.rows[0].baseline_score) == (1.0, 0.0, 0.0)


def test_disagreements_only(tmp_path):
    page = results.read_page(write(tmp_path, 12), limit=3, only_disagreements=True, metric="m")
    assert [r.line for r in page.rows] == [1, 4, 7] and page.has_more
    assert all(r.disagrees for r in page.rows)
    assert [r.line for r in results.read_page(page.uri, offset=3, only_disagreements=True, metric="m").rows] == [10]


def test_a_missing_file_is_reported_not_raised(tmp_path):
    page = results.read_page((tmp_path / "gone.jsonl").as_uri(), metric="m")
    assert page.rows == [] and page.error.startswith(f"The per-example results could not be read from {page.uri}")
    assert results.read_page(None, metric="m").error is None
