-- os.execute and io.popen on the runtime's child processes (processes.py), as Lua 5.4 has them.
--
-- The command runs with /bin/sh in a process group of its own. Inside a task every wait lets the
-- event loop run (other tasks go on); from code that cannot yield it blocks, as in plain Lua. An
-- interrupt sends SIGINT to the command's process group (SIGKILL two seconds later) and stops
-- the task. What the command writes to its stdout and stderr that Lua does not read goes to the
-- host: the cell's output in a notebook, the terminal on the command line. Its stdin is empty
-- (/dev/null), except for io.popen(cmd, "w").

local engine, native = ...
local await, raise, bad_argument = engine.await, engine.raise, engine.bad_argument
local as_string, write_text = engine.as_string, engine.write_text
local type, select, tostring, tonumber, mtype = type, select, tostring, tonumber, math.type
local format, unpack, pack = string.format, table.unpack, table.pack

local File = {}
local ids = setmetatable({}, {__mode = "k"})    -- popen file -> its number in processes.py
local modes = setmetatable({}, {__mode = "k"})  -- popen file -> "r" | "w"
local closed = setmetatable({}, {__mode = "k"}) -- popen file -> true once closed

local MT = {
  __index = File,
  __name = "FILE*",
  __tostring = function(f)
    if closed[f] then return "file (closed)" end
    return format("file (%p)", f)
  end,
}

local function open_file(f, method)
  if modes[f] == nil then bad_argument(1, method, "FILE*", type(f)) end
  if closed[f] then raise("attempt to use a closed file") end
  return ids[f]
end

---------------------------------------------------------------------------------------------------
-- os.execute

--- Runs `command` with the shell and returns how it ended, as Lua 5.4 does: `true, "exit", 0`;
--- `nil, "exit", code` for a non-zero exit status; `nil, "signal", n` when signal n ended it.
--- Without a command, returns whether a shell is available.
---@param command? string
---@return boolean? ok
---@return "exit"|"signal" what
---@return integer code
function os.execute(command)
  if command == nil then return native.shell_available() end
  local cmd = as_string(command)
  if cmd == nil then bad_argument(1, "execute", "string", type(command)) end
  return await(native.execute(cmd))
end

---------------------------------------------------------------------------------------------------
-- io.popen

--- Starts `prog` with the shell and returns a file connected to it: its standard output to read
--- (mode "r", the default) or its standard input to write (mode "w"). `file:close()` waits for
--- it and returns how it ended, as os.execute does.
---@param prog string
---@param mode? "r"|"w"
---@return file? file
---@return string? error
function io.popen(prog, mode)
  local cmd = as_string(prog)
  if cmd == nil then bad_argument(1, "popen", "string", type(prog)) end
  if mode == nil then mode = "r" end
  if mode ~= "r" and mode ~= "w" then
    raise("bad argument #2 to 'popen' (invalid mode)")
  end
  local handle, number, errno = native.popen(cmd, mode)
  if handle == nil then return nil, number, errno end
  local f = engine.new_object(MT, handle)
  ids[f], modes[f] = number, mode
  return f
end

-- One read format: its value, or nil at the end of the output.
local function read_one(id, fmt)
  if type(fmt) == "number" then
    if mtype(fmt) == "float" and fmt % 1 ~= 0 then bad_argument(1, "read", "number has no integer representation", "number") end
    return await(native.read(id, fmt))
  end
  if type(fmt) ~= "string" then bad_argument(1, "read", "invalid format", type(fmt)) end
  local f = fmt:gsub("^%*", ""):sub(1, 1)
  if f == "n" then
    local text = await(native.read(id, "n"))
    if text == nil then return nil end
    return tonumber(text)
  end
  if f ~= "l" and f ~= "L" and f ~= "a" then raise("bad argument #1 to 'read' (invalid format)") end
  return await(native.read(id, f))
end

--- Reads from the command's output with Lua's formats ("l", "L", "n", "a" or a byte count);
--- nil at the end.
---@async
---@param ... string|integer formats (default "l")
---@return string|number|nil ...
function File:read(...)
  local id = open_file(self, "read")
  if modes[self] ~= "r" then return nil, "Bad file descriptor", 9 end
  local n = select("#", ...)
  if n == 0 then return read_one(id, "l") end
  local out = {}
  for i = 1, n do
    local v = read_one(id, (select(i, ...)))
    out[i] = v
    if v == nil then return unpack(out, 1, i) end
  end
  return unpack(out, 1, n)
end

--- An iterator over the command's output, one read with these formats (default "l") per step.
---@param ... string|integer formats
---@return fun(): string|number|nil
function File:lines(...)
  open_file(self, "lines")
  local formats = pack(...)
  return function()
    if closed[self] then raise("file is already closed") end
    return self:read(unpack(formats, 1, formats.n))
  end
end

--- Writes strings and numbers to the command's input (mode "w"); returns the file.
---@async
---@param ... string|number
---@return file? file
function File:write(...)
  local id = open_file(self, "write")
  local text = write_text("write", ...)
  if modes[self] ~= "w" then return nil, "Bad file descriptor", 9 end
  local ok, message, errno = await(native.write(id, text))
  if not ok then return nil, message, errno end
  return self
end

--- Closes the file and waits for the command: true (or nil), "exit" or "signal", and the code.
---@async
---@return boolean? ok
---@return "exit"|"signal" what
---@return integer code
function File:close()
  local id = open_file(self, "close")
  closed[self] = true
  return await(native.close(id))
end

function File:flush()
  open_file(self, "flush")
  return self
end

function File:setvbuf()
  open_file(self, "setvbuf")
  return true
end

function File:seek()
  open_file(self, "seek")
  return nil, "Illegal seek", 29
end

-- Safe mode: starting a command needs the 'shell' capability.
engine.needs("shell", os, {"execute"}, "os.")
engine.needs("shell", io, {"popen"}, "io.")

-- io.type and io.close know popen files (and the runtime's standard streams, which are not C
-- files either); real files go where they went before.
local prev_type, prev_close, c_file_type = io.type, io.close, engine.std.io.type

function io.type(obj)
  if modes[obj] ~= nil then return closed[obj] and "closed file" or "file" end
  return prev_type(obj)
end

function io.close(file)
  if file == nil then file = io.output() end
  if c_file_type(file) == nil and io.type(file) ~= nil then return file:close() end
  return prev_close(file)
end
