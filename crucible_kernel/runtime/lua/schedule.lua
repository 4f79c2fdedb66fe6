-- cru.schedule: run a function every N seconds.
--
-- cru.schedule is a callable table: cru.schedule(spec, fn) starts a schedule and returns its
-- handle, cru.schedule.cancel(handle) stops it. `spec` is a number of seconds, or a table with
-- `every` (or `interval`). The first run comes one interval after the call; each run is a task
-- of its own, so `fn` may wait (cru.timer.sleep, cru.http, ...), and the next run waits for it.
-- An error in `fn` is logged (`scheduled callback error: ...`) and the schedule goes on. At most
-- 256 schedules are active at once.
--
--   local h = cru.schedule({every = 60}, function()
--     local resp = cru.http.get("https://example.com/status")
--     cru.log("info", "status " .. resp.status)
--   end)
--   cru.schedule.cancel(h)

local engine, native = ...
local raise, bad_argument = engine.raise, engine.bad_argument
local add, cancel_native = native.add, native.cancel
local type, tonumber, select, huge = type, tonumber, select, math.huge
local mtype, getinfo = math.type, debug.getinfo

local schedule = {}

-- A number field as mlua reads an f64: numbers and numeric strings; nil for anything else.
local function number_of(value)
  local t = type(value)
  if t == "number" then return value end
  if t == "string" then return tonumber(value) end
  return nil
end

local function interval_of(spec)
  local t = type(spec)
  if t == "table" then
    local seconds = number_of(spec.every) or number_of(spec.interval)
    if seconds == nil then raise("schedule spec table must have an 'every' or 'interval' field") end
    return seconds
  end
  if t == "number" then return spec end
  raise("schedule spec must be a table with 'every' field or a number of seconds")
end

setmetatable(schedule, {
  --- Runs `fn` every `spec` seconds (a number, or a table with `every` or `interval`), the
  --- first time one interval from now, each run as a task of its own. Returns a handle for
  --- cru.schedule.cancel.
  ---@param spec number|{every?: number, interval?: number} the interval in seconds (finite, positive)
  ---@param fn fun() the function to run, with no arguments
  ---@return integer handle
  __call = function(_, ...)
    local n = select("#", ...)
    if n ~= 2 then raise(("schedule expects (spec, handler), got %d args"):format(n)) end
    local spec, fn = ...
    local seconds = interval_of(spec)
    if seconds ~= seconds or seconds <= 0 or seconds == huge then
      raise("schedule interval must be a finite positive number")
    end
    if type(fn) ~= "function" then raise("schedule handler must be a function") end
    local info = getinfo(fn, "S")
    local handle, err = add(seconds, fn, engine.current_owner(),
                            ("%s:%d"):format(info.short_src, info.linedefined))
    if handle == nil then raise(err) end
    return handle
  end,
})

--- Stops the schedule `handle` (a run in progress finishes). Returns false if there is no such
--- active schedule.
---@param handle integer what cru.schedule returned
---@return boolean cancelled
function schedule.cancel(handle)
  local h = handle
  if type(h) == "string" then h = tonumber(h) end
  if type(h) ~= "number" then bad_argument(1, "cancel", "number", type(handle)) end
  if mtype(h) == "float" then
    local i = math.tointeger(h)
    if i == nil then raise("bad argument #1 to 'cancel' (number has no integer representation)") end
    h = i
  end
  return cancel_native(h)
end

return schedule
