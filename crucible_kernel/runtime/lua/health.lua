-- cru.health: the report builder of a plugin's health.lua, after Neovim's
-- vim.health.
--
-- A plugin's health.lua returns {check = function() ... end}; the check starts a report, adds
-- lines, and whoever runs it collects the result with get_results(), which also starts afresh.
-- An error line makes the report unhealthy; ok, info and warn lines do not.
--
--   cru.health.start("my-plugin")
--   cru.health.ok("token found")
--   cru.health.warn("no cache folder", {"run :MyPlugin setup"})
--   local report = cru.health.get_results()
--   --> {name = "my-plugin", healthy = true, checks = {{level = "ok", msg = "token found"}, ...}}
--
-- Arguments are checked as cru.check does (same messages), but the error names the caller's
-- line rather than a line in this file.

local engine = ...
local raise = engine.raise
local insert, type = table.insert, type

local health = {}

local report = {name = nil, checks = {}, healthy = true}

local function check(value, expected, name)
  if type(value) ~= expected then raise(("%s: expected %s, got %s"):format(name, expected, type(value))) end
end

local function add(level, msg, advice)
  insert(report.checks, {level = level, msg = msg, advice = advice})
end

--- Starts a new report for `name`, dropping the lines of the previous one.
---@param name string what is being checked (the plugin's name)
function health.start(name)
  check(name, "string", "name")
  report = {name = name, checks = {}, healthy = true}
end

--- Adds an "ok" line.
---@param msg string
function health.ok(msg)
  check(msg, "string", "msg")
  add("ok", msg)
end

--- Adds a "warn" line, with optional advice (a list of strings); the report stays healthy.
---@param msg string
---@param advice? string[] what the user can do about it
function health.warn(msg, advice)
  check(msg, "string", "msg")
  if advice ~= nil then check(advice, "table", "advice") end
  add("warn", msg, advice)
end

--- Adds an "error" line, with optional advice (a list of strings); the report becomes unhealthy.
---@param msg string
---@param advice? string[] what the user can do about it
function health.error(msg, advice)
  check(msg, "string", "msg")
  if advice ~= nil then check(advice, "table", "advice") end
  report.healthy = false
  add("error", msg, advice)
end

--- Adds an "info" line.
---@param msg string
function health.info(msg)
  check(msg, "string", "msg")
  add("info", msg)
end

--- The report so far, `{name, healthy, checks = {{level, msg, advice?}, ...}}`; the next
--- lines go to a new, empty report.
---@return {name: string|nil, healthy: boolean, checks: {level: string, msg: string, advice?: string[]}[]}
function health.get_results()
  local results = {name = report.name, healthy = report.healthy, checks = report.checks}
  report = {name = nil, checks = {}, healthy = true}
  return results
end

return {health = health}
