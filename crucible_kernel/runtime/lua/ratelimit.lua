-- cru.ratelimit: token buckets (reference §3.9).
--
-- Refill is continuous: tokens = min(capacity, tokens + elapsed / interval) on every operation.
-- The bucket starts full. acquire() sleeps on the engine's clock (not cru.timer.sleep, which
-- tests stub), so a stub cannot make it spin.

local engine, native = ...
local await, raise, bad_argument = engine.await, engine.raise, engine.bad_argument
local now = native.monotonic
local type, tonumber, huge, min, max = type, tonumber, math.huge, math.min, math.max

local Limiter = {}
local state = setmetatable({}, {__mode = "k"}) -- limiter -> {capacity, interval, tokens, stamp}

local function bucket(l, method)
  local b = state[l]
  if b == nil then bad_argument(1, method, "RateLimiter", type(l)) end
  local t = now()
  b.tokens = min(b.capacity, b.tokens + (t - b.stamp) / b.interval)
  b.stamp = t
  return b
end

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
  state[l] = {capacity = capacity, interval = interval, tokens = capacity, stamp = now()}
  return l
end

--- Takes a token, waiting until one is available.
---@async
function Limiter:acquire()
  local b = bucket(self, "acquire")
  while b.tokens < 1 do
    await(max((1 - b.tokens) * b.interval, 0.001))
    b = bucket(self, "acquire")
  end
  b.tokens = b.tokens - 1
end

--- Takes a token if one is available now; returns whether it did.
---@return boolean acquired
function Limiter:try_acquire()
  local b = bucket(self, "try_acquire")
  if b.tokens < 1 then return false end
  b.tokens = b.tokens - 1
  return true
end

--- The current token count (a float).
---@return number tokens
function Limiter:remaining()
  return bucket(self, "remaining").tokens
end
Limiter.tokens = Limiter.remaining -- the contract's name

return ratelimit
