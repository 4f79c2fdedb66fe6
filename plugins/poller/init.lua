-- poller: keeps an eye on an HTTP status endpoint.
--
-- A service polls `url` every `every` seconds; each poll goes through a rate limiter and
-- cru.retry (poller.client). The latest results are kept for the `status` tool; the `poll`
-- command polls at once (another url too, given as {url = ...}).
--
-- Config (the [plugins.poller] section of config.toml, or the table given to cru.plugins.load):
--   url                 the endpoint; without one the service does nothing (a plugin's services
--                       start unconditionally, so they must fail closed)
--   every               seconds between polls (default 5)
--   burst, per_token    the rate limit: `burst` requests at once, then one per `per_token` s
--   retries, base_delay cru.retry's max_retries (default 3) and base_delay (default 0.5)

local client = require("poller.client")

local HISTORY = 10 -- results kept

local M = {name = "poller", version = "0.1.0", capabilities = {"network"}}

local config = {every = 5}
local state = {polls = 0, failures = 0, history = cru.json.array({})}

--- Checks the config and starts afresh: new limiter, no history.
---@param cfg table
function M.setup(cfg)
  cru.check.string(cfg.url, "url", {optional = true})
  cru.check.number(cfg.every, "every", {optional = true, min = 0.05})
  cru.check.number(cfg.burst, "burst", {optional = true, min = 1})
  cru.check.number(cfg.per_token, "per_token", {optional = true, min = 0.001})
  config = {
    url = cfg.url,
    every = cfg.every or 5,
    retries = cfg.retries or 3,
    base_delay = cfg.base_delay or 0.5,
  }
  M.limiter = cru.ratelimit.new({capacity = cfg.burst or 2, interval = cfg.per_token or 1})
  state.polls, state.failures, state.last = 0, 0, nil
  state.history = cru.json.array({}) -- encodes as [] even while empty
end

local function message_of(failure)
  if type(failure) == "table" then return failure.message or "failed" end
  return tostring(failure)
end

--- Polls once (the configured url, or `url`) and records the result: {url, ok, attempts, body}
--- or {url, ok = false, error}.
---@param url? string
---@return table|nil result
---@return string|nil error
function M.poll_once(url)
  url = url or config.url
  if not url then return nil, "poller has no url: give one in its config" end
  state.polls = state.polls + 1
  local ok, body, attempts = pcall(client.fetch, url, {
    limiter = M.limiter,
    retries = config.retries,
    base_delay = config.base_delay,
    on_failure = function(attempt, failure)
      cru.log("warn", ("poller: attempt %d at %s failed: %s"):format(attempt, url, message_of(failure)))
    end,
  })
  local result = {url = url, ok = ok}
  if ok then
    result.body, result.attempts = body, attempts
  else
    state.failures = state.failures + 1
    result.error = message_of(body)
  end
  state.last = result
  table.insert(state.history, result)
  if #state.history > HISTORY then table.remove(state.history, 1) end
  return result
end

M.services = {
  poll = {
    desc = "polls the url every `every` seconds",
    fn = function()
      if not config.url then
        cru.log("info", "poller: no url configured, not polling")
        return
      end
      while true do
        M.poll_once()
        cru.timer.sleep(config.every)
      end
    end,
  },
}

M.tools = {
  status = {
    desc = "How the polls went: counts, the last result, the recent history",
    fn = function() return state end,
  },
}

M.commands = {
  poll = {
    desc = "Polls now; {url = ...} polls another url once",
    hint = "[{url = URL}]",
    fn = function(args)
      local url = type(args) == "table" and type(args.url) == "string" and args.url or nil
      local result, err = M.poll_once(url)
      if not result then error(err, 0) end
      return result
    end,
  },
}

-- require("poller") elsewhere returns this same instance instead of running the file again.
package.loaded.poller = M
return M
