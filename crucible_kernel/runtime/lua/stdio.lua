-- print, io and os.exit, routed through the host.
--
-- `print`, `io.write` and `io.stdout` go to the host's stdout, `io.stderr` to its stderr, and
-- reading from `io.stdin` asks the host for a line (an input_request in a notebook). Real files
-- opened with io.open are untouched. os.exit ends the task with an exit stop; the host decides
-- what exiting means (the command line exits, a kernel refuses).

local engine, native = ...
local raw_out, raw_err, read_line, read_all = native.stdout, native.stderr, native.read_line, native.read_all
local await, raise, bad_argument = engine.await, engine.raise, engine.bad_argument
local select, tostring, type, tonumber = select, tostring, type, tonumber
local concat, ssub = table.concat, string.sub
local real_open, real_type, real_lines = io.open, io.type, io.lines

-- Big text goes to the host in slices, so no copy of all of it is ever made (neither a Lua
-- concatenation nor one Python bytes object): a 256 MB print costs the string itself and a slice.
local SLICE = 1 << 20

local function sliced(sink)
  return function(s)
    local n = #s
    if n <= SLICE then return sink(s) end
    for i = 1, n, SLICE do sink(ssub(s, i, i + SLICE - 1)) end
  end
end
local out, err = sliced(raw_out), sliced(raw_err)

function print(...)
  local n = select("#", ...)
  if n == 1 then
    local s = tostring((...))
    if #s > SLICE then
      out(s)
      out("\n")
    else
      out(s .. "\n")
    end
    return
  end
  local parts = {...}
  for i = 1, n do parts[i] = tostring(parts[i]) end
  out(concat(parts, "\t", 1, n) .. "\n")
end

-- Standard streams --------------------------------------------------------------------------------

local Stream = {}
local sinks = setmetatable({}, {__mode = "k"}) -- stream -> sink function (nil for stdin)
local names = setmetatable({}, {__mode = "k"})

local MT = {
  __index = Stream,
  __name = "FILE*",
  __tostring = function(s) return ("file (%s)"):format(names[s]) end,
}

local function stream(name, sink)
  local s = engine.new_object(MT)
  sinks[s], names[s] = sink, name
  return s
end

local function check_stream(s, method)
  if names[s] == nil then bad_argument(1, method, "FILE*", type(s)) end
end

local write_text = engine.write_text

function Stream:write(...)
  check_stream(self, "write")
  local sink = sinks[self]
  if not sink then return nil, "Bad file descriptor", 9 end
  sink(write_text("write", ...))
  return self
end

local function read_one(fmt)
  if type(fmt) == "string" then fmt = fmt:gsub("^%*", "") end
  if fmt == "a" then return await(read_all()) or "" end
  local line = await(read_line("", false))
  if line == nil then return nil end
  if fmt == nil or fmt == "l" then return line end
  if fmt == "L" then return line .. "\n" end
  if fmt == "n" then return tonumber(line) end
  if type(fmt) == "number" then
    if fmt == 0 then return "" end
    return line:sub(1, fmt)
  end
  bad_argument(1, "read", "valid format", tostring(fmt))
end

function Stream:read(...)
  check_stream(self, "read")
  if sinks[self] then return nil, "Bad file descriptor", 9 end
  local n = select("#", ...)
  if n <= 1 then return read_one((...)) end
  local results = {}
  for i = 1, n do
    results[i] = read_one((select(i, ...)))
    if results[i] == nil then return table.unpack(results, 1, i) end
  end
  return table.unpack(results, 1, n)
end

function Stream:lines(...)
  check_stream(self, "lines")
  local formats = table.pack(...)
  return function() return self:read(table.unpack(formats, 1, formats.n)) end
end

function Stream:flush() return self end
function Stream:setvbuf() return true end
function Stream:seek() return nil, "Illegal seek", 29 end
function Stream:close() return nil, "cannot close standard file" end

local stdout, stderr, stdin = stream("stdout", out), stream("stderr", err), stream("stdin", nil)
io.stdout, io.stderr, io.stdin = stdout, stderr, stdin

local current_output, current_input = stdout, stdin

function io.type(obj)
  if names[obj] ~= nil then return "file" end
  return real_type(obj)
end

local function switch(current, file, mode, fname)
  if file == nil then return current end
  if type(file) == "string" then
    local f, msg = real_open(file, mode)
    if not f then raise(msg) end
    return f
  end
  if io.type(file) ~= "file" then bad_argument(1, fname, "FILE*", type(file)) end
  return file
end

function io.output(file)
  current_output = switch(current_output, file, "w", "output")
  return current_output
end

function io.input(file)
  current_input = switch(current_input, file, "r", "input")
  return current_input
end

function io.write(...)
  return current_output:write(...)
end

function io.read(...)
  return current_input:read(...)
end

function io.lines(filename, ...)
  if filename == nil then return current_input:lines(...) end
  return real_lines(filename, ...)
end

--- Asks the user for one line of input (a prompt in a notebook, the terminal on the command
--- line) and returns it without the newline; nil at the end of input.
---@async
---@param prompt? string shown before the input
---@param opts? {password?: boolean} password: hide what is typed (notebooks)
---@return string? line
local function input(prompt, opts)
  if prompt ~= nil and type(prompt) ~= "string" then bad_argument(1, "input", "string", type(prompt)) end
  local password = type(opts) == "table" and opts.password == true
  return await(read_line(prompt or "", password))
end

-- os.exit -----------------------------------------------------------------------------------------

function os.exit(code)
  error(engine.exit_stop(code), 0)
end

return {input = input}
