-- cru.ratelimit: token buckets.
--
-- Refill is continuous: tokens = min(capacity, tokens + elapsed / interval) on every operation.
-- The bucket starts full. acquire() sleeps on the engine's clock (not cru.timer.sleep, which
-- tests stub), so a stub cannot make it spin.
--
-- Each bucket also counts its outcomes (granted, refused try_acquires, acquires waiting now) with
-- plain increments, for live displays. A display sets the bucket's `watch` (a function): the
-- first change after the display last looked (which clears `dirty`) calls it once, so a limiter
-- hammered 100,000 times a second costs its display one call per refresh, not one per call.

local engine, native = ...
local await, raise, bad_argument = engine.await, engine.raise, engine.bad_argument
local now = native.monotonic
local type, tonumber, huge, min, max = type, tonumber, math.huge, math.min, math.max
local setmetatable = setmetatable

local Limiter = {}
-- limiter -> {capacity, interval, tokens, stamp, granted, refused, waiting, dirty, watch}
local state = setmetatable({}, {__mode = "k"})

local function bucket(l, method)
  local b = state[l]
  if b == nil then bad_argument(1, method, "RateLimiter", type(l)) end
  local t = now()
  b.tokens = min(b.capacity, b.tokens + (t - b.stamp) / b.interval)
  b.stamp = t
  return b
end

-- Marks `b` changed; tells its watcher, if it has one, the first time since it last looked.
local function changed(b)
  b.dirty = true
  local watch = b.watch
  if watch then watch() end
end

-- A bucket is to-be-closed: an acquire that waits holds it in a <close> variable, so the wait
-- is counted off however the acquire ends (an interrupt too).
local BUCKET_MT = {__close = function(b)
  b.waiting = b.waiting - 1
  if not b.dirty then changed(b) end
end}

local MT = {
  __index = Limiter,
  __name = "RateLimiter",
  __tostring = function(l)
    local b = bucket(l, "tostring")
    return ("RateLimiter(capacity=%g, interval=%g, tokens=%.2f)"):format(b.capacity, b.interval, b.tokens)
  end,
}

-- Wrongly typed fields fall back to the default, as in the reference; numeric strings count.
local function field(opts, key, default)
  local t = type(opts[key])
  local v = (t == "number" or t == "string") and tonumber(opts[key]) or nil
  if v == nil then return default end
  return v + 0.0
end

local ratelimit = {}

--- Creates a token-bucket rate limiter. The bucket starts full and refills continuously, one
--- token every `interval` seconds, up to `capacity`.
---@param opts {capacity?: number, interval?: number} capacity (5, at least 1) and seconds per token (1.0), finite and positive
---@return RateLimiter limiter with :acquire(), :try_acquire() and :remaining()
function ratelimit.new(opts)
  if type(opts) ~= "table" then bad_argument(1, "new", "table", type(opts)) end
  local capacity, interval = field(opts, "capacity", 5.0), field(opts, "interval", 1.0)
  if capacity ~= capacity or capacity <= 0 or capacity == huge then
    raise("capacity must be a finite positive number")
  end
  if capacity < 1 then -- acquire takes a whole token: such a bucket could never grant one
    raise(("capacity must be at least 1: acquire takes a whole token, so a bucket of %g could never grant one"):format(capacity))
  end
  if interval ~= interval or interval <= 0 or interval == huge then
    raise("interval must be a finite positive number")
  end
  local l = engine.new_object(MT)
  state[l] = setmetatable({capacity = capacity, interval = interval, tokens = capacity, stamp = now(),
                           granted = 0, refused = 0, waiting = 0, dirty = false}, BUCKET_MT)
  return l
end

--- Takes a token, waiting until one is available.
---@async
function Limiter:acquire()
  local b = bucket(self, "acquire")
  if b.tokens < 1 then
    b.waiting = b.waiting + 1
    if not b.dirty then changed(b) end
    local _ <close> = b
    repeat
      await(max((1 - b.tokens) * b.interval, 0.001))
      b = bucket(self, "acquire")
    until b.tokens >= 1
  end
  b.tokens = b.tokens - 1
  b.granted = b.granted + 1
  if not b.dirty then changed(b) end
end

--- Takes a token if one is available now; returns whether it did.
---@return boolean acquired
function Limiter:try_acquire()
  local b = bucket(self, "try_acquire")
  if b.tokens < 1 then
    b.refused = b.refused + 1
    if not b.dirty then changed(b) end
    return false
  end
  b.tokens = b.tokens - 1
  b.granted = b.granted + 1
  if not b.dirty then changed(b) end
  return true
end

--- The current token count (a float).
---@return number tokens
function Limiter:remaining()
  return bucket(self, "remaining").tokens
end
Limiter.tokens = Limiter.remaining -- the contract's name

-- For live displays of limiters (the notebook's widgets): their metatable, which a display
-- gives a __display, and the bucket behind a limiter (fields as listed at `state`).
engine.limiters = {metatable = MT, bucket = function(l) return state[l] end}

return ratelimit
