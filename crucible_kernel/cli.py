"""crucible-kernel: the command line.

crucible-kernel run FILE.lua [ARG ...] [--timeout SECONDS] [--max-memory SIZE]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from . import __version__

EXIT_USAGE = 2


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not number > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value!r}")
    return number


def _memory_size(value: str) -> int:
    from .runtime.engine import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crucible-kernel",
        description="Lua 5.4 with Crucible's cru.* plugin runtime: a Jupyter kernel and a command line.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser(
        "run",
        help="run a Lua file against the cru.* runtime",
        description=(
            "Run FILE as the main chunk (its arguments are `...` and the global `arg`), then wait "
            "for the tasks it spawned. Exit status: 0 on success, 1 on an uncaught Lua error "
            "(traceback on stderr), the code given to os.exit, 124 when --timeout expires, 130 "
            "on Ctrl-C (which interrupts the running Lua, even a busy loop)."
        ),
    )
    run.add_argument("file", metavar="FILE", help="the Lua file to run")
    run.add_argument("args", metavar="ARG", nargs="*", help="arguments passed to the chunk")
    run.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="stop everything after this many seconds of wall time (exit status 124)",
    )
    run.add_argument(
        "--max-memory",
        type=_memory_size,
        metavar="SIZE",
        help="cap on the Lua heap, e.g. 256M or 2G (default 1G, or $CRUCIBLE_LUA_MAX_MEMORY); "
        "beyond it allocations fail with the Lua error 'not enough memory'",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        from .runner import run_file

        try:
            with open(args.file, "rb") as f:
                source = f.read()
        except OSError as exc:
            print(f"crucible-kernel: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        return asyncio.run(run_file(args.file, source, args.args, args.timeout, args.max_memory))
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
