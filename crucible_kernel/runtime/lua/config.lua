-- cru.config and crucible.config: two different stores.
--
-- cru.config is the app config store: the top-level keys of Crucible's config, which
-- `cru.config.set{...}` overrides key by key. Values are held as JSON, so get() returns a copy.
--
-- crucible.config is the plugins' config: the [plugins.<name>] sections of config.toml, in
-- `crucible.config._data` (a table per plugin), read with a dotted key that starts with the
-- plugin's name. A missing key is nil, never an error.
--
--   -- config.toml:  [plugins.discord]  token = "..."  [plugins.discord.limits]  per_minute = 5
--   crucible.config.get("discord.limits.per_minute")   --> 5
--   cru.config.set({theme = "dark"}); cru.config.get("theme")   --> "dark"

local engine, native = ...
local bad_argument, as_string = engine.bad_argument, engine.as_string
local app_set, app_get, encode, decode = native.app_set, native.app_get, native.encode, native.decode
local type, gmatch = type, string.gmatch

local app = {}

--- A top-level value of the app config (a fresh copy), or nil.
---@param key string
---@return any value
function app.get(key)
  local k = as_string(key)
  if k == nil then bad_argument(1, "get", "string", type(key)) end
  local text = app_get(k)
  if text == nil then return nil end
  local value = decode(text)
  return value
end

--- Sets each top-level key of `values` in the app config (a key's old value is replaced
--- whole, not merged). The values must be JSON data (no functions or userdata).
---@param values table
function app.set(values)
  if type(values) ~= "table" then bad_argument(1, "set", "table", type(values)) end
  app_set(encode(values))
end

local plugin = {_data = {}}

--- A plugin's config value by dotted key, "<plugin>.<key>[.<subkey>...]", from the
--- [plugins.<plugin>] section of config.toml; nil when any part is missing.
---@param key string e.g. "discord.limits.per_minute"
---@return any value
function plugin.get(key)
  local k = as_string(key)
  if k == nil then bad_argument(1, "get", "string", type(key)) end
  -- Looked up at call time, as the reference does: tests replace crucible.config._data.
  local current = crucible.config._data
  for segment in gmatch(k .. ".", "(.-)%.") do
    if type(current) ~= "table" then return nil end
    current = current[segment]
  end
  return current
end

return {app = app, plugin = plugin}
