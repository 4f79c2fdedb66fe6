-- cru.storage (also crucible.storage): a plugin's key-value properties on entities, kept in
-- the kiln's store.
--
-- Without a Crucible daemon there is no store: set does nothing, get finds nothing, list and
-- find are empty and delete deletes nothing. Use cru.fs with cru.paths.state(plugin) to keep
-- data between kernel runs.

local engine = ...
local bad_argument, as_string = engine.bad_argument, engine.as_string
local type = type

local storage = {}

local function str(value, n, fname)
  if as_string(value) == nil then bad_argument(n, fname, "string", type(value)) end
end

--- Sets property `key` of entity `entity_id` to `value` (nothing is kept without a daemon).
---@async
---@param entity_id string
---@param key string
---@param value string
function storage.set(entity_id, key, value)
  str(entity_id, 1, "set")
  str(key, 2, "set")
  str(value, 3, "set")
end

--- Property `key` of entity `entity_id`, or nil (always nil without a daemon).
---@async
---@param entity_id string
---@param key string
---@return string|nil value
function storage.get(entity_id, key)
  str(entity_id, 1, "get")
  str(key, 2, "get")
  return nil
end

--- Every property of entity `entity_id`, {key = value} ({} without a daemon).
---@async
---@param entity_id string
---@return table<string, string> properties
function storage.list(entity_id)
  str(entity_id, 1, "list")
  return {}
end

--- The ids of the entities whose property `key` is `value` ({} without a daemon).
---@async
---@param key string
---@param value string
---@return string[] entity_ids
function storage.find(key, value)
  str(key, 1, "find")
  str(value, 2, "find")
  return {}
end

--- Deletes property `key` of entity `entity_id`; whether there was one (false without a daemon).
---@async
---@param entity_id string
---@param key string
---@return boolean deleted
function storage.delete(entity_id, key)
  str(entity_id, 1, "delete")
  str(key, 2, "delete")
  return false
end

return {storage = storage}
