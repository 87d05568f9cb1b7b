from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.dataset_helpers import pairs, write_jsonl

REPO = Path(__file__).resolve().parents[2]


def cli(argv):
    """Through the project CLI when it imports (the emulator subcommand may not exist yet), else our parser."""
    try:
        from gemini_tuning.cli import main

        return main(["validate", *argv])
    except ImportError:
        import argparse

        from gemini_tuning.datasets.cli import add_validate_arguments

        parser = argparse.ArgumentParser()
        add_validate_arguments(parser.add_subparsers().add_parser("validate"))
        try:
            args = parser.parse_args(["validate", *argv])
        except SystemExit as exc:
            return int(exc.code)
        return args.func(args)


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


def test_skip_mode_exit_0(tmp_path):
    src = write_jsonl(tmp_path / "d.jsonl", [*pairs(20), "{bad"])
    assert cli([str(src), "--on-invalid", "skip"]) == 0


def test_dataset_level_problem_line(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", pairs(3))
    assert cli([str(src)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{src}:0: dataset: 3 training examples; the Gemini API needs at least 20"
    ]


def test_json_report(tmp_path, capsys):
    src = write_jsonl(tmp_path / "d.jsonl", pairs(25))
    assert cli([str(src), "--json", "--backend", "vertex_ai", "--validation-fraction", "0.2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == 25 and report["backend"] == "vertex_ai" and report["ok"]


def test_csv_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("q,a\n" + "".join(f"x{i},y{i}\n" for i in range(20)))
    assert cli([str(path), "--input-column", "q", "--output-column", "a"]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.jsonl"], "no such file"),
        (["data.txt"], "cannot infer the format"),
        (["data.jsonl", "--prompt-template", "{"], "invalid prompt_template"),
    ],
)
def test_usage_errors_exit_2(tmp_path, capsys, argv, message):
    (tmp_path / "data.txt").write_text("x")
    write_jsonl(tmp_path / "data.jsonl", pairs(20))
    argv = [str(tmp_path / argv[0]), *argv[1:]]
    assert cli(argv) == 2
    assert message in capsys.readouterr().err


def test_unknown_format_flag_exit_2(tmp_path):
    assert cli([str(tmp_path / "x.jsonl"), "--format", "xml"]) == 2


def test_console_script_subprocess(tmp_path):
    script = REPO / ".venv" / "bin" / "gemini-tuning"
    src = write_jsonl(tmp_path / "d.jsonl", [*pairs(20), "nope"])
    proc = subprocess.run([str(script), "validate", str(src)], capture_output=True, text=True)
    if "No module named 'gemini_tuning.emulator.server'" in proc.stderr:
        pytest.skip("the emulator subcommand is not in the tree yet; gemini-tuning cannot start")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [f"{src}:21: json: invalid JSON: Expecting value (column 1)"]
    proc = subprocess.run([str(script), "validate", str(tmp_path / "none.jsonl")], capture_output=True, text=True)
    assert proc.returncode == 2
