-- crucible.publish / crucible.options: what a plugin states about itself, for whoever shows
-- plugins.
--
--   crucible.publish("isolation", {available = true, profiles = {"rust", "node"}})
--   crucible.options{
--     type = "group",
--     args = {
--       image = {type = "input", name = "Image", order = 1,
--                get = function() return config.image end,
--                set = function(_, v) config.image = v end},
--     },
--   }

local engine, native = ...
local raise, bad_argument, as_string = engine.raise, engine.bad_argument, engine.as_string
local publish_native, options_native, encode = native.publish, native.options, native.encode
local type, pcall, tostring, gsub = type, pcall, tostring, string.gsub

--- Publishes `value` (JSON data: no functions or userdata) under `key`. Publishing again under
--- the same key replaces the previous value; other plugins' values under it stay.
---@param key string e.g. "isolation"
---@param value any JSON data
local function publish(key, value)
  local k = as_string(key)
  if k == nil then bad_argument(1, "publish", "string", type(key)) end
  if k == "" then
    raise('crucible.publish: a key is required, e.g. crucible.publish("isolation", {…})')
  end
  local ok, encoded = pcall(encode, value)
  if not ok then
    local why = gsub(tostring(encoded), "^.-:%d+: ", "", 1) -- the reason, without a position
    raise(("crucible.publish: '%s' must be JSON-encodable data, not a function or userdata: %s")
      :format(k, why))
  end
  publish_native(k, encoded, engine.current_owner())
end

--- Declares the plugin's settings: a tree whose root is a group with an `args` table of
--- options (AceConfig's shape: `type`, `name`, `desc`, `order`, `get`, `set`, `values`,
--- `func`, ...). Fields may be functions, evaluated when the settings are read. Declaring
--- again replaces the tree.
---@param tree {type?: string, args: table<string, table>}
local function options(tree)
  if type(tree) ~= "table" then bad_argument(1, "options", "table", type(tree)) end
  if type(tree.args) ~= "table" then
    raise("crucible.options: the root must be a group with an `args` table")
  end
  options_native(tree, engine.current_owner())
end

return {publish = publish, options = options}
