"""print, io.* and os.exit through the host."""

from __future__ import annotations

import os


async def test_print_separates_with_tabs_and_uses_tostring(lua):
    await lua.run("print(1, 2.5, nil, true, setmetatable({}, {__tostring = function() return 'obj' end}))")
    assert lua.out == "1\t2.5\tnil\ttrue\tobj\n"


async def test_print_passes_bytes_through_unchanged(lua):
    await lua.run("print('caf\\xc3\\xa9', '\\xff')")
    assert lua.host.stdout == b"caf\xc3\xa9\t\xff\n"


async def test_io_write_formats_numbers_like_lua_and_chains(lua):
    await lua.run("io.write('a', 1, ' ', 2.0, ' ', 0.1, '\\n'):write('chained\\n')")
    assert lua.out == "a1 2 0.1\nchained\n"


async def test_io_write_rejects_other_values(lua):
    error = await lua.error("io.write({})")
    assert error.message == "test[1]:1: bad argument #1 to 'write' (string expected, got table)"


async def test_stderr_goes_to_the_hosts_stderr(lua):
    await lua.run("io.stderr:write('oops ', 1, '\\n') io.stdout:write('fine\\n')")
    assert lua.host.stderr == b"oops 1\n"
    assert lua.out == "fine\n"


async def test_standard_streams_look_like_files(lua):
    code = (
        "return io.type(io.stdout), io.type(io.stderr), io.type(42), tostring(io.stderr), io.stdout:close()"
    )
    assert await lua.eval(code) == ("file", "file", None, "file (stderr)", None, "cannot close standard file")


async def test_io_read_asks_the_host_for_input(lua):
    lua.host.inputs = ["first line", "42", "third", "fourth"]
    code = "return io.read(), io.read('n'), io.read('L'), io.stdin:read('l'), io.read()"
    assert await lua.eval(code) == ("first line", 42, "third\n", "fourth", None)


async def test_io_lines_without_a_file_reads_the_input(lua):
    lua.host.inputs = ["a", "b"]
    assert (
        await lua.eval("local t = {} for l in io.lines() do t[#t+1] = l end return table.concat(t, '+')")
        == "a+b"
    )


async def test_real_files_still_work(lua, tmp_path):
    path = str(tmp_path / "out.txt").replace("\\", "/")
    code = f"""
        io.output('{path}')
        io.write('to file\\n')
        io.output():close()
        io.output(io.stdout)
        io.write('to stdout\\n')
        local f = assert(io.open('{path}'))
        local text = f:read('a') f:close()
        local lines = {{}} for l in io.lines('{path}') do lines[#lines+1] = l end
        return text, #lines
    """
    assert await lua.eval(code) == ("to file\n", 1)
    assert lua.out == "to stdout\n"
    assert os.path.exists(path)


async def test_os_exit_ends_the_task_and_tells_the_host(lua):
    task = await lua.run("print('before') os.exit(3) print('after')")
    assert task.stop == "exit"
    assert task.exit_code == 3
    assert lua.host.exit_codes == [3]
    assert lua.out == "before\n"
    assert (await lua.run("os.exit(true)")).exit_code == 0
    assert (await lua.run("os.exit(false)")).exit_code == 1
