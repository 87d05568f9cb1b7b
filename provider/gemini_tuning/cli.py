"""The ``gemini-tuning`` command line. Each area registers its subcommand in ``SUBCOMMANDS``.

Only the chosen subcommand's module is imported, so ``gemini-tuning validate`` never loads the emulator
(FastAPI, uvicorn) and ``gemini-tuning --help`` loads neither. Usage errors exit 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gemini_tuning import __version__

DESCRIPTION = "Supervised fine-tuning of Gemini models with Apache Airflow: command-line tools."

#: subcommand -> (one-line help, "module:function" that adds its arguments and sets ``func``)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "validate": (
        "Validate a tuning dataset against a backend's rules and limits, offline.",
        "gemini_tuning.datasets.cli:add_validate_arguments",
    ),
    "emulator": (
        "Run the Gemini API / Vertex AI tuning emulator (needs the [emulator] extra).",
        "gemini_tuning.emulator.server:add_emulator_arguments",
    ),
}


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (no usage block), exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s arguments are added (and its module imported)."""
    parser = _Parser(prog="gemini-tuning", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, (help_text, target) in SUBCOMMANDS.items():
        subparser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            _load(name, target)(subparser)
    return parser


def _load(name: str, target: str):
    module, function = target.split(":")
    try:
        return getattr(importlib.import_module(module), function)
    except ImportError as exc:
        sys.exit(
            f"gemini-tuning {name}: error: {exc}; install the extra it needs, e.g. "
            f"pip install 'airflow-provider-gemini-tuning[{name}]'"
        )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    try:
        args = build_parser(command if command in SUBCOMMANDS else None).parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0), a missing extra (message)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 2
        return int(exc.code or 0)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
