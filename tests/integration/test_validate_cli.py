from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gemini_tuning.cli import main
from tests.dataset_helpers import pairs, write_jsonl

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".venv" / "bin" / "gemini-tuning"


def cli(argv):
    return main(["validate", *argv])


def run(*argv):
    """The installed console script in its own process, as a user runs it (no unit-test config banner)."""
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__CORE__UNIT_TEST_MODE"}
    return subprocess.run([str(SCRIPT), *argv], capture_output=True, text=True, env=env)


def test_valid_exit_0_with_warnings(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", pairs(20))
    assert cli([str(src)]) == 0
    out = capsys.readouterr()
    assert out.out == ""
    assert "warning: only 20 training examples; 100-500 are recommended" in out.err


def test_invalid_exit_1_one_problem_per_line(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", [*pairs(20), "{bad", {"text_input": "a", "output": 1}])
    rejects = tmp_path / "rejects.jsonl"
    assert cli([str(src), "--rejects", str(rejects)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{src}:21: json: invalid JSON: Expecting property name enclosed in double quotes (column 2)",
        f"{src}:22: output: must be a string, got number",
    ]
    assert [json.loads(line)["line"] for line in rejects.read_text().splitlines()] == [21, 22]


def test_skip_mode_exit_0_within_max_rejected_fraction(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [*pairs(20), "{bad"])  # 1 of 21 rows: 4.8%
    assert cli([str(src), "--on-invalid", "skip"]) == 0


def test_max_rejected_fraction_option(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", [*pairs(30), *["{bad"] * 10])
    assert cli([str(src), "--on-invalid", "skip"]) == 1
    out = capsys.readouterr().out
    assert f"{src}:0: dataset: 10 of 40 examples rejected (25.0%), more than max_rejected_fraction=0.05" in out
    assert cli([str(src), "--on-invalid", "skip", "--max-rejected-fraction", "0.25"]) == 0


def test_systematic_problem_is_summarized_with_a_count(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", [{"text_input": f"q {i}", "answer": "a"} for i in range(1000)])
    assert cli([str(src)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == [f"{src}:{n}: output: missing field" for n in range(1, 6)]
    assert lines[5:] == [
        f"{src}:0: dataset: 0 training examples; Gemini API tuning needs at least 20",
        f"{src}: output: the same problem as line 1 on 995 more line(s), not listed: missing field",
    ]


def test_dataset_level_problem_line(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", pairs(3))
    assert cli([str(src)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{src}:0: dataset: 3 training examples; Gemini API tuning needs at least 20"
    ]


def test_json_report(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", pairs(25))
    assert cli([str(src), "--json", "--backend", "vertex_ai", "--validation-fraction", "0.2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == 25 and report["backend"] == "vertex_ai" and report["ok"]
    assert report["training_dataset_uri"] is None and report["staged"] is False  # the CLI stages nothing


def test_csv_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("q,a\n" + "".join(f"x{i},y{i}\n" for i in range(20)))
    assert cli([str(path), "--input-column", "q", "--output-column", "a"]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.jsonl"], "missing.jsonl: no such file"),
        (["data.txt"], "cannot infer the format"),
        (["."], ": is a directory; pass a file"),
        (["data.jsonl", "--prompt-template", "{"], "invalid prompt_template"),
        (["data.jsonl", "--validation-fraction", "1.5"], "validation_fraction must be in [0, 1)"),
        (["data.jsonl", "--max-rejected-fraction", "2"], "max_rejected_fraction must be in [0, 1]"),
        (["data.jsonl", "--rejects", "/proc/no/such/dir/rejects.jsonl", "--on-invalid", "skip"], "rejects.jsonl"),
    ],
)
def test_usage_and_io_errors_exit_2_with_one_line(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("x")
    write_jsonl(tmp_path / "data.jsonl", [*pairs(40), "{bad"])
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("gemini-tuning validate: error: ") and message in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["validate", "gs://bucket/data.jsonl"], "gs://bucket/data.jsonl: reading gs:// needs an extra package"),
        (["validate", "s3://bucket/data.jsonl"], "s3://bucket/data.jsonl: reading s3:// needs an extra package"),
        (["validate", "nope://bucket/data.jsonl"], "unsupported URI scheme 'nope://'"),
        (["validate", "x.jsonl", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
        (["validate", "x.jsonl", "--seed", "one"], "argument --seed: invalid int value: 'one'"),
        (["validate", "x.jsonl", "--colour"], "unrecognized arguments: --colour"),
        (["validate"], "the following arguments are required: path"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_console_script_usage_errors(argv, message):
    pytest.importorskip("fsspec")
    proc = run(*argv)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_console_script_invalid_data_exit_1(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [*pairs(20), "nope"])
    proc = run("validate", str(src))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [f"{src}:21: json: invalid JSON: Expecting value (column 1)"]


def test_help_is_plain_text_and_every_option_has_help():
    top = run("--help")
    assert top.returncode == 0 and "validate" in top.stdout and "emulator" in top.stdout
    proc = run("validate", "--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert "``" not in proc.stdout and ":param" not in proc.stdout
    import argparse

    from gemini_tuning.datasets.cli import add_validate_arguments

    parser = argparse.ArgumentParser()
    add_validate_arguments(parser)
    assert all(action.help for action in parser._actions), [a.dest for a in parser._actions if not a.help]


def test_version():
    from gemini_tuning import __version__

    proc = run("--version")
    assert (proc.returncode, proc.stdout.strip()) == (0, f"gemini-tuning {__version__}")


def test_validate_does_not_import_the_emulator(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", pairs(20))
    code = (
        "import sys; from gemini_tuning.cli import main; rc = main(['validate', sys.argv[1]]); "
        "print(rc, sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('uvicorn', 'fastapi')} "
        "| {m for m in sys.modules if m.startswith('gemini_tuning.emulator')}))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"
