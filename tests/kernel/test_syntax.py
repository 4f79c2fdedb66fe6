"""is_complete and the tokenizer behind the editing help (crucible_kernel/kernel/syntax.py)."""

from __future__ import annotations

import pytest

import tests.runtime.conftest as runtime_fixtures
from crucible_kernel.kernel.syntax import Path, block_depth, is_complete, path_at_end, tokenize

host = runtime_fixtures.host
lua = runtime_fixtures.lua

COMPLETE = [
    "1 + 1",  # a bare expression: the kernel compiles `return <cell>` first
    "x = 1",
    "for i = 1, 2 do end",
    "local t = {\n}",
    "local t = {}\nt",  # ends in an expression: the kernel returns its last lines
    "print('a')\nprint('b')",
    "return",
    "-- only a comment",
    "",
    "x = 1 -- a trailing comment",
    "s = [[\nmulti\nline]]",
    "f = function(a, ...) return ... end",
    "?cru.timer.sleep",
    "??cru.timer.sleep",
    "cru.timer.sleep?",
    "%who",
    "%time\nx = 1",
    "%%time\nx = 1",
]
INCOMPLETE = [
    "for i = 1, 2 do",
    "function f(",
    "x = ",
    "local t = {",
    "if x then",
    "while true do\n  print(1)",
    "repeat",
    "x = 'a' ..",
    "1 +",
    "f(1,",
    "s = [[ unfinished long string",
    "s = [==[\nabc]=]",
    "--[[ unfinished long comment",
    's = "continued \\',  # a backslash continues a quoted string on the next line
    "%time\nfor i = 1, 2 do",
]
INVALID = [
    "end end",
    "local = 1",
    "x = = 1",
    '"unterminated',  # a quoted string cannot run past its line
    "s = 'open\nx = 1",
    "function function",
    "function() function() end end",
    "for i = 1 do end end",
    "x = )",
]


@pytest.mark.parametrize("code", COMPLETE)
def test_code_that_compiles_is_complete(code):
    assert is_complete(code) == {"status": "complete"}


@pytest.mark.parametrize("code", INCOMPLETE)
def test_code_that_stops_early_is_incomplete(code):
    assert is_complete(code)["status"] == "incomplete"


@pytest.mark.parametrize("code", INVALID)
def test_code_with_a_syntax_error_before_its_end_is_invalid(code):
    assert is_complete(code) == {"status": "invalid"}


def test_incomplete_code_is_indented_two_spaces_per_open_block():
    assert is_complete("for i = 1, 2 do")["indent"] == "  "
    assert is_complete("if a then\n  while b do")["indent"] == "    "
    assert is_complete("if a then\n  while b do\n  end")["indent"] == "  "
    assert is_complete("s = [[ text")["indent"] == ""  # inside a string: no indent


async def test_the_runtime_parser_gives_the_same_answers_and_runs_nothing(lua):
    rt = lua.runtime
    for code in ("x = 1", "for i = 1, 2 do", "end end"):
        assert is_complete(code, rt) == is_complete(code)
    is_complete("marker = 1", rt)
    assert await lua.eval("return marker") is None


@pytest.mark.parametrize("bad", [None, 42, b"x = 1"])
def test_is_complete_never_raises(bad):
    assert is_complete(bad)["status"] in ("complete", "incomplete", "invalid", "unknown")


def test_the_tokenizer_keeps_strings_and_comments_whole():
    code = "local s = 'a\\'b' .. [==[x]]y]==] -- note\n--[[ long\ncomment ]] x = 0x1p4 + .5 + 1e3"
    kinds = [(t.kind, t.text) for t in tokenize(code)]
    assert kinds == [
        ("keyword", "local"),
        ("name", "s"),
        ("op", "="),
        ("string", "'a\\'b'"),
        ("op", ".."),
        ("string", "[==[x]]y]==]"),
        ("comment", "-- note"),
        ("comment", "--[[ long\ncomment ]]"),
        ("name", "x"),
        ("op", "="),
        ("number", "0x1p4"),
        ("op", "+"),
        ("number", ".5"),
        ("op", "+"),
        ("number", "1e3"),
    ]
    assert all(t.closed for t in tokenize(code))


def test_the_tokenizer_marks_a_string_or_comment_left_open_at_the_end():
    assert not tokenize("x = 'abc")[-1].closed
    assert not tokenize("x = [[abc")[-1].closed
    assert not tokenize("x = 1 -- abc")[-1].closed
    assert tokenize("x = 1 -- abc\n")[-1].closed


def test_the_path_before_the_cursor_is_read_back_to_its_first_name():
    def path(code):
        return path_at_end(tokenize(code), len(code))

    assert path("x = cru.timer.sl") == Path("global", ("cru", "timer"), ".", "sl", 4, 14)
    assert path("limiter:") == Path("global", ("limiter",), ":", "", 0, 8)
    assert path('("x"):up') == Path("string", (), ":", "up", 0, 6)
    assert path("strin").text == "strin"
    assert path("a:b.c") is None  # ':' only before the last name
    assert path("f().x") is None
    assert path("t[1].x") is None
    assert path("x = 1.") is None


def test_block_depth_counts_open_blocks_and_brackets():
    assert block_depth(tokenize("function f() if x then")) == 2
    assert block_depth(tokenize("if x then elseif y then else")) == 1
    assert block_depth(tokenize("t = { f(")) == 2
    assert block_depth(tokenize("end end")) == 0
