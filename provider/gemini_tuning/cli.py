"""``gemini-tuning`` command line: ``emulator`` and ``validate``."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gemini-tuning", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    from gemini_tuning.datasets.cli import add_validate_arguments
    from gemini_tuning.emulator.server import add_emulator_arguments

    add_emulator_arguments(sub.add_parser("emulator", help="Run the Gemini API / Vertex AI tuning emulator."))
    add_validate_arguments(sub.add_parser("validate", help="Validate a tuning dataset before sending it."))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors
        return int(exc.code or 0)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
