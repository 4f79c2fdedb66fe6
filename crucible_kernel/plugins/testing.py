"""Running a plugin's Lua test suite, as Crucible's `cru plugin test` does.

`SuiteRun(path, filter=...).run()` finds the test files (`*_test.lua` and `*_test.fnl` in the
plugin folder and its `tests/`, or the one file given), makes a fresh Lua state with the module
set of the reference's bare executor (`Runtime(vm="bare")`), and runs `lua/suite.lua` in it as
one task: package.path, the mocks, every file loaded, then `run_tests()`, all synchronously.
The describe/it/assert globals and `test_mocks` themselves are part of the runtime (every VM
has them); this module is the runner around them.

The result (`SuiteResult`) is the reference's result object plus the pending count, the source
line of each failure, and a verdict: exit status 0 when green, 1 on failures, 2 on load
failures or when no test ran (zero tests is never green), 130 when interrupted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runtime import Host, Runtime, TaskState
from ..runtime.convert import text

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_RUN",
    "EXIT_OK",
    "Failure",
    "LoadFailure",
    "Outcome",
    "SuiteResult",
    "SuiteRun",
    "discover",
    "format_report",
    "run_suite",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NOT_RUN = 2  # load failures, no test files, no tests
EXIT_INTERRUPTED = 130

NO_TEST_FILES = "No test files found"  # the reference's message
_POSITION = re.compile(r"^(.*?):(\d+): ", re.DOTALL)
SUFFIXES = (".lua", ".fnl")


@dataclass
class Failure:
    """A test that failed: where it is, what it said, and the line that raised (if known)."""

    name: str
    suite: str | None
    error: str
    file: str | None
    """As Lua reported it (a long path is shortened to "...tail", as in the reference)."""
    line: str | None
    """A string, as in the reference's result object."""
    path: str | None = None
    """The file on disk that `file` names, when it could be found."""
    source: str | None = None
    """The text of the failing line, when `path` could be read."""

    @property
    def title(self) -> str:
        return f"{self.suite} / {self.name}" if self.suite else self.name

    @property
    def location(self) -> str | None:
        if self.line is None:
            return None
        return f"{self.path or self.file or '?'}:{self.line}"


@dataclass
class Outcome:
    """One test and how it ended: "passed", "failed" or "pending"."""

    name: str
    suite: str | None
    status: str


@dataclass
class LoadFailure:
    """A test file (or the plugin's init.fnl) that could not be loaded."""

    file: str
    error: str
    line: str | None = None
    source: str | None = None


@dataclass
class SuiteResult:
    """The outcome of one run."""

    passed: int = 0
    failed: int = 0
    pending: int = 0
    failures: list[Failure] = field(default_factory=list)
    load_failures: list[LoadFailure] = field(default_factory=list)
    message: str | None = None
    """Why nothing ran ("No test files found", "No tests found", ...), or how the run broke."""
    interrupted: bool = False
    files: list[str] = field(default_factory=list)
    """The test files, in the order they were loaded."""
    tests: list[Outcome] = field(default_factory=list)
    """Every test that was registered, in the order it ran."""

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.message is not None or self.load_failures:
            return EXIT_NOT_RUN
        if self.failed:
            return EXIT_FAILED
        return EXIT_OK

    @property
    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.pending} pending"

    def to_json(self) -> dict[str, Any]:
        """The reference's result object (`lua.run_plugin_tests`), plus `pending`."""
        result: dict[str, Any] = {
            "passed": self.passed,
            "failed": self.failed,
            "pending": self.pending,
            "load_failures": len(self.load_failures),
            "failures": [
                {"name": f.name, "suite": f.suite, "error": f.error, "file": f.file, "line": f.line}
                for f in self.failures
            ],
            "load_failure_details": [{"file": f.file, "error": f.error} for f in self.load_failures],
        }
        if self.message is not None:
            result["message"] = self.message
        if self.interrupted:
            result["interrupted"] = True
        return result


def discover(path: Path) -> list[Path]:
    """The test files of `path`: the file itself, or `*_test.lua`/`*_test.fnl` in the folder and
    its `tests/` (not deeper), sorted and without duplicates."""
    if path.is_file():
        return [path]
    found: set[Path] = set()
    for folder in (path / "tests", path):
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.suffix in SUFFIXES and entry.stem.endswith("_test") and entry.is_file():
                    found.add(entry)
    return sorted(found)


class SuiteRun:
    """One run of a suite. `interrupt()` may be called from a signal handler or another thread."""

    def __init__(self, path: str | os.PathLike[str], *, filter: str | None = None, host: Host | None = None):
        self.path = Path(path)
        self.filter = filter or None
        self.host = host or Host()
        self.runtime: Runtime | None = None
        self._interrupted = False

    def interrupt(self) -> None:
        self._interrupted = True
        if self.runtime is not None:
            self.runtime.interrupt()

    async def run(self) -> SuiteResult:
        if not self.path.exists():
            return SuiteResult(message=f"Test path does not exist: {self.path}")
        target = self.path.resolve()
        files = discover(target)
        result = SuiteResult(files=[str(f) for f in files])
        if not files:
            result.message = NO_TEST_FILES
            return result
        root = target.parent if target.is_file() else target
        rt = self.runtime = Runtime(self.host, vm="bare")
        try:
            if self._interrupted:
                result.interrupted = True
                return result
            chunk = rt.own_chunk(__package__, "suite")
            task = await rt.run(
                chunk,
                rt.engine,
                rt.to_lua(_run_spec(root, files, self.filter)),
                name=f"test {root}",
                kind="test",
            )
            if task.state is TaskState.DONE:
                _fill(result, task.results[0], root)
            elif task.stop == "exit":  # a test called os.exit: the run cannot go on
                result.message = f"a test called os.exit({task.exit_code}), which ends the run"
            elif task.state is TaskState.CANCELLED:
                result.interrupted = True
            else:  # the runner itself broke (e.g. a test file replaced run_tests with something else)
                error = task.error.message if task.error else task.message
                result.message = f"the test run failed: {error}"
        finally:
            await rt.aclose()
        if self._interrupted:
            result.interrupted = True
        if result.message is None and not result.interrupted and result.passed + result.failed == 0:
            result.message = _nothing_ran(self.filter, result.pending)
        return result


async def run_suite(
    path: str | os.PathLike[str], *, filter: str | None = None, host: Host | None = None
) -> SuiteResult:
    """Run the suite at `path` (a plugin folder or one test file) and return its result."""
    return await SuiteRun(path, filter=filter, host=host).run()


# Private helpers


def _run_spec(root: Path, files: list[Path], filter: str | None) -> dict[str, Any]:
    entries = []
    for f in files:
        entry: dict[str, Any] = {"path": str(f)}
        try:
            entry["source"] = f.read_bytes()
        except OSError as exc:
            entry["read_error"] = f"cannot read {f}: {exc.strerror or exc}"
        entries.append(entry)
    spec: dict[str, Any] = {
        "root": str(root),
        "parent": str(root.parent),
        "name": root.name,
        "files": entries,
    }
    init_fnl = root / "init.fnl"
    if init_fnl.is_file():
        spec["init_fnl"] = {"path": str(init_fnl), "source": init_fnl.read_bytes()}
    if filter:
        spec["filter"] = filter
    if os.environ.get("CRUCIBLE_FENNEL"):
        spec["fennel_env"] = os.environ["CRUCIBLE_FENNEL"]
    vendor = root / "vendor" / "fennel.lua"
    if vendor.is_file():
        spec["vendor_fennel"] = str(vendor)
    return spec


def _nothing_ran(filter: str | None, pending: int) -> str:
    message = f"No test name contains {filter!r}" if filter else "No tests found"
    return f"{message} ({pending} pending)" if pending else message


def _fill(result: SuiteResult, table: Any, root: Path) -> None:
    """Copy the Lua result table into `result`, finding each failure's file and line."""
    result.passed = int(table[b"passed"])
    result.failed = int(table[b"failed"])
    result.pending = int(table[b"pending"])
    known = [Path(f) for f in result.files]
    for entry in _items(table[b"failures"]):
        failure = Failure(
            name=text(entry[b"name"]),
            suite=_opt(entry[b"suite"]),
            error=text(entry[b"error"]),
            file=_opt(entry[b"file"]),
            line=_opt(entry[b"line"]),
        )
        if failure.file is not None:
            path = _locate(failure.file, root, known)
            failure.path = str(path) if path else None
            failure.source = _source_line(path, failure.line)
        result.failures.append(failure)
    for entry in _items(table[b"tests"]):
        result.tests.append(Outcome(text(entry[b"name"]), _opt(entry[b"suite"]), text(entry[b"status"])))
    for entry in _items(table[b"load_failures"]):
        failure = LoadFailure(file=text(entry[b"file"]), error=text(entry[b"error"]))
        # A syntax or runtime error in the file says where: "<path>:<line>: ..."
        where = _POSITION.match(failure.error)
        if where and _locate(where[1], root, [Path(failure.file)]) == Path(failure.file):
            failure.line = where[2]
            failure.source = _source_line(Path(failure.file), where[2])
        result.load_failures.append(failure)


def _items(table: Any) -> list[Any]:
    return [table[i] for i in range(1, len(table) + 1)] if table is not None else []


def _opt(value: Any) -> str | None:
    return None if value is None else text(value)


def _locate(file: str, root: Path, known: list[Path]) -> Path | None:
    """The file a Lua chunk name refers to; Lua shortens long ones to "...<tail>"."""
    if file.startswith("..."):
        tail = file[3:]
        candidates = [*known, *sorted(root.rglob("*.lua"))]
        return next((p for p in candidates if str(p).endswith(tail)), None)
    for path in (Path(file), root / file):
        if path.is_file():
            return path
    return None


def _source_line(path: Path | None, line: str | None) -> str | None:
    if path is None or line is None or not line.isdigit() or path.suffix == ".fnl":
        return None  # a Fennel file's Lua line numbers do not match its own lines
    try:
        with path.open("rb") as f:
            for number, content in enumerate(f, 1):
                if number == int(line):
                    return content.decode("utf-8", "replace").rstrip("\r\n")
    except OSError:
        return None
    return None


def format_report(result: SuiteResult) -> tuple[str, str]:
    """The text of a run for a terminal: (details for stderr, summary for stdout).

    Details: each load failure and each failing test with its suite path, name, message,
    file:line and the source of that line. Summary: "N passed, N failed, N pending".
    """
    lines: list[str] = []
    if result.message is not None:
        lines.append(f"✗ {result.message}")
    for lf in result.load_failures:
        lines.append(f"✗ could not load {lf.file}")
        lines.extend(_indented(lf.error))
        if lf.source is not None:
            lines.append(f"      {lf.line} | {lf.source}")
    for f in result.failures:
        lines.append(f"✗ {f.title}")
        lines.extend(_indented(f.error))
        if f.location is not None:
            lines.append(f"    at {f.location}")
        if f.source is not None:
            lines.append(f"      {f.line} | {f.source}")
    if result.load_failures:
        lines.append(f"✗ {len(result.load_failures)} test file(s) failed to load")
    if result.interrupted:
        lines.append("✗ interrupted")
    details = "".join(line + "\n" for line in lines)
    return details, result.summary + "\n"


def _indented(message: str) -> list[str]:
    return ["    " + line for line in message.split("\n")]
