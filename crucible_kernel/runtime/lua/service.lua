-- cru.service: supervised services.
--
-- `define(spec)` validates a service, resolves its config, records it in the registry and returns
-- `{desc = ..., fn = ...}`, the shape of an entry of a plugin's `services` table. The `fn`
-- runs `spec.start` under `cru.retry` with the spec's restart policy and never raises.
--
-- `cru.check`, `cru.retry`, `cru.log`, `crucible.config` and `os.getenv` are looked up through the
-- globals at call time, as in the reference: tests may stub them, and this chunk does not depend
-- on the order in which the pure-Lua modules are registered. `pcall` is the prelude's, so an
-- interrupt or a cancellation stops a service instead of counting as a failure (the task is
-- aborted there, without the "stopped" log, as the daemon aborts a service task).
--
-- Ours: when a supervisor is installed (`service._supervisor`, set by the plugin layer; nil in
-- the test runner's VM), a running service reports to it: its start, each attempt, each failed
-- attempt with its traceback, and how it ended, so notebooks can list, stop and restart it.

local pcall, xpcall, pairs, type, tostring = pcall, xpcall, pairs, type, tostring
local traceback = debug.traceback

local service = {}

--- The registry: service name -> entry {name, desc, running, healthy, start_fn, stop_fn,
--- health_fn, config}. Defining a name again replaces its entry.
service._services = {}

-- "my-plugin" -> "MY_PLUGIN"
local function env_part(s)
  return (s:upper():gsub("[^A-Z0-9]", "_"))
end

-- Per key of the schema: a secret's environment variable CRUCIBLE_<NAME>_<KEY>, else the plugin
-- config "<name>.<key>", else the schema's default.
local function resolve_config(name, schema_table)
  local resolved = {}
  local name_part = env_part(name)
  for key, schema in pairs(schema_table) do
    local value = nil
    if schema.secret then
      value = os.getenv("CRUCIBLE_" .. name_part .. "_" .. env_part(key))
    end
    if value == nil then
      local ok, configured = pcall(function()
        return crucible.config.get(name .. "." .. key)
      end)
      if ok and configured ~= nil then value = configured end
    end
    if value == nil and schema.default ~= nil then value = schema.default end
    resolved[key] = value
  end
  return resolved
end

local function health_of(entry)
  if not entry.health_fn then return nil end
  local ok, healthy = pcall(entry.health_fn)
  return ok and healthy or false
end

--- Defines a supervised service and returns `{desc, fn}` for a plugin's `services` table.
--- `spec`: `name`, `desc` (strings), `start` (function), optional `stop` and `health` functions,
--- `restart` ({max_retries = 10, base_delay = 1.0, max_delay = 60.0}) and a `config` schema
--- ({key = {secret?, default?}}), resolved now. Running `fn` restarts `start` when it fails,
--- unless the error is a table with `retryable = false`; `fn` logs the outcome and never raises.
---@param spec {name: string, desc: string, start: fun(), stop?: fun(), health?: fun(): any, restart?: {max_retries?: integer, base_delay?: number, max_delay?: number}, config?: table<string, {secret?: boolean, default?: any}>}
---@return {desc: string, fn: fun()}
function service.define(spec)
  cru.check.table(spec, "spec")
  cru.check.string(spec.name, "spec.name")
  cru.check.string(spec.desc, "spec.desc")
  cru.check.func(spec.start, "spec.start")
  cru.check.func(spec.stop, "spec.stop", {optional = true})
  cru.check.func(spec.health, "spec.health", {optional = true})

  local name = spec.name
  local restart = spec.restart or {}
  local max_retries = restart.max_retries or 10
  local base_delay = restart.base_delay or 1.0
  local max_delay = restart.max_delay or 60.0

  local entry = {
    name = name,
    desc = spec.desc,
    running = false,
    healthy = nil,
    start_fn = spec.start,
    stop_fn = spec.stop,
    health_fn = spec.health,
    config = spec.config and resolve_config(name, spec.config) or nil,
  }
  service._services[name] = entry

  local run

  --- Runs the service until `start` returns or fails for good; logs the outcome, never raises.
  ---@async
  run = function()
    local supervisor = service._supervisor
    local token = supervisor and supervisor.begin(name, spec.desc, run)
    local attempts = 0
    entry.running = true
    cru.log("info", "service '" .. name .. "' starting")
    local ok, err = pcall(function()
      cru.retry(function()
        attempts = attempts + 1
        entry.running = true
        if not token then return spec.start() end
        supervisor.attempt(token, attempts)
        local tb
        local done, failure = xpcall(spec.start, function(e)
          tb = traceback(tostring(e), 2)
          return e
        end)
        if not done then
          supervisor.attempt_failed(token, tostring(failure), tb)
          error(failure, 0) -- the same value, for cru.retry to judge
        end
      end, {
        max_retries = max_retries,
        base_delay = base_delay,
        max_delay = max_delay,
        retryable = function(e)
          return type(e) ~= "table" or e.retryable ~= false
        end,
      })
    end)
    entry.running = false
    if token then supervisor.finished(token, ok, not ok and tostring(err) or nil) end
    if not ok then
      cru.log("warn", "service '" .. name .. "' stopped: " .. tostring(err))
    else
      cru.log("info", "service '" .. name .. "' completed")
    end
  end

  entry.run = run -- ours: what cru.services.start runs
  return {desc = spec.desc, fn = run}
end

--- The state of a service: `{name, desc, running, healthy}`, or nil if it is not defined.
--- `healthy` is nil without a health function, false if it fails or returns a false value,
--- and otherwise what it returned.
---@param name string
---@return {name: string, desc: string, running: boolean, healthy: any}|nil
function service.status(name)
  local entry = service._services[name]
  if not entry then return nil end
  return {running = entry.running, healthy = health_of(entry), name = entry.name, desc = entry.desc}
end

--- The state of every defined service (as `status` gives it), in no particular order.
---@return {name: string, desc: string, running: boolean, healthy: any}[]
function service.list()
  local out = {}
  for _, entry in pairs(service._services) do
    out[#out + 1] = {name = entry.name, desc = entry.desc, running = entry.running,
                     healthy = health_of(entry)}
  end
  return out
end

--- Calls the service's `stop` function (a failure is logged) and marks it not running. Does not
--- cancel the task running it. Returns false if no such service is defined.
---@param name string
---@return boolean
function service.stop(name)
  local entry = service._services[name]
  if not entry then return false end
  if entry.stop_fn then
    local ok, err = pcall(entry.stop_fn)
    if not ok then
      cru.log("warn", "service '" .. name .. "' stop error: " .. tostring(err))
    end
  end
  entry.running = false
  return true
end

return {service = service}
