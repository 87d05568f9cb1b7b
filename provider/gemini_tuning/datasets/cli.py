"""``gemini-tuning validate``: the dataset engine from the command line.

Exit codes: 0 valid (warnings allowed), 1 invalid (each problem on stdout as ``PATH:LINE: FIELD: message``),
2 usage error (missing file, unknown format, bad template).
"""

from __future__ import annotations

import argparse
import json
import sys

from gemini_tuning.datasets.formats import BACKENDS


def add_validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="dataset file: local path or URI (file://, gs://, s3://, memory://)")
    parser.add_argument(
        "--backend", choices=BACKENDS, default="gemini_api", help="target backend (default: gemini_api)"
    )
    parser.add_argument("--format", choices=("jsonl", "json", "csv"), help="default: from the file suffix")
    parser.add_argument("--input-column", help="field/column holding the input")
    parser.add_argument("--output-column", help="field/column holding the output (default: output)")
    parser.add_argument("--prompt-template", help='applied to every input, e.g. "question: {question}"')
    parser.add_argument(
        "--on-invalid",
        choices=("fail", "skip"),
        default="fail",
        help="skip: invalid rows are rejected and the rest is judged on its own (exit 0 if usable)",
    )
    parser.add_argument("--validation-fraction", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deduplicate", action="store_true")
    parser.add_argument("--rejects", metavar="FILE", help="write rejected records with their problems (JSONL)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of problem lines")
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    from gemini_tuning.datasets.engine import Options, validate_dataset
    from gemini_tuning.datasets.readers import DatasetUsageError

    options = Options(
        backend=args.backend,
        format=args.format,
        input_column=args.input_column,
        output_column=args.output_column,
        prompt_template=args.prompt_template,
        on_invalid=args.on_invalid,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        deduplicate=args.deduplicate,
    )
    on_problem = None if args.json else (lambda problem: print(problem))
    try:
        report = validate_dataset(args.path, options, rejects_uri=args.rejects, on_problem=on_problem)
    except DatasetUsageError as exc:
        print(f"gemini-tuning validate: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for warning in report["warnings"]:
            print(f"warning: {warning}", file=sys.stderr)
        verdict = "valid" if report["ok"] else "INVALID"
        print(
            f"{args.path}: {verdict}: {report['total']} examples, {report['valid']} valid, "
            f"{report['rejected']} rejected, {report['duplicates']} duplicates, "
            f"{report['problem_count']} problem(s)",
            file=sys.stderr,
        )
    return 0 if report["ok"] else 1
