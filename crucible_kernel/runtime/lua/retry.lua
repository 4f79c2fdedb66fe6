-- cru.retry: call a function again, with exponential backoff, until it succeeds.
--
-- Pure Lua so that the retried function may yield (sleep, HTTP, ...): Lua 5.4's pcall is
-- yieldable, a Python frame is not. `pcall` is the prelude's, so an interrupt or a cancellation
-- inside the function is never retried: it passes through and stops the task.
--
-- As in the reference, `cru.timer.sleep` and `math.random` are looked up at call time (tests stub
-- both), and the last error is rethrown with `error(err)` at level 1: a table error passes
-- through unchanged, a string error gains a second position prefix naming this chunk
-- ("crucible/retry.lua:NN: <original message>").

local pcall, error, type, tonumber = pcall, error, type, tonumber
local min, max = math.min, math.max

local function always() return true end

--- Calls `fn()` until it succeeds, sleeping between attempts with exponential backoff.
--- `opts`: `max_retries` (3; so up to max_retries + 1 calls), `base_delay` (1.0 s), `max_delay`
--- (60.0 s), `jitter` (on unless exactly false: the delay is scaled by 0.5-1.0), `retryable`
--- (a predicate given the error; false stops retrying; not consulted after the last attempt).
--- A table error with an `after` field raises the delay to at least that many seconds, even
--- beyond max_delay. Returns the first value `fn` returns; raises the last error.
---@async
---@param fn fun(): any the function to call (with no arguments)
---@param opts? {max_retries?: integer, base_delay?: number, max_delay?: number, jitter?: boolean, retryable?: fun(err: any): boolean}
---@return any result the first return value of the successful call
local function retry(fn, opts)
  opts = opts or {}
  local max_retries = opts.max_retries or 3
  local base = opts.base_delay or 1.0
  local cap = opts.max_delay or 60.0
  local jitter = opts.jitter ~= false
  local retryable = opts.retryable or always

  for attempt = 0, max_retries do
    local ok, result = pcall(fn)
    if ok then return result end
    if attempt == max_retries then error(result) end
    if not retryable(result) then error(result) end

    -- 0 x 2^1024 would be NaN (and the sleep an error); a zero base never grows
    local delay = base == 0 and 0 or min(base * (2 ^ attempt), cap)
    if jitter then
      delay = delay * (0.5 + math.random() * 0.5)
    end
    if type(result) == "table" and result.after then -- a server-specified retry-after
      delay = max(delay, tonumber(result.after) or delay)
    end
    cru.timer.sleep(delay)
  end
end

return {retry = retry}
