"""%test: run a plugin's Lua test suite from a cell, in its own fresh Lua state.

The suite runs exactly as `crucible-kernel test` runs it (crucible_kernel/plugins/testing.py):
a bare Lua state of its own, never the notebook's, synchronously. What the tests print goes to
the cell; the result is a table of every test (suite, test, status, error, file:line, and the
source of a failing line) with the summary line. A red or empty suite makes the cell fail, so a
notebook run headless (nbclient, `crucible-kernel execute`) stops there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import OK, Reply, line_magic

if TYPE_CHECKING:
    from ...plugins.testing import SuiteResult
    from ..kernel import CrucibleKernel

# The runner and the table's helpers are imported on first use: kernel start-up stays short.

USAGE = "usage: %test PATH [--filter TEXT]"

STATUS_STYLE = {"passed": "color:#1a7f37", "failed": "color:#cf222e", "pending": "color:#9a6700"}


@line_magic("test", "%test PATH [--filter TEXT]  run a plugin's Lua tests in a fresh Lua state")
async def _test(kernel: CrucibleKernel, args: str) -> Reply:
    from ...plugins.testing import SuiteRun

    try:
        path, filter_text = _parse(args)
    except ValueError as exc:
        return kernel.report_error("UsageError", f"{exc}; {USAGE}")
    suite = SuiteRun(path, filter=filter_text, host=kernel.host)
    kernel.side_runs.add(suite)  # so an interrupt reaches the suite's own Lua state
    try:
        result = await suite.run()
    finally:
        kernel.side_runs.discard(suite)
    kernel.host.flush()
    kernel.host.publish("display_data", {"data": bundle(result), "metadata": {}, "transient": {}})
    if result.exit_code == 0:
        return dict(OK)
    if result.interrupted:
        return kernel.report_error("Interrupted", f"the test run was interrupted ({result.summary})")
    if result.failed and result.message is None and not result.load_failures:
        return kernel.report_error("TestsFailed", result.summary)
    reason = result.message or f"{len(result.load_failures)} test file(s) failed to load"
    return kernel.report_error("TestsNotRun", f"{reason} ({result.summary})")


def _parse(args: str) -> tuple[str, str | None]:
    import shlex

    words = shlex.split(args)
    path: str | None = None
    filter_text: str | None = None
    while words:
        word = words.pop(0)
        if word == "--filter":
            if not words:
                raise ValueError("--filter needs a TEXT")
            filter_text = words.pop(0)
        elif word.startswith("--filter="):
            filter_text = word.split("=", 1)[1]
        elif word.startswith("-"):
            raise ValueError(f"unknown option {word}")
        elif path is None:
            path = word
        else:
            raise ValueError(f"one PATH only, got {path!r} and {word!r}")
    if path is None:
        raise ValueError("PATH is missing")
    return path, filter_text


def rows(result: SuiteResult) -> list[tuple[str, str, str, str, str, str]]:
    """(suite, test, status, error, file:line, source line) for every test and load failure."""
    failures = {(f.suite, f.name): list() for f in result.failures}
    for f in result.failures:
        failures[(f.suite, f.name)].append(f)
    out = []
    for lf in result.load_failures:
        where = f"{lf.file}:{lf.line}" if lf.line else lf.file
        out.append(("", "(loading the file)", "load error", lf.error, where, lf.source or ""))
    for t in result.tests:
        error = where = source = ""
        if t.status == "failed" and failures.get((t.suite, t.name)):
            f = failures[(t.suite, t.name)].pop(0)
            error, where, source = f.error, f.location or "", f.source or ""
        out.append((t.suite or "", t.name, t.status, error, where, source))
    return out


def bundle(result: SuiteResult) -> dict[str, str]:
    table = rows(result)
    return {"text/plain": _text(result, table), "text/html": _html(result, table)}


def _text(result: SuiteResult, table: list[tuple[str, ...]]) -> str:
    lines = []
    if table:
        header = ("SUITE", "TEST", "STATUS", "ERROR", "AT")
        cells = [header, *((s, t, st, e.split("\n", 1)[0], w) for s, t, st, e, w, _ in table)]
        widths = [max(len(c[i]) for c in cells) for i in range(4)]
        for c in cells:
            lines.append("  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4])
        details = [(s, t, e, w, src) for s, t, st, e, w, src in table if st != "passed" and (e or src)]
        for s, t, e, w, src in details:
            lines.append("")
            lines.append(f"✗ {s + ' / ' if s else ''}{t}")
            lines.extend("    " + line for line in e.split("\n"))
            if w:
                lines.append(f"    at {w}")
            if src:
                lines.append(f"      | {src}")
    if result.message:
        lines.append(f"✗ {result.message}")
    if result.interrupted:
        lines.append("✗ interrupted")
    lines.append(result.summary)
    return "\n".join(lines)


def _html(result: SuiteResult, table: list[tuple[str, ...]]) -> str:
    import html

    esc = html.escape
    parts = ['<div class="crucible-test-results">']
    if table:
        parts.append(
            "<table><thead><tr><th>suite</th><th>test</th><th>status</th><th>error</th>"
            "<th>file:line</th></tr></thead><tbody>"
        )
        for suite, test, status, error, where, source in table:
            style = STATUS_STYLE.get(status, "color:#cf222e")
            detail = f'<pre style="margin:0">{esc(error)}</pre>' if error else ""
            if source:
                detail += f'<pre style="margin:0;opacity:0.8">{esc(source.strip())}</pre>'
            parts.append(
                f"<tr><td>{esc(suite)}</td><td>{esc(test)}</td>"
                f'<td style="{style}">{esc(status)}</td><td style="text-align:left">{detail}</td>'
                f"<td><code>{esc(where)}</code></td></tr>"
            )
        parts.append("</tbody></table>")
    if result.message:
        parts.append(f"<p>✗ {esc(result.message)}</p>")
    if result.interrupted:
        parts.append("<p>✗ interrupted</p>")
    parts.append(f"<p><b>{esc(result.summary)}</b></p></div>")
    return "".join(parts)
