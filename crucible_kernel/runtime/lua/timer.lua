-- cru.timer: sleep, timeout, clock.

local engine, native = ...
local await, raise, bad_argument = engine.await, engine.raise, engine.bad_argument
local clock, run_with_deadline = native.clock, native.timeout
local type, tonumber, huge = type, tonumber, math.huge

local timer = {}

local function duration(value, what)
  local t = type(value)
  local s = (t == "number" or t == "string") and tonumber(value) or nil
  if s == nil then bad_argument(1, what, "number", t) end
  if s ~= s or s < 0 or s == huge then
    raise(what .. " duration must be a finite non-negative number")
  end
  return s
end

--- Suspends the calling task for `seconds` without blocking anything else.
---@async
---@param seconds number how long to wait (finite, not negative; a numeric string counts)
function timer.sleep(seconds)
  await(duration(seconds, "sleep"))
end

--- Runs `fn()` in a new coroutine with a deadline: (true, first result), (false, error message)
--- or (false, "timeout"). A function that finishes without waiting succeeds even with 0.
---@async
---@param seconds number the deadline (finite, not negative)
---@param fn fun(): any the function to run, with no arguments
---@return boolean ok true if `fn` returned before the deadline
---@return any result its first result, its error message, or "timeout"
function timer.timeout(seconds, fn)
  local s = duration(seconds, "timeout")
  if type(fn) ~= "function" then bad_argument(2, "timeout", "function", type(fn)) end
  return await(run_with_deadline(s, engine.task(fn)))
end

--- Seconds (float) since the runtime started, on a monotonic clock.
---@return number seconds
function timer.clock()
  return clock()
end

return timer
