"""cru.shell and the global `shell`: exec, spawn with on_line, which, the default policy, against
real commands; waits that let other tasks run, that block from code that cannot yield, and that
an interrupt or a cancellation ends by stopping the command."""

from __future__ import annotations

import pytest

from .test_processes import gone, interrupt_in, lua_string


async def test_exec_returns_the_exit_status_and_both_outputs(lua):
    code = """
        local ok = shell.exec("printf", {"%s-%s", "a", 2})
        local bad = cru.shell.exec("sh", {"-c", "echo out; echo err >&2; exit 3"})
        local killed = crucible.shell.exec("sh", {"-c", "kill -9 $$"})
        return ok.success, ok.exit_code, ok.stdout, ok.stderr,
               bad.success, bad.exit_code, bad.stdout, bad.stderr,
               killed.success, killed.exit_code
    """
    assert await lua.eval(code) == (True, 0, "a-2", "", False, 3, "out\n", "err\n", False, -1)


async def test_the_same_table_is_cru_shell_crucible_shell_and_the_global(lua):
    assert await lua.eval("return cru.shell == shell and crucible.shell == shell") is True


async def test_exec_takes_cwd_env_and_stdin(lua, tmp_path, monkeypatch):
    monkeypatch.setenv("CRUCIBLE_SHELL_TEST_INHERITED", "kept")
    code = f"""
        local r = shell.exec("sh", {{"-c", "pwd; echo $GREETING $COUNT $CRUCIBLE_SHELL_TEST_INHERITED; cat"}}, {{
          cwd = {lua_string(tmp_path)},
          env = {{GREETING = "hello", COUNT = 3, [true] = "skipped"}},
          stdin = "from stdin\\n",
        }})
        return r.stdout
    """
    assert await lua.eval(code) == f"{tmp_path}\nhello 3 kept\nfrom stdin\n"


async def test_a_large_stdin_comes_back_through_cat_waiting_or_blocking(lua):
    code = """
        local data = string.rep("0123456789abcdef", 3 * 65536)  -- 3 MiB, more than a pipe holds
        local waited = shell.exec("cat", {}, {stdin = data}).stdout == data
        local blocked
        table.sort({1, 2}, function(a, b) blocked = shell.exec("cat", {}, {stdin = data}).stdout == data return a < b end)
        return waited, blocked
    """
    assert await lua.eval(code) == (True, True)


async def test_wrongly_typed_option_fields_are_ignored_as_in_the_reference(lua):
    code = "return shell.exec('sh', {'-c', 'echo ok; cat'}, {cwd = true, env = 'x', stdin = {}}).stdout"
    assert await lua.eval(code) == "ok\n"


@pytest.mark.parametrize("cmd", ["rm", "sudo", "chmod", "chown", "/bin/rm", "./sudo", "/usr/bin/chown"])
async def test_the_default_policy_refuses_rm_sudo_chmod_chown_also_by_path(lua, tmp_path, cmd):
    victim = tmp_path / "keep.txt"
    victim.write_text("x")
    for fn in ("exec", "spawn"):
        error = await lua.error(f"shell.{fn}({cmd!r}, {{{lua_string(victim)}}})")
        assert error.message == f"test[{lua.count}]:1: Command '{cmd}' is not allowed by shell policy"
    assert victim.exists()


async def test_the_policy_looks_at_the_command_only(lua, tmp_path):
    victim = tmp_path / "gone.txt"
    victim.write_text("x")
    code = f"return shell.exec('sh', {{'-c', 'rm ' .. {lua_string(victim)}}}).success, shell.exec('rmdir', {{'--help'}}) ~= nil"
    assert await lua.eval(code) == (True, True)  # 'rmdir' is not 'rm', and sh -c passes
    assert not victim.exists()


async def test_a_command_that_cannot_start_raises_at_the_callers_line(lua, tmp_path):
    error = await lua.error("local x = 1\nshell.exec('no-such-program-here')")
    assert error.message == (
        "test[1]:2: Failed to execute 'no-such-program-here': No such file or directory (os error 2)"
    )
    error = await lua.error(f"shell.spawn('sh', {{}}, {{cwd = {lua_string(tmp_path / 'missing')}}})")
    assert error.message.startswith("test[2]:1: Failed to execute 'sh': No such file or directory")


async def test_bad_arguments_are_lua_errors(lua):
    cases = {
        "shell.exec({})": "bad argument #1 to 'exec' (string expected, got table)",
        "shell.exec('true', 'x')": "bad argument #2 to 'exec' (table expected, got string)",
        "shell.exec('true', {'a', {}})": "bad argument #2 to 'exec' (args[2] must be a string, got table)",
        "shell.spawn('true', {}, 5)": "bad argument #3 to 'spawn' (table expected, got number)",
        "shell.spawn('true', {}, {on_line = 1})": "bad argument #3 to 'spawn' (on_line must be a function, got number)",
        "shell.which(nil)": "bad argument #1 to 'which' (string expected, got nil)",
    }
    for code, message in cases.items():
        assert message in (await lua.error(code)).message


async def test_spawn_calls_on_line_for_each_line_in_order_and_returns_the_result(lua):
    code = """
        local seen = {}
        local r = shell.spawn("sh", {"-c", "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three; printf four"}, {
          on_line = function(stream, line)
            cru.timer.sleep(0.01)  -- the callback may wait
            seen[#seen + 1] = stream .. ":" .. line
          end,
        })
        return table.concat(seen, ","), r.success, r.exit_code, r.stdout, r.stderr
    """
    assert await lua.eval(code) == (
        "stdout:one,stderr:two,stdout:three,stdout:four",
        True,
        0,
        "one\nthree\nfour\n",
        "two\n",
    )


async def test_spawn_without_on_line_and_with_a_failing_command(lua):
    code = "local r = shell.spawn('sh', {'-c', 'echo x; exit 7'}) return r.success, r.exit_code, r.stdout"
    assert await lua.eval(code) == (False, 7, "x\n")


async def test_an_error_in_on_line_stops_the_command_and_is_raised(lua, tmp_path):
    pidfile = tmp_path / "pid"
    error = await lua.error(f"""
        shell.spawn("sh", {{"-c", "echo $$ > {pidfile}; echo first; exec sleep 30"}}, {{
          on_line = function(stream, line) error("bad line: " .. line) end,
        }})
    """)
    assert "bad line: first" in error.message
    assert await gone(pidfile.read_text())


async def test_exec_waits_without_blocking_other_tasks(lua):
    code = """
        local ticks = 0
        local ticker = cru.spawn(function() while true do cru.timer.sleep(0.01) ticks = ticks + 1 end end)
        shell.exec("sleep", {"0.3"})
        ticker:cancel()
        return ticks
    """
    assert await lua.eval(code) > 3


# An interrupt reaching the command of exec and spawn, waiting or blocking: test_processes.py,
# with os.execute's.


async def test_an_interrupt_while_on_line_computes_stops_the_command(lua, tmp_path):
    pidfile = tmp_path / "pid"
    interrupt_in(lua)
    task = await lua.run(f"""
        shell.spawn("sh", {{"-c", "echo $$ > {pidfile}; echo go; exec sleep 30"}}, {{
          on_line = function() while true do end end,
        }})
    """)
    assert task.stop == "interrupted"
    assert await gone(pidfile.read_text())


async def test_cancelling_a_task_stops_its_command(lua, tmp_path):
    pidfile = tmp_path / "pid"
    code = f"""
        local t = cru.spawn(function() shell.exec("sh", {{"-c", "echo $$ > {pidfile}; exec sleep 30"}}) end)
        cru.timer.sleep(0.3)
        t:cancel()
        cru.timer.sleep(0)
        return t:status()
    """
    assert await lua.eval(code) == "cancelled"
    assert await gone(pidfile.read_text())


async def test_a_timeout_around_a_command_stops_it(lua, tmp_path):
    pidfile = tmp_path / "pid"
    code = f"""
        return cru.timer.timeout(0.3, function()
          return shell.exec("sh", {{"-c", "echo $$ > {pidfile}; exec sleep 30"}})
        end)
    """
    assert await lua.eval(code) == (False, "timeout")
    assert await gone(pidfile.read_text())


async def test_exec_and_spawn_block_from_code_that_cannot_yield(lua):
    code = """
        local lines = {}
        local t = {3, 1, 2}
        table.sort(t, function(a, b)
          if #lines == 0 then
            shell.spawn("printf", {"x\\ny\\n"}, {on_line = function(_, line) lines[#lines + 1] = line end})
          end
          return shell.exec("true").success and a < b
        end)
        return table.concat(t, ","), table.concat(lines, ",")
    """
    assert await lua.eval(code) == ("1,2,3", "x,y")


async def test_which_finds_programs_on_path(lua):
    found, missing, direct = await lua.eval(
        "return shell.which('sh'), shell.which('no-such-program-here'), shell.which('/bin/sh')"
    )
    assert found.endswith("/sh") and missing is None and direct == "/bin/sh"
