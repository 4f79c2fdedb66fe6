"""crucible-kernel: the command line.

crucible-kernel run FILE.lua [ARG ...] [--timeout SECONDS] [--max-memory SIZE] [--safe [--allow CAPS]]
    [--no-sessions | --sessions-file FILE [--sessions-mode MODE] [--sessions-speed FACTOR]]
crucible-kernel run --plugin PATH [--plugin PATH ...] [--safe-plugin PATH ...] [--config FILE.toml]
    [FILE.lua [ARG ...]]
crucible-kernel test PATH [--filter TEXT] [--json]
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


def _speed(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a speed factor: {value!r}") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"the speed factor must be 0 or more, got {value!r}")
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
    run.add_argument("file", metavar="FILE", nargs="?", help="the Lua file to run (optional with --plugin)")
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
    run.add_argument(
        "--plugin",
        action="append",
        metavar="PATH",
        help="load this Crucible plugin (a folder, a .lua file, or a name on CRUCIBLE_PLUGIN_PATH) and "
        "start its services first; repeatable. Without FILE the services run until they finish, "
        "Ctrl-C or --timeout",
    )
    run.add_argument(
        "--safe-plugin",
        action="append",
        metavar="PATH",
        help="load this plugin in safe mode, after the --plugin ones: in a Lua environment of its own, "
        "with only the capabilities its plugin.yaml and spec table declare (no C modules, a reduced "
        "debug library); repeatable. The rest of the run is not confined (that is --safe)",
    )
    run.add_argument(
        "--config",
        metavar="FILE.toml",
        help="with --plugin: a Crucible config.toml whose [plugins.<name>] sections configure the plugins",
    )
    run.add_argument(
        "--no-sessions",
        action="store_true",
        help='cru.sessions without a session service: every call returns (nil, "no daemon connected")',
    )
    run.add_argument(
        "--sessions-file",
        metavar="FILE",
        help="record the agent sessions to FILE (JSON Lines), or replay them from it (see --sessions-mode)",
    )
    run.add_argument(
        "--sessions-mode",
        choices=("record", "replay", "auto"),
        help="with --sessions-file: record, replay, or auto (default: replay when FILE exists, else record)",
    )
    run.add_argument(
        "--sessions-speed",
        type=_speed,
        default=1.0,
        metavar="FACTOR",
        help="replay speed: 1 as recorded (the default), 2 twice as fast, 0 as fast as possible",
    )
    _add_safe_options(run)
    test = commands.add_parser(
        "test",
        help="run a plugin's Lua test suite (as Crucible's `cru plugin test`)",
        description=(
            "Run the *_test.lua and *_test.fnl files of the plugin folder PATH and its tests/ "
            "folder (or the one test file PATH) in a fresh Lua state, synchronously, with "
            "describe/it/assert and test_mocks. Prints each failure (suite, test, message, "
            "file:line and the line's source) on stderr, then 'N passed, N failed, N pending'. "
            "Exit status: 0 when green, 1 when a test failed, 2 when a file failed to load or "
            "no test ran, 130 on Ctrl-C (which interrupts the running test). Fennel files need "
            "a compiler: fennel.lua on the plugin's package.path, <plugin>/vendor/fennel.lua, "
            "or the file named by $CRUCIBLE_FENNEL."
        ),
    )
    test.add_argument("path", metavar="PATH", help="a plugin folder or one test file")
    test.add_argument(
        "--filter", metavar="TEXT", help="run only the tests whose name contains TEXT (plain text)"
    )
    test.add_argument(
        "--json",
        action="store_true",
        help="print the result object as JSON on stdout (what Lua prints goes to stderr)",
    )
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
        help="run notebooks through the kernel: print, store or check what each cell produced",
        description="Execute every cell of each NOTEBOOK with nbclient (in the notebook's folder, "
        "the kernel reached over private Unix sockets) and print each cell's outputs; or, with "
        "--inplace, store them in the notebook (with the widgets' state), so it reads without "
        "running; or, with --check, compare them with the stored ones and print what changed. "
        "Exit status 1 if a cell failed (cells tagged raises-exception may) or, with --check, if "
        "outputs changed.",
    )
    execute.add_argument("notebook", metavar="NOTEBOOK", nargs="+", help="the .ipynb file(s)")
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
    stored = execute.add_mutually_exclusive_group()
    stored.add_argument("--output", metavar="FILE", help="also save the executed notebook to FILE")
    stored.add_argument(
        "--inplace",
        action="store_true",
        help="save each executed notebook over itself: its stored outputs are refreshed",
    )
    execute.add_argument(
        "--check",
        action="store_true",
        help="compare the fresh outputs with those stored in the notebook, cell by cell, and print "
        "a diff of each cell that changed; what varies between runs (addresses, durations, task and "
        "session ids, ports) does not count",
    )
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
    if args.command == "test":
        return asyncio.run(_test(args))
    if args.command == "run":
        from .runner import RunOptions, run_file

        if args.file is None and not args.plugin and not args.safe_plugin:
            print("crucible-kernel: run needs a FILE, or --plugin PATH", file=sys.stderr)
            return EXIT_USAGE
        if args.config and not args.plugin and not args.safe_plugin:
            print("crucible-kernel: --config needs --plugin", file=sys.stderr)
            return EXIT_USAGE
        source = None
        try:
            if args.file is not None:
                with open(args.file, "rb") as f:
                    source = f.read()
        except OSError as exc:
            print(f"crucible-kernel: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
        if args.sessions_mode and not args.sessions_file:
            print("crucible-kernel: --sessions-mode needs --sessions-file", file=sys.stderr)
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
        options = RunOptions(
            timeout=args.timeout,
            max_memory=max_memory,
            safe=safe,
            sessions=not args.no_sessions,
            sessions_file=args.sessions_file,
            sessions_mode=args.sessions_mode,
            sessions_speed=args.sessions_speed,
            plugins=args.plugin or [],
            safe_plugins=args.safe_plugin or [],
            config=args.config,
        )
        return asyncio.run(run_file(args.file, source, args.args, options))
    return EXIT_USAGE


async def _test(args: argparse.Namespace) -> int:
    import json
    import signal

    from .plugins.testing import SuiteRun, format_report
    from .runtime import TerminalHost

    host = TerminalHost()
    if args.json:  # keep stdout for the JSON
        host._out = sys.stderr.buffer
    suite = SuiteRun(args.path, filter=args.filter, host=host)
    # A plain handler: it also runs while Lua computes (inside the interrupt hook's call).
    previous = signal.signal(signal.SIGINT, lambda signum, frame: suite.interrupt())
    try:
        result = await suite.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        host.flush()
    if args.json:
        print(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        details, summary = format_report(result)
        sys.stderr.write(details)
        sys.stderr.flush()
        sys.stdout.write(summary)
    return result.exit_code


def _execute(args: argparse.Namespace) -> int:
    if args.output and len(args.notebook) > 1:
        print("crucible-kernel: --output takes one NOTEBOOK; use --inplace for several", file=sys.stderr)
        return EXIT_USAGE
    status = 0
    for path in args.notebook:
        status = max(status, _execute_one(path, args))
    return status


def _execute_one(path: str, args: argparse.Namespace) -> int:
    import nbformat

    from .notebooks import execute_notebook, failed_cells, format_outputs

    try:
        stored = nbformat.read(path, as_version=4) if args.check else None
        nb = execute_notebook(
            path, kernel_name=args.kernel, timeout=args.timeout, allow_errors=args.allow_errors
        )
    except FileNotFoundError as exc:
        print(f"crucible-kernel: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # nbclient's CellExecutionError carries the failing cell and its error
        print(f"crucible-kernel: {path}: {exc}", file=sys.stderr)
        return 1
    status = 1 if failed_cells(nb) else 0
    if args.check:
        from .reproduce import compare

        changes = compare(stored, nb)
        if changes:
            print(f"{path}: {len(changes)} code cell(s) changed (to store this run: execute --inplace)")
            print("\n\n".join(changes))
            status = 1
        else:
            print(f"{path}: the outputs match the stored ones")
    elif not args.inplace:
        print(format_outputs(nb))
    if args.inplace:
        nbformat.write(nb, path)
        print(f"{path}: outputs stored")
    elif args.output:
        nbformat.write(nb, args.output)
    return status


if __name__ == "__main__":
    sys.exit(main())
