-- cru.shell (also the global `shell` and crucible.shell): running commands (reference §3.16).
--
-- A command is a program and its arguments, with no shell in between (use "sh", {"-c", "..."}
-- for pipes and globs). It runs in a process group of its own; inside a task the wait lets
-- other tasks run, from code that cannot yield it blocks. An interrupt of the cell (or the
-- cancellation of the task) sends SIGINT to the command's group, then SIGKILL two seconds later,
-- and stops the caller. There is no timeout: wrap the call in cru.timer.timeout for one.
--
-- The default policy of Crucible's daemon refuses rm, sudo, chmod and chown, by name or by
-- path ("/bin/rm"), with `Command '<cmd>' is not allowed by shell policy`. It looks at the
-- command only (`sh -c "rm x"` passes): it guards against slips, not against a plugin that
-- means harm (safe mode's 'shell' capability is what keeps commands away from one).
--
--   local r = shell.exec("git", {"status", "--short"}, {cwd = "/project"})
--   if r.success then print(r.stdout) else print("failed: " .. r.stderr) end
--   shell.spawn("make", {"test"}, {on_line = function(stream, line) print(stream, line) end})

local engine, native = ...
local await, raise, bad_argument, as_string = engine.await, engine.raise, engine.bad_argument,
  engine.as_string
local type, pairs, setmetatable, concat = type, pairs, setmetatable, table.concat
local sub = string.sub

local shell = {}

local BLOCKED = {"rm", "sudo", "chmod", "chown"}

local function allowed(cmd)
  for _, name in pairs(BLOCKED) do
    if cmd == name or sub(cmd, -#name - 1) == "/" .. name then return false end
  end
  return true
end

-- The command, its arguments and options, checked and coerced as mlua does (strings, and
-- numbers through tostring); wrongly typed option fields are ignored, as in the reference.
local function command(fname, cmd, args, opts)
  local c = as_string(cmd)
  if c == nil then bad_argument(1, fname, "string", type(cmd)) end
  local argv = {}
  if args ~= nil then
    if type(args) ~= "table" then bad_argument(2, fname, "table", type(args)) end
    for i = 1, #args do
      local a = as_string(args[i])
      if a == nil then
        raise(("bad argument #2 to '%s' (args[%d] must be a string, got %s)"):format(fname, i, type(args[i])))
      end
      argv[i] = a
    end
  end
  if opts ~= nil and type(opts) ~= "table" then bad_argument(3, fname, "table", type(opts)) end
  opts = opts or {}
  if not allowed(c) then raise("Command '" .. c .. "' is not allowed by shell policy") end
  local env
  if type(opts.env) == "table" then
    env = {}
    for k, v in pairs(opts.env) do
      local name, value = as_string(k), as_string(v)
      if name ~= nil and value ~= nil then env[name] = value end
    end
  end
  return c, argv, as_string(opts.cwd), env, opts
end

--- Runs `cmd` with `args` (strings) and waits for it to end. `opts.cwd` is its working
--- directory, `opts.env` variables added to the kernel's environment, `opts.stdin` a string
--- fed to its standard input (empty otherwise). Returns {success, exit_code, stdout, stderr}
--- (exit_code is -1 when a signal ended it). A command that cannot start raises
--- `Failed to execute '<cmd>': <reason>`; rm, sudo, chmod and chown are refused.
---@async
---@param cmd string the program, found on PATH unless it contains a slash
---@param args? string[] its arguments
---@param opts? {cwd?: string, env?: table<string, string>, stdin?: string}
---@return {success: boolean, exit_code: integer, stdout: string, stderr: string} result
function shell.exec(cmd, args, opts)
  local c, argv, cwd, env, o = command("exec", cmd, args, opts)
  local stdin = as_string(o.stdin)
  local result = await(native.exec(c, argv, cwd, env, stdin))
  return result
end

-- Stops a spawned command when spawn is left by an error or a stop (to-be-closed variable).
local function release_on_exit(id)
  return setmetatable({}, {__close = function(_, err) native.release(id, err ~= nil) end})
end

--- Runs `cmd` with `args` like `exec`, calling `opts.on_line(stream, line)` for each line of
--- its output as it comes ("stdout" or "stderr", the line without its newline). The callback
--- may wait (it runs in the caller's task); an error in it stops the command and is raised.
--- Returns {success, exit_code, stdout, stderr} once the command has ended, the outputs made
--- of their lines (each followed by a newline). The command's standard input is empty.
---@async
---@param cmd string the program, found on PATH unless it contains a slash
---@param args? string[] its arguments
---@param opts? {cwd?: string, env?: table<string, string>, on_line?: fun(stream: "stdout"|"stderr", line: string)}
---@return {success: boolean, exit_code: integer, stdout: string, stderr: string} result
function shell.spawn(cmd, args, opts)
  local c, argv, cwd, env, o = command("spawn", cmd, args, opts)
  local on_line = o.on_line
  if on_line ~= nil and type(on_line) ~= "function" then
    raise("bad argument #3 to 'spawn' (on_line must be a function, got " .. type(on_line) .. ")")
  end
  local id, err = native.spawn(c, argv, cwd, env)
  if id == nil then raise(err) end
  local guard <close> = release_on_exit(id)
  local out, errs = {}, {}
  while true do
    local stream, line = await(native.next_line(id))
    if stream == nil then break end
    local lines = stream == "stdout" and out or errs
    lines[#lines + 1] = line
    if on_line then on_line(stream, line) end
  end
  local success, code = await(native.finish(id))
  local function text(lines)
    if #lines == 0 then return "" end
    return concat(lines, "\n") .. "\n"
  end
  return {success = success, exit_code = code, stdout = text(out), stderr = text(errs)}
end

--- The full path of the program `cmd` as PATH finds it (or `cmd` itself when it names an
--- executable file by its path); nil when there is none.
---@param cmd string
---@return string|nil path
function shell.which(cmd)
  local c = as_string(cmd)
  if c == nil then bad_argument(1, "which", "string", type(cmd)) end
  return native.which(c)
end

-- Safe mode: running a command needs the 'shell' capability (which only looks).
engine.needs("shell", shell, {"exec", "spawn"}, "cru.shell.")

return shell
