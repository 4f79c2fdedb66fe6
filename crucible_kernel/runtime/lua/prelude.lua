-- The Lua half of the task driver.
--
-- Every piece of work (a file, a cell, a spawned function, a service) runs as a coroutine that
-- Python resumes through `engine.step`. An async API function yields a request (a Python
-- awaitable, or a number of seconds to sleep) to the driver, which awaits it on the asyncio loop
-- and resumes the coroutine with the outcome. Coroutines cannot yield through Python frames, so
-- the yielding has to happen here, in Lua.
--
-- Interrupts and cancellations unwind a coroutine with a stop value that `pcall`/`xpcall` cannot
-- swallow, so a `while true do pcall(...) end` loop still stops.
--
-- Loaded once per runtime with the table of native (Python) helpers; returns the `engine` table
-- that the other runtime chunks receive.

local native = ...

local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_status, co_close, co_isyieldable = coroutine.status, coroutine.close, coroutine.isyieldable
local raw_pcall, raw_xpcall, raw_error = pcall, xpcall, error
local pack, unpack, select, type, tostring = table.pack, table.unpack, select, type, tostring
local sethook, getinfo, traceback = debug.sethook, debug.getinfo, debug.traceback
local setmetatable, dbg_setmetatable = setmetatable, debug.setmetatable
local sfind, ssub = string.find, string.sub

local check_interrupt, settle, new_token = native.check_interrupt, native.settle, native.token
local call_back = native.call

local engine = {}

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
  return type(e) == "table" and getmetatable(e) == STOP_MT
end
engine.is_stop = is_stop

function engine.exit_stop(code)
  return setmetatable({kind = "exit", message = "exit", code = code}, STOP_MT)
end

local function pass_stops(ok, ...)
  if not ok and is_stop((...)) then raw_error((...), 0) end
  return ok, ...
end

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

local HOOK_COUNT = 10000

local function hook()
  if check_interrupt() then raw_error(STOPS.interrupted, 0) end
end

local function arm(co)
  sethook(co, hook, "", HOOK_COUNT)
  return co
end
sethook(hook, "", HOOK_COUNT) -- the main thread too: synchronous calls from Python run there

---------------------------------------------------------------------------------------------------
-- Errors raised on behalf of the caller. Frames of the runtime's own chunks are skipped, so the
-- position names the user's line however deep the API wrapper was.

local INTERNAL = "=crucible/"

local function is_internal(source)
  return ssub(source, 1, #INTERNAL) == INTERNAL
end
engine.is_internal = is_internal

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
-- Argument conversion as mlua does it (reference §1.3), and byte-order string comparison; shared
-- by the modules.

--- A string parameter: strings as they are, numbers through tostring, anything else nil.
function engine.as_string(value)
  local t = type(value)
  if t == "string" then return value end
  if t == "number" then return tostring(value) end
  return nil
end

--- Seconds from a number or a numeric string; anything else, negative, NaN or infinite gives
--- `default` (the reference ignores an option field it cannot convert).
function engine.seconds_or(value, default)
  if type(value) ~= "number" then
    value = type(value) == "string" and tonumber(value) or nil
    if value == nil then return default end
  end
  if value ~= value or value < 0 or value == math.huge then return default end
  return value
end

--- Whether `a` sorts before `b` byte by byte (Lua's `<` on strings follows the C locale's
--- collation, which need not be byte order).
function engine.bytes_less(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
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
  if status == STOP then raw_error(STOPS[...] or STOPS.cancelled, 0) end
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
-- generator may sleep. Each one carries the interrupt hook.

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

local tasks = {}    -- id -> coroutine
local pending = {}  -- id -> packed arguments for the first resume
local next_id = 0

--- Creates a task coroutine for `fn(...)` and returns its id. Python starts it with engine.step.
function engine.task(fn, ...)
  next_id = next_id + 1
  tasks[next_id] = arm(co_create(fn))
  pending[next_id] = pack(...)
  return next_id
end

local function message_of(e)
  if type(e) == "string" then return e end
  local ok, s = raw_pcall(tostring, e)
  return ok and s or ("(error object is a %s value)"):format(type(e))
end

local function outcome(id, co, ok, ...)
  if ok then
    if co_status(co) == "dead" then
      tasks[id] = nil
      return DONE, ...
    end
    if ... == REQ then return AWAIT, select(2, ...) end
    return YIELD, nil -- a bare coroutine.yield() at the top of a task: let the loop run once
  end
  local err = ...
  tasks[id] = nil
  if is_stop(err) then
    co_close(co)
    return STOPPED, err.kind, err.code
  end
  local message = message_of(err)
  local tb = traceback(co, message)
  co_close(co) -- run the to-be-closed variables the error skipped
  return FAIL, message, tb, err
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
-- metatable back and calls it. Finalizers never call Python functions of ours: at interpreter
-- shutdown those may already be torn down.

local lupa_mt, lupa_gc

function engine.release(u)
  dbg_setmetatable(u, lupa_mt)
  lupa_gc(u)
end

function engine.new_object(mt, u)
  u = u or new_token()
  if lupa_mt == nil then
    lupa_mt = debug.getmetatable(u)
    lupa_gc = lupa_mt.__gc
  end
  if mt.__gc == nil then mt.__gc = engine.release end
  dbg_setmetatable(u, mt)
  return u
end

--- Runs `fn` with the arguments and returns its results, or raises where `fn` raised.
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

return engine
