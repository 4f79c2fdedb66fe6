"""cru.fs and the global fs (reference §3.16): synchronous file calls, against temporary folders."""

from __future__ import annotations

import os
import stat

import pytest


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Run in an empty temporary folder: relative paths land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def test_fs_is_one_table_under_three_names(lua):
    assert await lua.eval("return rawequal(fs, cru.fs) and rawequal(fs, crucible.fs)") is True


async def test_write_then_read_round_trips_and_creates_parent_folders(lua, here):
    assert await lua.eval('fs.write("a/b/c.txt", "Hello, Lua!") return fs.read("a/b/c.txt")') == "Hello, Lua!"
    assert (here / "a" / "b" / "c.txt").read_text() == "Hello, Lua!"


async def test_write_replaces_and_append_adds(lua, here):
    code = """
        fs.write("log.txt", "old")
        fs.write("log.txt", "Line 1\\n")
        fs.append("log.txt", "Line 2\\n")
        fs.append("new/deeper/log.txt", 42)
        return fs.read("log.txt"), fs.read("new/deeper/log.txt")
    """
    assert await lua.eval(code) == ("Line 1\nLine 2\n", "42")


async def test_any_bytes_go_through_unchanged(lua, here):
    await lua.run('fs.write("bin", "\\0\\255\\254 end")')
    assert (here / "bin").read_bytes() == b"\x00\xff\xfe end"
    task = await lua.run('return fs.read("bin")')
    assert task.results == (b"\x00\xff\xfe end",)


async def test_relative_paths_resolve_against_the_working_directory(lua, here):
    os.mkdir(here / "sub")
    os.chdir(here / "sub")
    await lua.run('fs.write("x.txt", "in sub")')
    assert (here / "sub" / "x.txt").read_text() == "in sub"


async def test_absolute_paths_work_too(lua, tmp_path):
    target = tmp_path / "abs.txt"
    await lua.run(f'fs.write("{target}", "abs")')
    assert await lua.eval(f'return fs.read("{target}")') == "abs"


async def test_mkdir_makes_parents_and_accepts_an_existing_folder(lua, here):
    code = """
        local before = fs.exists("nested/dirs/here")
        fs.mkdir("nested/dirs/here")
        fs.mkdir("nested/dirs/here")
        fs.mkdir("")
        return before, fs.exists("nested/dirs/here"), fs.is_dir("nested/dirs/here")
    """
    assert await lua.eval(code) == (False, True, True)


async def test_is_file_and_is_dir_tell_files_from_folders(lua, here):
    (here / "file.txt").write_text("x")
    (here / "dir").mkdir()
    os.symlink(here / "dir", here / "link")
    os.symlink(here / "gone", here / "dangling")
    code = """
        return fs.is_file("file.txt"), fs.is_dir("file.txt"), fs.is_file("dir"), fs.is_dir("dir"),
               fs.is_dir("link"), fs.exists("dangling"), fs.exists("nothing"), fs.is_file("nothing")
    """
    assert await lua.eval(code) == (True, False, False, True, True, False, False, False)


async def test_list_gives_sorted_names_of_files_and_folders(lua, here):
    (here / "d").mkdir()
    for name in ("b.txt", "a.txt", "C"):
        (here / "d" / name).write_text("")
    (here / "d" / "c").mkdir()
    assert await lua.eval('return table.concat(fs.list("d"), ",")') == "C,a.txt,b.txt,c"
    assert await lua.eval('fs.mkdir("empty") return #fs.list("d"), next(fs.list("empty"))') == (4, None)


async def test_remove_deletes_a_file_or_a_whole_folder(lua, here):
    (here / "tree" / "inner").mkdir(parents=True)
    (here / "tree" / "inner" / "f").write_text("x")
    (here / "file").write_text("x")
    assert await lua.eval(
        'fs.remove("tree") fs.remove("file") return fs.exists("tree"), fs.exists("file")'
    ) == (
        False,
        False,
    )


async def test_remove_of_a_link_to_a_folder_removes_the_link_only(lua, here):
    (here / "real").mkdir()
    (here / "real" / "keep").write_text("x")
    os.symlink(here / "real", here / "link")
    await lua.run('fs.remove("link")')
    assert not os.path.lexists(here / "link")
    assert (here / "real" / "keep").exists()


async def test_copy_copies_contents_and_permissions_and_makes_parents(lua, here):
    (here / "src.sh").write_text("original")
    os.chmod(here / "src.sh", 0o751)
    await lua.run('fs.copy("src.sh", "out/dest.sh")')
    assert (here / "out" / "dest.sh").read_text() == "original"
    assert stat.S_IMODE(os.stat(here / "out" / "dest.sh").st_mode) == 0o751
    assert (here / "src.sh").exists()


async def test_copy_replaces_an_existing_file(lua, here):
    (here / "a").write_text("new")
    (here / "b").write_text("old old old")
    await lua.run('fs.copy("a", "b")')
    assert (here / "b").read_text() == "new"


async def test_rename_moves_files_and_folders_and_makes_parents(lua, here):
    (here / "old.txt").write_text("content")
    (here / "folder").mkdir()
    (here / "folder" / "f").write_text("x")
    code = """
        fs.rename("old.txt", "new.txt")
        fs.rename("folder", "moved/folder")
        return fs.exists("old.txt"), fs.read("new.txt"), fs.read("moved/folder/f")
    """
    assert await lua.eval(code) == (False, "content", "x")


async def test_rename_replaces_an_existing_file(lua, here):
    (here / "a").write_text("a")
    (here / "b").write_text("b")
    assert await lua.eval('fs.rename("a", "b") return fs.read("b"), fs.exists("a")') == ("a", False)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ('fs.read("missing.txt")', "No such file or directory (os error 2): 'missing.txt'"),
        ('fs.read("dir")', "Is a directory (os error 21): 'dir'"),
        ('fs.list("missing")', "No such file or directory (os error 2): 'missing'"),
        ('fs.list("file")', "Not a directory (os error 20): 'file'"),
        ('fs.remove("missing")', "No such file or directory (os error 2): 'missing'"),
        ('fs.mkdir("file")', "File exists (os error 17): 'file'"),
        ('fs.copy("missing", "x")', "No such file or directory (os error 2): 'missing' -> 'x'"),
        (
            'fs.copy("dir", "x")',
            "the source path is neither a regular file nor a symlink to a regular file: 'dir'",
        ),
        ('fs.copy("file", "dir")', "Is a directory (os error 21): 'file' -> 'dir'"),
        ('fs.copy("file", "file")', "source and destination are the same file: 'file' -> 'file'"),
        ('fs.rename("missing", "x")', "No such file or directory (os error 2): 'missing' -> 'x'"),
        ('fs.rename("dir", "file")', "Not a directory (os error 20): 'dir' -> 'file'"),
        ('fs.write("dir", "x")', "Is a directory (os error 21): 'dir'"),
        ('fs.write("file/inside.txt", "x")', "Not a directory (os error 20): 'file/inside.txt'"),
        (
            'fs.write("file/a/b.txt", "x")',
            "Failed to create parent directory for 'file/a/b.txt': Not a directory (os error 20): 'file/a'",
        ),
        ('fs.read("a\\0b")', "file name contained an unexpected NUL byte: 'a?b'"),
    ],
)
async def test_failures_raise_the_os_error_and_the_path_at_the_callers_line(lua, here, code, message):
    (here / "dir").mkdir()
    (here / "file").write_text("x")
    error = await lua.error(f"local x = 1\n{code}")
    assert error.message == f"test[1]:2: {message}"


async def test_a_failure_leaves_the_file_as_it_was(lua, here):
    (here / "dir").mkdir()
    await lua.error('fs.rename("missing", "dir/x")')
    assert os.listdir(here / "dir") == []


async def test_errors_can_be_caught_with_pcall_and_matched(lua, here):
    code = """
        local ok, err = pcall(fs.read, "nope.txt")
        return ok, tostring(err):find("No such file or directory", 1, true) ~= nil
    """
    assert await lua.eval(code) == (False, True)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("fs.read()", "bad argument #1 to 'read' (string expected, got nil)"),
        ("fs.write('x', {})", "bad argument #2 to 'write' (string expected, got table)"),
        ("fs.exists(true)", "bad argument #1 to 'exists' (string expected, got boolean)"),
        ("fs.copy('x')", "bad argument #2 to 'copy' (string expected, got nil)"),
    ],
)
async def test_bad_arguments_raise(lua, here, code, message):
    assert (await lua.error(code)).message == f"test[1]:1: {message}"


async def test_numbers_are_taken_as_strings(lua, here):
    assert await lua.eval("fs.write(12, 3.5) return fs.read('12')") == "3.5"


async def test_calls_work_outside_a_coroutine_too(lua, here):
    fs = lua.runtime.cru[b"fs"]
    fs[b"write"](b"sync.txt", b"made synchronously")
    assert fs[b"read"](b"sync.txt") == b"made synchronously"


async def test_a_file_bigger_than_the_lua_heap_is_refused_and_the_runtime_lives_on(here):
    from crucible_kernel.runtime import Runtime

    from .conftest import Lua, RecordingHost

    (here / "big.bin").write_bytes(b"\0" * (24 << 20))
    host = RecordingHost()
    rt = Runtime(host, max_memory=16 << 20)
    try:
        lua = Lua(rt, host)
        error = await lua.error('fs.read("big.bin")')
        assert error.message.startswith(
            "test[1]:1: not enough memory: 'big.bin' has 25165824 bytes and the Lua heap"
        )
        assert error.message.endswith("free (raise the limit with --max-memory or CRUCIBLE_LUA_MAX_MEMORY)")
        assert await lua.eval("return 1 + 1") == 2
    finally:
        await rt.aclose()


async def test_a_file_that_fits_once_garbage_is_collected_is_read(here):
    from crucible_kernel.runtime import Runtime

    from .conftest import Lua, RecordingHost

    (here / "mid.bin").write_bytes(b"x" * (6 << 20))
    host = RecordingHost()
    rt = Runtime(host, max_memory=16 << 20)
    try:
        lua = Lua(rt, host)
        code = """
            collectgarbage("stop")
            for i = 1, 20 do local s = string.rep("y", (1 << 19) + i) end  -- ~10 MB of garbage
            local before = collectgarbage("count") * 1024
            local n = #fs.read("mid.bin")
            collectgarbage("restart")
            return n, before
        """
        n, before = await lua.eval(code)
        assert n == 6 << 20
        assert before + (6 << 20) > 16 << 20  # it did not fit until the garbage went
    finally:
        await rt.aclose()
