"""crucible-kernel: the command line.

crucible-kernel run FILE.lua [ARG ...] [--timeout SECONDS] [--max-memory SIZE] [--safe [--allow CAPS]]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from . import __version__

EXIT_USAGE = 2
RUN_HINT = " (safe mode: grant it with crucible-kernel run --safe --allow {capability})"


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


def _capabilities(value: str) -> frozenset[str]:
    from .runtime.capabilities import parse_capabilities

    try:
        return parse_capabilities(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


SAFE_HELP = (
    "safe mode, for code you do not trust: no C modules, no binary chunks, a debug library "
    "reduced to traceback and getinfo, and writing files (filesystem), running commands (shell), "
    "HTTP (network) and WebSockets (websocket) refused unless granted with --allow. Not an OS "
    "sandbox: reading files and the environment stays possible"
)
ALLOW_HELP = "capabilities granted in safe mode, comma-separated: filesystem, shell, network, websocket"


def _add_safe_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--safe", action="store_true", help=SAFE_HELP)
    parser.add_argument("--allow", type=_capabilities, metavar="CAPS", help=ALLOW_HELP)


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
        help="cap on the Lua heap, from 1M to 1T, e.g. 256M or 2G (default 1G, or "
        "$CRUCIBLE_LUA_MAX_MEMORY); beyond it allocations fail with the Lua error 'not enough memory'",
    )
    _add_safe_options(run)
    install = commands.add_parser(
        "install",
        help="install the Jupyter kernelspec",
        description=(
            "Install the kernelspec (default name crucible-lua, shown as 'Lua (Crucible)'; with "
            "--safe a second one, crucible-lua-safe, shown as 'Lua (Crucible, safe)'). "
            "Without --user or --prefix it goes into this Python's prefix (--sys-prefix), "
            "which is what a virtual environment wants."
        ),
    )
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user")
    where.add_argument("--sys-prefix", action="store_true", help="install into sys.prefix (the default)")
    where.add_argument("--prefix", metavar="DIR", help="install under DIR/share/jupyter/kernels")
    install.add_argument(
        "--name", help="kernelspec name (default: crucible-lua, or crucible-lua-safe with --safe)"
    )
    install.add_argument(
        "--display-name", metavar="TEXT", help="name shown in Jupyter (default: Lua (Crucible))"
    )
    _add_safe_options(install)

    execute = commands.add_parser(
        "execute",
        help="run a notebook through the kernel and print what each cell produced",
        description="Execute every cell of NOTEBOOK with nbclient (in the notebook's folder) and "
        "print each cell's outputs. Exit status 1 if a cell failed.",
    )
    execute.add_argument("notebook", metavar="NOTEBOOK", help="the .ipynb file")
    execute.add_argument(
        "--kernel", metavar="NAME", help="kernelspec (default: the notebook's, else crucible-lua)"
    )
    execute.add_argument(
        "--timeout",
        type=_positive_float,
        default=300,
        metavar="SECONDS",
        help="longest time one cell may take (default 300)",
    )
    execute.add_argument("--output", metavar="FILE", help="also save the executed notebook to FILE")
    execute.add_argument("--allow-errors", action="store_true", help="keep going after a failing cell")

    commands.add_parser(
        "kernel",
        help="run the kernel process (what the kernelspec starts; takes ipykernel's options, e.g. -f FILE)",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["kernel"]:
        from .kernel.app import CrucibleKernelApp
        from .kernel.kernel import CrucibleKernel

        CrucibleKernelApp.launch_instance(argv[1:], kernel_class=CrucibleKernel)
        return 0
    args = build_parser().parse_args(argv)
    if getattr(args, "allow", None) is not None and not args.safe:
        print("crucible-kernel: --allow grants capabilities in safe mode; add --safe", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "install":
        from .kernel.install import DEFAULT_NAME, SAFE_NAME, install

        name = args.name or (SAFE_NAME if args.safe else DEFAULT_NAME)
        folder = install(
            user=args.user,
            prefix=args.prefix,
            name=name,
            display_name=args.display_name,
            safe=args.safe,
            allow=args.allow or frozenset(),
        )
        print(f"Installed kernelspec {name} in {folder}")
        return 0
    if args.command == "execute":
        return _execute(args)
    if args.command == "run":
        from .runner import RunOptions, run_file

        try:
            with open(args.file, "rb") as f:
                source = f.read()
        except OSError as exc:
            print(f"crucible-kernel: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        max_memory = args.max_memory
        if max_memory is None:
            from .runtime.engine import max_memory_from_env

            try:
                max_memory = max_memory_from_env()
            except ValueError as exc:
                print(f"crucible-kernel: {exc}", file=sys.stderr)
                return EXIT_USAGE
        safe = None
        if args.safe:
            from .runtime import SafeMode

            safe = SafeMode(args.allow or frozenset(), RUN_HINT)
        options = RunOptions(timeout=args.timeout, max_memory=max_memory, safe=safe)
        return asyncio.run(run_file(args.file, source, args.args, options))
    return EXIT_USAGE


def _execute(args: argparse.Namespace) -> int:
    from .notebooks import execute_notebook, format_outputs

    try:
        nb = execute_notebook(
            args.notebook, kernel_name=args.kernel, timeout=args.timeout, allow_errors=args.allow_errors
        )
    except FileNotFoundError as exc:
        print(f"crucible-kernel: cannot read {args.notebook}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # nbclient's CellExecutionError carries the failing cell and its error
        print(f"crucible-kernel: {exc}", file=sys.stderr)
        return 1
    print(format_outputs(nb))
    if args.output:
        import nbformat

        nbformat.write(nb, args.output)
    failed = any(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
