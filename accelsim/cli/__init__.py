"""The `accelsim` command: a thin layer over the public API.

Each subcommand lives in one module of this package with a `register(subparsers)` function that adds
its parser and sets `func`, the function that runs it; `COMMANDS` lists the modules in `--help` order,
so a new command is one module and one line here. Bad input (an invalid field, an unknown name, an
unreadable file) prints one line naming the field and the allowed range to stderr and exits with
status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from accelsim.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, Parser
from accelsim.errors import InputError

__all__ = ["COMMANDS", "build_parser", "main"]

#: Command modules under accelsim.cli, imported when the parser is built.
COMMANDS = ("run", "llm", "study", "advise", "catalog", "trace", "replay", "dram")


def _version() -> str:
    try:
        return version("accelsim")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="accelsim", description="Cycle-level simulator of a neural-network accelerator.")
    parser.add_argument("--version", action="version", version=f"accelsim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:
        import_module(f"accelsim.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except InputError as exc:
        print(f"accelsim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("accelsim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (e.g. `head`) went away: stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except OSError as exc:
        # A file that cannot be written or read (missing directory, permissions, full disk).
        print(f"accelsim: error: {exc.filename or ''}: {exc.strerror or exc}".replace(": :", ":"), file=sys.stderr)
        return EXIT_USAGE
