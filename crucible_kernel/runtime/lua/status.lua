-- crucible.set_status / crucible.clear_status: a plugin's durable line about a session.
--
-- A slot is named by the session and a key; setting it again replaces the text. A notebook
-- shows every change in the output of the cell that made it.
--
--   crucible.set_status{session = session.id, key = "oci", text = "sandboxed: alpine"}
--   crucible.set_status{session = session.id, key = "build", text = "pulling", progress = 0.25}
--   crucible.clear_status{session = session.id, key = "build"}

local engine, native = ...
local raise, bad_argument, as_string = engine.raise, engine.bad_argument, engine.as_string
local set_native, clear_native = native.set, native.clear
local type, min, max = type, math.min, math.max

local function required(opts, field, fname, hint)
  local value = as_string(opts[field])
  if value == nil then raise(("crucible.%s: `%s` is required%s"):format(fname, field, hint or "")) end
  return value
end

--- Sets the status slot `key` of session `session` to `text`. `level` ("info" by default)
--- and `progress` (true while it is under way, or a fraction from 0 to 1) are optional;
--- `plugin` names who set it ("unknown" by default).
---@param opts {session: string, key: string, text: string, plugin?: string, level?: string, progress?: boolean|number}
local function set_status(opts)
  if type(opts) ~= "table" then bad_argument(1, "set_status", "table", type(opts)) end
  local session = required(opts, "session", "set_status", " (use session.id)")
  local key = required(opts, "key", "set_status")
  local text = required(opts, "text", "set_status")
  local plugin = as_string(opts.plugin) or "unknown"
  local level = as_string(opts.level) or "info"
  local progress = opts.progress
  if progress == true then
    progress = true
  elseif type(progress) == "number" and progress == progress then
    progress = min(max(progress + 0.0, 0.0), 1.0) -- clamped: a miscount shows a full bar
  else
    progress = nil
  end
  set_native(session, key, text, plugin, level, progress, engine.current_owner())
end

--- Clears the status slot `key` of session `session`.
---@param opts {session: string, key: string}
local function clear_status(opts)
  if type(opts) ~= "table" then bad_argument(1, "clear_status", "table", type(opts)) end
  local session = required(opts, "session", "clear_status")
  local key = required(opts, "key", "clear_status")
  clear_native(session, key)
end

return {set_status = set_status, clear_status = clear_status}
