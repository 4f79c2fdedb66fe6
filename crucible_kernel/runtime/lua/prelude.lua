-- The Lua half of the task driver, and the guard rails around the standard library.
--
-- Every piece of work (a file, a cell, a spawned function, a service, and everything the kernel
-- runs on the user's behalf) runs as a coroutine that Python resumes through `engine.step`. An
-- async API function yields a request (a Python awaitable, or a number of seconds to sleep) to
-- the driver, which awaits it on the asyncio loop and resumes the coroutine with the outcome.
-- Coroutines cannot yield through Python frames, so the yielding has to happen here, in Lua.
--
-- Interrupts and cancellations unwind a coroutine with a stop value that `pcall`/`xpcall` cannot
-- swallow, so a `while true do pcall(...) end` loop still stops. A count hook on every coroutine
-- notices interrupts while Lua computes; `debug.sethook` chains the user's hook behind it.
--
-- Nothing here may let Lua crash the process or switch the interrupt check off: binary chunks
-- are refused (malformed bytecode crashes the VM), userdata metatables cannot be replaced (C
-- code trusts them), lupa's own metatable and registry entries are hidden, and the upvalues and
-- locals of the runtime's own functions are out of reach of the debug library.
--
-- Loaded once per runtime with the table of native (Python) helpers, before any other chunk and
-- before any user code; returns the `engine` table that the other runtime chunks receive.

local native = ...

local G = _G
local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_status, co_close, co_isyieldable = coroutine.status, coroutine.close, coroutine.isyieldable
local co_running = coroutine.running
local raw_pcall, raw_xpcall, raw_error = pcall, xpcall, error
local raw_load, raw_loadfile = load, loadfile
local pack, unpack, select, type, tostring = table.pack, table.unpack, select, type, tostring
local concat = table.concat
local rawget, rawset, next, setmetatable = rawget, rawset, next, setmetatable
local debug = debug
local raw_sethook, raw_gethook, getinfo, traceback = debug.sethook, debug.gethook, debug.getinfo,
  debug.traceback
local raw_getmetatable, raw_setmetatable = debug.getmetatable, debug.setmetatable
local plain_getmetatable = getmetatable
local raw_getupvalue, raw_setupvalue, raw_upvaluejoin = debug.getupvalue, debug.setupvalue,
  debug.upvaluejoin
local raw_getlocal, raw_setlocal, raw_getregistry = debug.getlocal, debug.setlocal, debug.getregistry
local sfind, ssub, sbyte, sgsub, format = string.find, string.sub, string.byte, string.gsub, string.format
local math_type, tointeger, huge, mmin = math.type, math.tointeger, math.huge, math.min
local tonumber, pairs, ipairs = tonumber, pairs, ipairs
local package = package

local check_interrupt, settle, new_token = native.check_interrupt, native.settle, native.token
local task_can_wait = native.can_wait
local call_back = native.call

local engine = {}

local function copy(t)
  local c = {}
  for k, v in next, t do c[k] = v end
  return c
end

-- Result kinds returned by engine.step (numbers: cheaper to hand to Python than strings).
local AWAIT, DONE, FAIL, STOPPED, YIELD = 1, 2, 3, 4, 5
-- How the driver resumes a coroutine that awaited.
local OK, ERR, STOP = 1, 2, 3

---------------------------------------------------------------------------------------------------
-- Stops: interrupt, cancel, exit. They unwind the stack and pass through pcall/xpcall.

local STOP_MT = {__tostring = function(s) return s.message end, __name = "stop"}
local STOPS = {
  interrupted = setmetatable({kind = "interrupted", message = "interrupted"}, STOP_MT),
  cancelled = setmetatable({kind = "cancelled", message = "cancelled"}, STOP_MT),
}

local function is_stop(e)
  return type(e) == "table" and raw_getmetatable(e) == STOP_MT
end
engine.is_stop = is_stop

local function exit_stop(code)
  return setmetatable({kind = "exit", message = "exit", code = code}, STOP_MT)
end
engine.exit_stop = exit_stop

local function stop_of(kind, code)
  if kind == "exit" then return exit_stop(code) end
  return STOPS[kind] or STOPS.cancelled
end

--- Raises the stop `kind` ("interrupted", "cancelled" or "exit" with `code`): for natives that
--- report a stop instead of a value (a wait that an interrupt ended).
function engine.stop(kind, code)
  raw_error(stop_of(kind, code), 0)
end

local function pass_stops(ok, ...)
  if not ok and is_stop((...)) then raw_error((...), 0) end
  return ok, ...
end
engine.pass_stops = pass_stops

function pcall(f, ...)
  return pass_stops(raw_pcall(f, ...))
end

function xpcall(f, handler, ...)
  if type(handler) ~= "function" then return raw_xpcall(f, handler, ...) end
  return pass_stops(raw_xpcall(f, function(e)
    if is_stop(e) then return e end
    return handler(e)
  end, ...))
end

---------------------------------------------------------------------------------------------------
-- The interrupt hook. Python cannot run while Lua computes, so every coroutine calls into Python
-- every HOOK_COUNT instructions; that call lets a pending SIGINT handler run and reports whether
-- the running code must stop.
--
-- A hook the user sets with debug.sethook is chained behind ours: the installed hook checks for
-- interrupts on count events and tail-calls the user's function (so its debug.getinfo levels are
-- those of a hook Lua called itself). debug.gethook reports the user's hook, never ours.

local HOOK_COUNT = 10000
local EVENT_CHECK = 64 -- line, call and return events between two checks, with a user hook

local function hook()
  if check_interrupt() then raw_error(STOPS.interrupted, 0) end
end
engine.check_interrupt = hook

local user_hooks = setmetatable({}, {__mode = "k"}) -- thread -> {fn, mask, count, step, acc}

local is_internal -- defined below

local function chained(event, line)
  local u = user_hooks[co_running()]
  if event == "count" then
    if check_interrupt() then raw_error(STOPS.interrupted, 0) end
    if u == nil or u.count <= 0 then return end
    local acc = u.acc + u.step
    if acc < u.count then u.acc = acc; return end
    u.acc = acc - u.count
  elseif u == nil then
    return
  else
    -- Count events that fall due inside a hook function are lost, and with a line hook most of
    -- the instructions run inside it: check on the other events as well.
    local events = u.events + 1
    if events >= EVENT_CHECK then
      events = 0
      if check_interrupt() then raw_error(STOPS.interrupted, 0) end
    end
    u.events = events
    if is_internal(getinfo(2, "S").source) then
      return -- the runtime's own lines, calls and returns (C functions in the reference)
    end
  end
  return u.fn(event, line)
end

local function install(co, u)
  if u == nil then
    if co then raw_sethook(co, hook, "", HOOK_COUNT) else raw_sethook(hook, "", HOOK_COUNT) end
    return
  end
  local mask = ""
  for _, c in ipairs({"c", "r", "l"}) do
    if sfind(u.mask, c, 1, true) then mask = mask .. c end
  end
  if co then raw_sethook(co, chained, mask, u.step) else raw_sethook(chained, mask, u.step) end
end

local function arm(co)
  raw_sethook(co, hook, "", HOOK_COUNT)
  return co
end
arm(co_running()) -- the main thread too: synchronous calls from Python run there

local function thread_arg(...)
  if type((...)) == "thread" then return (...), 1 end
  return nil, 0
end

function debug.sethook(...)
  local co, shift = thread_arg(...)
  local key = co or co_running()
  local fn, mask, count = select(shift + 1, ...)
  if fn == nil then
    user_hooks[key] = nil
    install(co, nil)
    return
  end
  if type(mask) == "number" then mask = tostring(mask) end
  if type(mask) ~= "string" then
    engine.bad_argument(shift + 2, "sethook", "string", mask == nil and "no value" or type(mask))
  end
  if type(fn) ~= "function" then engine.bad_argument(shift + 1, "sethook", "function", type(fn)) end
  if count == nil then count = 0 end
  if math_type(count) ~= "integer" then
    local n = tointeger(type(count) == "number" and count or tonumber(count))
    if n == nil then engine.bad_argument(shift + 3, "sethook", "integer", type(count)) end
    count = n
  end
  local step = HOOK_COUNT
  if count > 0 and count < HOOK_COUNT then step = count end
  local u = {fn = fn, mask = mask, count = count, step = step, acc = 0, events = 0}
  user_hooks[key] = u
  install(co, u)
end

function debug.gethook(...)
  local co = thread_arg(...)
  local u = user_hooks[co or co_running()]
  if u == nil then return nil end
  return u.fn, u.mask, u.count
end

--- Takes the interrupt hook off the running coroutine for a hot loop that calls
--- `engine.check_interrupt` itself; returns whether it did (not when the user set a hook).
--- Put it back with `engine.rearm`.
function engine.unhook()
  if user_hooks[co_running()] ~= nil then return false end
  raw_sethook()
  return true
end

function engine.rearm()
  local co = co_running()
  install(co, user_hooks[co])
end

---------------------------------------------------------------------------------------------------
-- The runtime's own functions and frames, and the debug library around them.

local INTERNAL = "=crucible/"

function is_internal(source)
  return ssub(source, 1, #INTERNAL) == INTERNAL
end
engine.is_internal = is_internal

local function internal_function(f)
  return type(f) == "function" and is_internal(getinfo(f, "S").source)
end
engine.internal_function = internal_function

-- lupa's metatable for Python objects: handing it (or any metatable) to a foreign userdata
-- makes C code read that userdata as something it is not.
local lupa_mt = raw_getmetatable(new_token())

local function hide(mt)
  if mt == lupa_mt then return nil end
  return mt
end

-- Calls a C function of the debug library and re-raises its error at the user's position (called
-- from here, its error would name this chunk).
local function relay(ok, ...)
  if ok then return ... end
  local e = ...
  if type(e) == "string" then engine.raise(e) end
  raw_error(e, 0)
end

function getmetatable(...)
  if select("#", ...) == 0 then engine.raise("bad argument #1 to 'getmetatable' (value expected)") end
  local v = ...
  if raw_getmetatable(v) == lupa_mt then return nil end
  return plain_getmetatable(v)
end

function debug.getmetatable(...)
  return hide(relay(raw_pcall(raw_getmetatable, ...)))
end

function debug.setmetatable(v, mt)
  if type(v) == "userdata" then
    engine.raise("debug.setmetatable cannot change the metatable of a userdata "
      .. "(C code relies on it; a wrong one would crash the kernel)")
  end
  if mt == lupa_mt then engine.raise("debug.setmetatable: that metatable is reserved") end
  return relay(raw_pcall(raw_setmetatable, v, mt))
end

function debug.getupvalue(f, n)
  if internal_function(f) then return nil end
  return relay(raw_pcall(raw_getupvalue, f, n))
end

function debug.setupvalue(f, n, v)
  if internal_function(f) then engine.raise("debug.setupvalue cannot change the runtime's own functions") end
  return relay(raw_pcall(raw_setupvalue, f, n, v))
end

function debug.upvaluejoin(f1, n1, f2, n2)
  if internal_function(f1) or internal_function(f2) then
    engine.raise("debug.upvaluejoin cannot reach into the runtime's own functions")
  end
  return relay(raw_pcall(raw_upvaluejoin, f1, n1, f2, n2))
end

-- debug.getlocal/setlocal: the frame a level names must not be the runtime's. On the running
-- thread the user's level 1 (the function calling debug.getlocal) is level 3 here, and level 4
-- for the C function that pcall calls on our behalf.
local function frame_call(fname, raw, ...)
  local co, shift = thread_arg(...)
  local level = select(shift + 1, ...)
  if type(level) ~= "number" then return relay(raw_pcall(raw, ...)) end -- a function: parameter names
  local same = co == nil or co == co_running()
  local info
  if same then info = getinfo(level + 2, "S") else info = getinfo(co, level, "S") end
  if info == nil then engine.raise(format("bad argument #%d to '%s' (level out of range)", shift + 1, fname)) end
  if is_internal(info.source) then return false end
  if not same then return true, relay(raw_pcall(raw, ...)) end
  if co == nil then return true, relay(raw_pcall(raw, level + 3, select(2, ...))) end
  return true, relay(raw_pcall(raw, co, level + 3, select(3, ...)))
end

local function visible(shown, ...)
  if shown == false then return nil end
  if shown == true then return ... end
  return shown, ...
end

function debug.getlocal(...)
  return visible(frame_call("getlocal", raw_getlocal, ...))
end

function debug.setlocal(...)
  local shown, name = frame_call("setlocal", raw_setlocal, ...)
  if shown == false then engine.raise("debug.setlocal cannot change the runtime's own variables") end
  if shown == true then return name end
  return shown
end

-- The registry holds lupa's metatable and references, the hook table (clearing it would switch
-- the interrupt check off) and, at integer keys, every Lua value Python holds. debug.getregistry
-- returns a view without them: the main thread (1), the globals (2) and string keys such as
-- _LOADED and FILE* stay visible.
local registry = raw_getregistry()
local HIDDEN = {POBJECT = true, LUPA_PYTHON_REFERENCES_TABLE = true, Py_None = true, _HOOKKEY = true,
                LUPA_NUMBER_OVERFLOW_CALLBACK_FUNCTION = true, ["crucible.home"] = true}

-- The home thread: where the Lua values Python keeps for long live (runtime/anchor.py). lupa ties
-- each Lua value it hands Python to the thread that was running then, and uses that thread for
-- every later access and for the final release, even after the thread has ended and been
-- collected (lupa issue #84). lupa also expects the thread's stack to be empty when it calls on
-- it, which the main thread's is not while it resumes a task. So the home thread is a coroutine
-- that has already finished (its stack is empty and nothing resumes it again), kept by the
-- registry for as long as the state lives; calls through it run as on a fresh thread.
local home = arm(co_create(function() end))
co_resume(home)
registry["crucible.home"] = home
engine.home_address = format("%p", home)
engine.main_address = format("%p", (co_running()))

local function hidden(k)
  if type(k) == "string" then return HIDDEN[k] == true end
  return not (k == 1 or k == 2)
end

local registry_view = setmetatable({}, {
  __index = function(_, k)
    if hidden(k) then return nil end
    return rawget(registry, k)
  end,
  __newindex = function(_, k, v)
    if hidden(k) then engine.raise("this registry entry belongs to the runtime") end
    rawset(registry, k, v)
  end,
  __pairs = function()
    local function iter(_, k)
      local v
      repeat k, v = next(registry, k) until k == nil or not hidden(k)
      return k, v
    end
    return iter, nil, nil
  end,
  __name = "registry",
})

function debug.getregistry()
  return registry_view
end

---------------------------------------------------------------------------------------------------
-- Loading code: text only. Precompiled chunks are refused everywhere (malformed bytecode crashes
-- the VM; string.dump still works). Chunk names starting with "=crucible/" are the runtime's.

local BINARY = "binary chunks are refused (precompiled Lua can crash the kernel); load the source text"

local function text_only(fn, err)
  if fn ~= nil then return fn end
  if is_stop(err) then raw_error(err, 0) end -- a stop raised inside a reader function
  if type(err) == "string" and sfind(err, "attempt to load a binary chunk", 1, true) then
    err = BINARY
  end
  return nil, err
end

local function check_mode(mode, fname, argn)
  if mode ~= nil and type(mode) ~= "string" and type(mode) ~= "number" then
    engine.bad_argument(argn, fname, "string", type(mode))
  end
  if mode ~= nil and not sfind(tostring(mode), "t", 1, true) then return false end
  return true
end

function load(chunk, name, mode, ...)
  if type(name) == "string" and is_internal(name) then
    engine.raise("chunk names starting with '=crucible/' are reserved for the runtime")
  end
  if not check_mode(mode, "load", 3) then return nil, BINARY end
  return text_only(raw_load(chunk, name, "t", ...))
end

function loadfile(filename, mode, ...)
  if not check_mode(mode, "loadfile", 2) then return nil, BINARY end
  return text_only(raw_loadfile(filename, "t", ...))
end

function dofile(filename)
  local fn, err = text_only(raw_loadfile(filename, "t"))
  if fn == nil then raw_error(err, 0) end
  return fn()
end

-- require's Lua searcher (package.searchers[2]), loading text only; messages as Lua's own.
local searchpath = package.searchpath
package.searchers[2] = function(name)
  local path = package.path
  if type(path) ~= "string" then raw_error("'package.path' must be a string", 0) end
  local filename, err = searchpath(name, path)
  if filename == nil then return err end
  local fn, msg = text_only(raw_loadfile(filename, "t"))
  if fn == nil then
    raw_error(format("error loading module '%s' from file '%s':\n\t%s", name, filename, msg), 0)
  end
  return fn, filename
end

---------------------------------------------------------------------------------------------------
-- Errors raised on behalf of the caller. Frames of the runtime's own chunks are skipped, so the
-- position names the user's line however deep the API wrapper was.

-- The stack level (as counted by the function calling `user_level`) of the first non-internal
-- frame; 0 when there is none (a tail call replaced it), which means "no position".
local function user_level()
  local level = 3
  while true do
    local info = getinfo(level, "S")
    if not info then return 0 end
    if info.what ~= "C" and not is_internal(info.source) then return level - 1 end
    level = level + 1
  end
end

--- Raises `message` at the position of the user code that called into the runtime.
function engine.raise(message)
  raw_error(message, user_level())
end

--- The standard "bad argument" error, blamed on the user's call.
function engine.bad_argument(n, fname, expected, got)
  engine.raise(("bad argument #%d to '%s' (%s expected, got %s)"):format(n, fname, expected, got))
end

---------------------------------------------------------------------------------------------------
-- Argument conversion as mlua does it, and byte-order string comparison; shared
-- by the modules.

--- A string parameter: strings as they are, numbers through tostring, anything else nil.
function engine.as_string(value)
  local t = type(value)
  if t == "string" then return value end
  if t == "number" then return tostring(value) end
  return nil
end

--- The text `file:write` makes of its arguments: strings as they are, numbers as "%d" or
--- "%.14g" (so 1.0 writes as 1, unlike tostring); anything else is a bad argument of `fname`.
function engine.write_text(fname, ...)
  local n = select("#", ...)
  if n == 1 and type((...)) == "string" then return (...) end -- no copy of a lone string
  local parts = {...}
  for i = 1, n do
    local v = parts[i]
    local t = type(v)
    if t == "number" then
      parts[i] = math_type(v) == "integer" and format("%d", v) or format("%.14g", v)
    elseif t ~= "string" then
      engine.bad_argument(i, fname, "string", t)
    end
  end
  return concat(parts, "", 1, n)
end

--- Seconds from a number or a numeric string; anything else, negative, NaN or infinite gives
--- `default` (the reference ignores an option field it cannot convert).
function engine.seconds_or(value, default)
  if type(value) ~= "number" then
    value = type(value) == "string" and tonumber(value) or nil
    if value == nil then return default end
  end
  if value ~= value or value < 0 or value == huge then return default end
  return value
end

--- Whether `a` sorts before `b` byte by byte (Lua's `<` on strings follows the C locale's
--- collation, which need not be byte order).
function engine.bytes_less(a, b)
  for i = 1, mmin(#a, #b) do
    local x, y = sbyte(a, i), sbyte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

--- Whether Lua's `<` on strings is byte order under the current locale (checked at call time:
--- os.setlocale may change it).
function engine.collation_is_bytewise()
  return "B" < "a" and "Z" < "_" and "_" < "a" and "a" < "b" and "A" < "a"
end

---------------------------------------------------------------------------------------------------
-- Awaiting.

local REQ = setmetatable({}, {__tostring = function() return "<driver request>" end})

local function resumed(status, ...)
  if status == OK then return ... end
  if status == STOP then raw_error(stop_of(...), 0) end
  engine.raise((...))
end

--- Waits for `request` (a Python awaitable, or a number of seconds to sleep) and returns its
--- values. Outside a driven coroutine a request that is already complete still returns; one that
--- would have to wait raises Lua's own "attempt to yield ..." error, as the reference does.
local function settled(request, status, ...)
  if status then return status, ... end
  co_yield(REQ, request) -- not yieldable here: raises "attempt to yield from outside a coroutine"
end

function engine.await(request)
  if not co_isyieldable() then return resumed(settled(request, settle(request))) end
  return resumed(co_yield(REQ, request))
end

--- Whether the running code may wait: it runs in a task's coroutine, and that task is not being
--- unwound by a cancellation (whose waits all end at once with the stop). Cleanup that must
--- happen either way, such as closing a connection from a `<close>` handler, does its work in
--- the background when this is false.
function engine.can_wait()
  return co_isyieldable() and task_can_wait()
end

--- Runs `fn(...)` synchronously, the way the reference's test runner runs suites: Python calls
--- it on the main Lua thread, where nothing can yield. An async call in it completes if its
--- result is ready at once and otherwise raises "attempt to yield from outside a coroutine".
--- The interrupt hook stays armed. Returns fn's results, or re-raises its error value
--- unchanged (tables stay tables; a stop stops the calling task).
function engine.run_sync(fn, ...)
  local r = call_back(fn, ...)
  if not r[1] then raw_error(r[2], 0) end
  return unpack(r, 2, r.n)
end

-- What Python calls for run_sync (fetched from the main thread, so it runs there).
function engine.protected(fn, ...)
  return pack(raw_pcall(fn, ...))
end

---------------------------------------------------------------------------------------------------
-- User coroutines: awaits inside them are forwarded to the driver, so a `coroutine.wrap`
-- generator may sleep. Each one carries the interrupt hook, and a stop that ends one passes on
-- to whoever resumed or closed it.

local function forward(co, ok, first, ...)
  if ok and first == REQ and co_status(co) == "suspended" then
    local request = ...
    if co_isyieldable() then
      return forward(co, co_resume(co, co_yield(REQ, request)))
    end
    return forward(co, co_resume(co, settled(request, settle(request))))
  end
  return ok, first, ...
end

function coroutine.create(f)
  return arm(co_create(f))
end

function coroutine.resume(co, ...)
  return pass_stops(forward(co, co_resume(co, ...)))
end
local resume = coroutine.resume

function coroutine.close(co)
  return pass_stops(co_close(co))
end

local function unwrap(co, ok, ...)
  if ok then return ... end
  local err = ...
  if co_status(co) == "dead" then co_close(co) end
  raw_error(err, 2) -- strings gain the caller's position, as coroutine.wrap does in C
end

function coroutine.wrap(f)
  local co = arm(co_create(f))
  return function(...)
    return unwrap(co, resume(co, ...)) -- a tail call: level 2 in unwrap is our caller
  end
end

---------------------------------------------------------------------------------------------------
-- Tasks, as seen by Python: an integer id for each coroutine (lupa turns a not-yet-started thread
-- into a function when it crosses into Python, so threads stay here).
--
-- A task's body runs under xpcall, so an error or a stop unwinds inside the coroutine: its
-- to-be-closed variables close there with the interrupt hook working (after an error raised by a
-- hook, Lua keeps hooks off in the dead coroutine, and a looping __close run by coroutine.close
-- could never be interrupted). The handler takes the traceback before the stack unwinds.

local tasks = {}    -- id -> coroutine
local pending = {}  -- id -> packed arguments for the first resume
local next_id = 0

-- The text a failed task reports for its error value: a string as it is; a table without
-- __tostring by its `message` field when it has one (read raw: reporting runs no user code);
-- anything else through tostring.
local function message_of(e)
  if type(e) == "string" then return e end
  if type(e) == "table" then
    local mt = raw_getmetatable(e)
    local m = rawget(e, "message")
    if (mt == nil or rawget(mt, "__tostring") == nil) and (type(m) == "string" or type(m) == "number") then
      return m .. ""
    end
  end
  local ok, s = raw_pcall(tostring, e)
  if ok and type(s) == "string" then return s end
  return ("(error object is a %s value)"):format(type(e))
end

-- The body's own two frames at the end of a traceback: the xpcall and the body itself.
local BODY_FRAMES = "\n\t%[C%]: in [^\n]*\n\tcrucible/prelude%.lua:%d+: in [^\n]*$"

local function body(fn, ...)
  local tb
  local function handler(e)
    if not is_stop(e) then tb = (sgsub(traceback(nil, 2), BODY_FRAMES, "")) end
    return e
  end
  local function finish(ok, ...)
    if ok then return true, ... end
    return false, (...), tb
  end
  return finish(raw_xpcall(fn, handler, ...))
end

--- Creates a task coroutine for `fn(...)` and returns its id. Python starts it with engine.step.
function engine.task(fn, ...)
  next_id = next_id + 1
  tasks[next_id] = arm(co_create(body))
  pending[next_id] = pack(fn, ...)
  return next_id
end

local function failed(id, co, err, tb)
  tasks[id] = nil
  if is_stop(err) then
    co_close(co)
    return STOPPED, err.kind, err.code
  end
  local message = message_of(err)
  if tb ~= nil then
    tb = message .. "\n" .. tb
  else
    tb = traceback(co, message)
  end
  co_close(co)
  return FAIL, message, tb, err
end

local function outcome(id, co, ok, ...)
  if ok then
    if co_status(co) == "dead" then
      if ... then
        tasks[id] = nil
        return DONE, select(2, ...)
      end
      return failed(id, co, select(2, ...))
    end
    if ... == REQ then return AWAIT, select(2, ...) end
    return YIELD, nil -- a bare coroutine.yield() at the top of a task: let the loop run once
  end
  return failed(id, co, (...), nil) -- raised outside the body's xpcall (out of memory, ...)
end

--- Resumes task `id`: the first time with its arguments, later with what the driver hands back.
--- Returns a kind (AWAIT, DONE, FAIL, STOPPED, YIELD) followed by its details.
function engine.step(id, ...)
  local co = tasks[id]
  local args = pending[id]
  if args then
    pending[id] = nil
    return outcome(id, co, co_resume(co, unpack(args, 1, args.n)))
  end
  return outcome(id, co, co_resume(co, ...))
end

--- Forces task `id` closed (its to-be-closed variables run) without resuming it.
function engine.close(id)
  local co = tasks[id]
  tasks[id], pending[id] = nil, nil
  if co then co_close(co) end
end

--- Where task `id` is now, as "chunk:line", skipping the runtime's own frames.
function engine.where(id)
  local co = tasks[id]
  if not co then return nil end
  for level = 0, 200 do
    local info = getinfo(co, level, "Sl")
    if not info then return nil end
    if info.what ~= "C" and not is_internal(info.source) then
      return ("%s:%d"):format(info.short_src, info.currentline)
    end
  end
end

function engine.task_count()
  local n = 0
  for _ in pairs(tasks) do n = n + 1 end
  return n
end

engine.kinds = {AWAIT = AWAIT, DONE = DONE, FAIL = FAIL, STOPPED = STOPPED, YIELD = YIELD,
                OK = OK, ERR = ERR, STOP = STOP}

---------------------------------------------------------------------------------------------------
-- Objects that look like the reference's userdata: `type(x) == "userdata"`, methods through the
-- metatable. Each wraps a Python object (a fresh inert token, or one a native handed over, such
-- as a task) whose lupa metatable is replaced by ours, so nothing of Python is reachable through
-- it. lupa's own __gc must still run to release the Python object: `engine.release` puts lupa's
-- metatable back and calls it, for objects made here only (anything else would be read as a
-- Python object by lupa). Finalizers never call Python functions of ours: at interpreter
-- shutdown those may already be torn down.

local lupa_gc = lupa_mt.__gc
local owned = setmetatable({}, {__mode = "k"})

function engine.release(u)
  if not owned[u] then return end
  owned[u] = nil
  raw_setmetatable(u, lupa_mt)
  lupa_gc(u)
end

function engine.new_object(mt, u)
  u = u or new_token()
  if raw_getmetatable(u) ~= lupa_mt then error("engine.new_object: not a fresh Python object", 2) end
  if mt.__gc == nil then mt.__gc = engine.release end
  owned[u] = true
  raw_setmetatable(u, mt)
  return u
end

engine.pack, engine.unpack = pack, unpack

---------------------------------------------------------------------------------------------------
-- Ownership. Everything a piece of code registers (crucible.on handlers, session hooks,
-- schedules, publications, options, statuses) is tagged with the owner current at registration,
-- so that re-running a cell or reloading a plugin can remove what the previous run registered
-- (each registry has an `unregister_owner(owner)`). Registries look this function up in the
-- engine table at each call, so whoever tracks the running cell or plugin may replace it.

--- The owner of what the running code registers: a string naming it, or nil when nothing
--- tracks one (the default, until cells and plugins claim their registrations).
---@return string|nil owner
function engine.current_owner()
  return nil
end

---------------------------------------------------------------------------------------------------
-- Capabilities: safe mode for code that is not trusted.
--
-- The functions that reach the outside world are declared, each with the capability it needs
-- (engine.needs: the standard library's here and in processes.lua, cru.http's and cru.ws's in
-- their modules). A policy says which capabilities are granted and how to ask for more;
-- engine.guard wraps one function in a check against a policy, engine.guarded_copy a whole table
-- of them (what a plugin's own environment is built from), and engine.confine makes the whole
-- state safe (the kernel's and `run`'s --safe): guards in place on every declared function, no C
-- modules, a debug library reduced to traceback and getinfo. Binary chunks are refused anyway.

local CAPABILITY_ERROR = "%s needs the '%s' capability, which this plugin does not declare"
local declared = {} -- table -> {key -> {capability, name, when}}
local originals = setmetatable({}, {__mode = "k"}) -- guard -> the function it guards

--- Declares that the functions `keys` of table `tbl` need `capability`; `prefix` .. key names
--- them in refusals. `when(...)`, if given, decides from the arguments whether a call needs it
--- (io.open only for writing).
function engine.needs(capability, tbl, keys, prefix, when)
  local entries = declared[tbl]
  if entries == nil then
    entries = {}
    declared[tbl] = entries
  end
  for _, key in ipairs(keys) do
    entries[key] = {capability = capability, name = prefix .. key, when = when}
  end
end

--- A policy: the capabilities granted (a list of names) and a hint appended to refusals, where
--- "{capability}" stands for the one refused (how to grant it).
function engine.policy(granted, hint)
  local set = {}
  for _, name in ipairs(granted or {}) do set[name] = true end
  return {granted = set, hint = hint or ""}
end

local function refuse(policy, capability, name)
  local hint = sgsub(policy.hint, "{capability}", capability)
  engine.raise(format(CAPABILITY_ERROR, name, capability) .. hint)
end

--- `fn` wrapped so that a call first checks `capability` under `policy`.
function engine.guard(policy, capability, name, fn, when)
  local function guarded(...)
    if not policy.granted[capability] and (when == nil or when(...)) then refuse(policy, capability, name) end
    return fn(...)
  end
  originals[guarded] = fn
  return guarded
end

--- The function a guard wraps (the guard's doc is the function's); anything else as it is.
function engine.unguarded(f)
  return originals[f] or f
end

--- A shallow copy of `tbl` whose declared functions are guarded under `policy`.
function engine.guarded_copy(policy, tbl)
  local c = copy(tbl)
  for key, d in next, declared[tbl] or {} do
    if type(rawget(tbl, key)) == "function" then
      c[key] = engine.guard(policy, d.capability, d.name, rawget(tbl, key), d.when)
    end
  end
  return c
end

--- Safe mode for the whole state: every declared function guarded in place under `policy`, no
--- C modules (package.loadlib, the C searchers, package.cpath), and a debug library reduced to
--- traceback and getinfo. Call once, after every module is installed and before user code runs.
function engine.confine(policy)
  for tbl, entries in next, declared do
    for key, d in next, entries do
      local fn = rawget(tbl, key)
      if type(fn) == "function" then rawset(tbl, key, engine.guard(policy, d.capability, d.name, fn, d.when)) end
    end
  end
  package.loadlib = nil
  package.cpath = ""
  local searchers = package.searchers
  if type(searchers) == "table" then
    searchers[3], searchers[4] = nil, nil -- the C and all-in-one C searchers
  end
  local reduced = {traceback = debug.traceback, getinfo = debug.getinfo}
  G.debug = reduced
  package.loaded.debug = reduced
end

-- The standard library's own (processes.lua declares os.execute and io.popen).
local function writes(path, mode)
  return type(mode) == "string" and sfind(mode, "[wa+]") ~= nil
end
engine.needs("filesystem", io, {"open"}, "io.", writes)
engine.needs("filesystem", io, {"output"}, "io.", function(file) return type(file) == "string" end)
engine.needs("filesystem", io, {"tmpfile"}, "io.")
engine.needs("filesystem", os, {"remove", "rename", "tmpname"}, "os.")

---------------------------------------------------------------------------------------------------
-- The standard library as it is now, before any user code ran (with this chunk's guarded
-- versions of pcall, load, debug.*, ...). The kernel's helpers (completion, inspection, %vars)
-- use these copies, so a cell that replaces `rawget` or `string.format` cannot change them.

local std = copy(G)
for _, lib in ipairs({"coroutine", "debug", "io", "math", "os", "package", "string", "table", "utf8"}) do
  std[lib] = copy(G[lib])
end
std._G = G
engine.std = std

---------------------------------------------------------------------------------------------------
-- Teardown.

--- Lets go of everything the state holds (globals, loaded modules, tasks, hooks), so that its
--- memory returns before lupa closes the state itself. The runtime is unusable after.
function engine.dispose()
  raw_sethook() -- the main thread's hook calls into Python
  raw_sethook(home) -- so does the home thread's
  for _, t in ipairs({tasks, pending, user_hooks, owned}) do
    for k in next, t do t[k] = nil end
  end
  local loaded = package.loaded
  for k in next, G do G[k] = nil end
  setmetatable(G, nil)
  if type(loaded) == "table" then
    for k in next, loaded do loaded[k] = nil end
  end
  for k in next, std do std[k] = nil end
end

return engine
