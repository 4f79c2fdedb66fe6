-- launch(script): starts one of the notebooks' local servers (a Python script of this folder,
-- standard library only) and returns it as {port, pid, log, task, stop}.
--
-- cru.shell.spawn runs the server and calls on_line for each line it prints, as it prints it:
-- the first line says "listening on PORT (pid PID)", the others go to `log`. The server runs in
-- a task of its own (cru.spawn), so the caller goes on while it serves. `stop()` cancels that
-- task, which stops the server (cru.shell sends SIGINT to its process group, SIGKILL two seconds
-- later), and returns once the process is gone.
--
--   local launch = dofile("servers/launch.lua")
--   local api = launch("servers/status_api.py")
--   cru.http.get("http://127.0.0.1:" .. api.port .. "/status")
--   api.stop()

local function alive(pid)
  return shell.exec("kill", {"-0", pid}).success
end

return function(script)
  local python = assert(shell.which("python3"), "these notebooks need python3 on PATH")
  local server = {log = {}}
  server.task = cru.spawn(function()
    shell.spawn(python, {script}, {
      on_line = function(_, line)
        if server.port == nil then
          server.port = tonumber(line:match("^listening on (%d+)"))
          server.pid = line:match("%(pid (%d+)%)")
        end
        server.log[#server.log + 1] = line
      end,
    })
  end)
  for _ = 1, 200 do -- up to 5 s to start
    if server.port or server.task:done() then break end
    cru.timer.sleep(0.025)
  end
  assert(server.port, script .. " did not start: " .. table.concat(server.log, "\n"))

  function server.stop()
    server.task:cancel()
    for _ = 1, 100 do
      if not alive(server.pid) then return true end
      cru.timer.sleep(0.05)
    end
    return false
  end

  return server
end
