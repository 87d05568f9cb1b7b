"""``gemini-tuning validate``: the dataset engine from the command line (offline: nothing is sent or staged).

Exit codes: 0 valid (warnings allowed), 1 invalid (each problem on stdout as ``PATH:LINE: FIELD: message``),
2 usage or I/O error (one line on stderr: missing file, a directory, unknown format or URI scheme, a scheme
whose filesystem package is not installed, bad option or template).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

PROG = "gemini-tuning validate"


def add_validate_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``gemini-tuning validate``; sets ``func`` to :func:`run_validate`."""
    parser.add_argument("path", help="dataset file: local path or URI (file://, gs://, s3://, memory://)")
    from gemini_tuning.backends import BACKEND_NAMES, DEFAULT_BACKEND

    parser.add_argument(
        "--backend", choices=BACKEND_NAMES, default=DEFAULT_BACKEND, help="target backend (default: %(default)s)"
    )
    parser.add_argument("--format", choices=("jsonl", "json", "csv"), help="file format (default: from the suffix)")
    parser.add_argument("--input-column", metavar="NAME", help="field or column holding the input")
    parser.add_argument("--output-column", metavar="NAME", help="field or column holding the output (default: output)")
    parser.add_argument("--prompt-template", metavar="TEMPLATE", help='applied to every input, e.g. "question: {q}"')
    parser.add_argument(
        "--on-invalid",
        choices=("fail", "skip"),
        default="fail",
        help="fail: any invalid row makes the dataset invalid (default); skip: invalid rows are rejected and "
        "the rest is judged on its own",
    )
    parser.add_argument(
        "--max-rejected-fraction",
        type=float,
        metavar="F",
        default=0.05,
        help="with --on-invalid skip, refuse the dataset when more than this share of rows is rejected "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--validation-fraction", type=float, metavar="F", default=0.0, help="share split off for validation (0-1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/validation split (default: 0)")
    parser.add_argument("--deduplicate", action="store_true", help="drop examples that repeat an earlier one")
    parser.add_argument("--rejects", metavar="FILE", help="write rejected records with their problems (JSONL)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of problem lines")
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from gemini_tuning.datasets.engine import Options, validate_dataset

    options = Options(
        backend=args.backend,
        format=args.format,
        input_column=args.input_column,
        output_column=args.output_column,
        prompt_template=args.prompt_template,
        on_invalid=args.on_invalid,
        max_rejected_fraction=args.max_rejected_fraction,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        deduplicate=args.deduplicate,
    )
    on_problem = None if args.json else print
    try:
        report = validate_dataset(args.path, options, rejects_uri=args.rejects, on_problem=on_problem)
    except Exception as exc:
        if not _is_usage_error(exc):
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    _print_report(args, report)
    return 0 if report["ok"] else 1


def _is_usage_error(exc: Exception) -> bool:
    """A usage error (its module is loaded once one was raised) or an I/O error writing ``--rejects``."""
    errors = sys.modules.get("gemini_tuning.datasets.errors")
    return isinstance(exc, OSError) or (errors is not None and isinstance(exc, errors.DatasetUsageError))


def _print_report(args: argparse.Namespace, report: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for repeated in report["repeated_problems"]:
        print(f"{report['source']}: {repeated['field']}: {repeated['message']}")
    for warning in report["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    verdict = "valid" if report["ok"] else "INVALID"
    print(
        f"{args.path}: {verdict}: {report['total']} examples, {report['valid']} valid, "
        f"{report['rejected']} rejected, {report['duplicates']} duplicates, "
        f"{report['problem_count']} problem(s)",
        file=sys.stderr,
    )
