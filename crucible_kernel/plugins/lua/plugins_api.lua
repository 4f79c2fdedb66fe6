-- cru.plugins and cru.services: loading Crucible plugins into this Lua state, and the services
-- supervisor. Crucible's daemon loads plugins from its config; a notebook loads them from a cell.
--
-- Failures the plugin or the service causes are returned, Lua style: `nil, message` (with
-- Crucible's wording and the Lua traceback); bad arguments raise.
--
--   local p, err = cru.plugins.load("plugins/weather", "config.toml")
--   cru.plugins.tool("forecast", {city = "Oslo"})
--   cru.services.list()   -- {{id = "weather/poller", state = "running", restarts = 0, ...}}

local engine, native = ...
local await, bad_argument, as_string = engine.await, engine.bad_argument, engine.as_string
local type, pcall, tostring, rawget, next = type, pcall, tostring, rawget, next
local gsub = string.gsub

local plugins = {}
local services = {}

-- The plugin tables of load, reload and list share this metatable. It is empty here; the
-- notebook kernel gives it a __display, so a loaded plugin as a cell's value shows its card.
local PLUGIN_MT = {}

-- A plugin table alone (no trailing nil: a cell ending in cru.plugins.load(...) shows the card),
-- or nil and the error.
local function plugin_table(info, err)
  if type(info) == "table" then return setmetatable(info, PLUGIN_MT) end
  return info, err
end

local function name_arg(value, n, fname)
  local s = as_string(value)
  if s == nil then bad_argument(n, fname, "string", type(value)) end
  return s
end

-- A message without the "chunk:line: " a Lua error put in front of it.
local function bare(message)
  return (gsub(tostring(message), "^.-:%d+: ", ""))
end

local OPTION_KEYS = {safe = true, config = true}

-- Whether a second argument is load's options ({safe = true, config = ...}) rather than config
-- values: a table with no other keys, whose `safe` is a boolean.
local function is_options(t)
  if type(t) ~= "table" or type(rawget(t, "safe")) ~= "boolean" then return false end
  for key in next, t do
    if not OPTION_KEYS[key] then return false end
  end
  return true
end

--- Loads the plugin at `path` (a plugin folder, a `.lua`/`.fnl` file, or the name of a plugin
--- on CRUCIBLE_PLUGIN_PATH), after the plugins it depends on, and starts its services. A
--- loaded plugin is reloaded. `config` is a config.toml path (its `[plugins.<name>]` section
--- is what `setup(cfg)` gets) or a table that becomes the plugin's section. `opts.safe` loads
--- it in safe mode: in an environment of its own, with only the capabilities its manifest and
--- spec table declare. The options may come second too: `load(path, {safe = true})` (a table
--- holding only `safe` and `config`). Returns the plugin's description, or nil and the error
--- (the plugin is then listed in state "error"). In a notebook, the description as a cell's
--- value (or display(p)) shows the plugin's live card, with a reload button.
---@async
---@param path string a folder, a file, or a plugin name
---@param config? string|table a config.toml path, or the plugin's config values
---@param opts? {safe?: boolean, config?: string|table}
---@return table|nil plugin {name, version, state, safe, path, tools, commands, services, last_error, ...}
---@return string|nil error
function plugins.load(path, config, opts)
  local target = name_arg(path, 1, "load")
  if opts == nil and is_options(config) then config, opts = nil, config end
  if opts ~= nil and type(opts) ~= "table" then bad_argument(3, "load", "table", type(opts)) end
  opts = opts or {}
  if config == nil then config = opts.config end
  local config_path, config_json
  if type(config) == "table" then
    local ok, text = pcall(cru.json.encode, config)
    if not ok then return nil, "config is not JSON data: " .. bare(text) end
    config_json = text
  elseif config ~= nil then
    config_path = as_string(config)
    if config_path == nil then bad_argument(2, "load", "string or table", type(config)) end
  end
  return plugin_table(await(native.load(target, config_path, config_json, opts.safe == true)))
end

--- Stops the plugin's services, forgets everything it registered, and loads it again from its
--- files. Returns its description, or nil and the error.
---@async
---@param name string
---@return table|nil plugin
---@return string|nil error
function plugins.reload(name)
  return plugin_table(await(native.reload(name_arg(name, 1, "reload"))))
end

--- Takes the plugin out: its services stop, its tools, commands, hooks, handlers and tasks go,
--- and its modules leave package.loaded. Returns true, or nil and the error (an unknown name,
--- or a loaded plugin that depends on it).
---@async
---@param name string
---@return boolean|nil ok
---@return string|nil error
function plugins.unload(name)
  local ok, err = await(native.unload(name_arg(name, 1, "unload")))
  if ok then return true end
  return nil, err
end

--- The plugins of this Lua state: {name, version, description, state ("active", "error",
--- "disabled"), path, kind, tools, commands, services, capabilities, dependencies,
--- last_error, warnings, safe (loaded in safe mode)}, in the order they were loaded.
---@return table[] plugins
function plugins.list()
  local list = native.list()
  for i = 1, #list do plugin_table(list[i]) end
  return list
end

--- The plugins found on the search paths (CRUCIBLE_PLUGIN_PATH, ~/.config/crucible/plugins,
--- $CRUCIBLE_RUNTIME/plugins): {plugins = {{name, version, path, kind, source}}, shadowed =
--- {...}, errors = {{path, error}}}.
---@return table found
function plugins.discover()
  return native.discover()
end

local function call(kind, fname, name, args)
  local n = name_arg(name, 1, fname)
  local encoded
  if args == nil and kind == "tool" then
    encoded = "{}"
  else
    local ok, text = pcall(cru.json.encode, args)
    if not ok then return nil, "argument conversion: " .. bare(text) end
    encoded = text
  end
  local result, err = await(native.call(kind, n, encoded))
  if result == nil then return nil, err end
  return cru.json.decode(result)
end

--- Calls the tool `name` of a loaded plugin as the daemon does: `args` go through JSON (so
--- JSON null arrives as the null sentinel and arrays are marked), the tool's result comes
--- back through JSON, and the call fails after 30 seconds. Returns the result, or nil and the
--- error (`Tool not found: <name>`, `Execution failed: ...`, `Tool '<name>' timed out ...`).
---@async
---@param name string the tool's name
---@param args? table its arguments (default {})
---@return any result
---@return string|nil error
function plugins.tool(name, args)
  return call("tool", "tool", name, args)
end

--- Calls the command `name` of a loaded plugin with `args` (any JSON value; nil arrives as the
--- null sentinel), through JSON both ways. Returns the result, or nil and the error
--- (`Unknown plugin command: <name>`, `plugin command '<name>': ...`).
---@async
---@param name string the command's name
---@param args? any its argument
---@return any result
---@return string|nil error
function plugins.command(name, args)
  return call("command", "command", name, args)
end

--- Every supervised service (plugin services and running cru.service services): {id, name,
--- plugin, kind ("plugin" or "defined"), desc, state ("starting", "running", "completed",
--- "failed", "stopped"), started_at, restarts, last_error, last_traceback, task_id, output
--- (recent {time, stream, text} entries)}.
---@return table[] services
function services.list()
  return native.services_list()
end

--- Stops a running service (its id, "plugin/name", or its name): a cru.service's `stop`
--- function runs, then its task is cancelled. Returns true, or nil and why not.
---@async
---@param name string
---@return boolean|nil ok
---@return string|nil error
function services.stop(name)
  local ok, err = await(native.services_stop(name_arg(name, 1, "stop")))
  if ok then return true end
  return nil, err
end

--- Stops the service if it runs and starts it again. Returns true, or nil and the error.
---@async
---@param name string
---@return boolean|nil ok
---@return string|nil error
function services.restart(name)
  local ok, err = await(native.services_restart(name_arg(name, 1, "restart")))
  if ok then return true end
  return nil, err
end

--- Starts a `cru.service.define`d service as a supervised task of its own (as a plugin's
--- service would be). Returns true, or nil and the error (an unknown name, one running).
---@param name string the name it was defined with
---@return boolean|nil ok
---@return string|nil error
function services.start(name)
  local n = name_arg(name, 1, "start")
  local entry = cru.service._services and cru.service._services[n]
  if not entry or type(entry.run) ~= "function" then
    return nil, "no cru.service named '" .. n .. "' is defined"
  end
  local ok, err = native.services_start(n, entry.desc, entry.run)
  if ok then return true end
  return nil, err
end

return {plugins = plugins, services = services, plugin_metatable = PLUGIN_MT}
