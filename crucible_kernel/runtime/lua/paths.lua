-- cru.paths (also the global `paths` and crucible.paths): Crucible's standard paths.
--
-- kiln(), workspace() and session() raise until their path is configured: from the environment
-- (CRUCIBLE_KILN, CRUCIBLE_WORKSPACE, CRUCIBLE_SESSION, read when the kernel starts) or with the
-- %plugin paths magic. In Crucible's daemon they are never configured for plugins, so plugins
-- call them under pcall and fall back.
--
--   local dir = paths.state("my-plugin")              -- ~/.crucible/plugin-state/my-plugin
--   fs.write(paths.join(dir, "seen.json"), cru.json.encode(seen))
--   local ok, kiln = pcall(paths.kiln)                -- false, "...Kiln path not configured..."

local engine, native = ...
local raise, bad_argument, as_string = engine.raise, engine.bad_argument, engine.as_string
local configured, state_native = native.configured, native.state
local type, select, sub = type, select, string.sub

local paths = {}

local HINT = " (set %s before starting the kernel, or configure it with %%plugin paths)"

local function path_of(name, variable, label)
  local value = configured(name)
  if value == nil then raise(label .. " path not configured" .. HINT:format(variable)) end
  return value
end

--- The kiln (notes folder) path; raises `Kiln path not configured` when there is none.
---@return string path
function paths.kiln()
  local p = path_of("kiln", "CRUCIBLE_KILN", "Kiln")
  return p
end

--- The workspace (project folder) path; raises `Workspace path not configured` when there is
--- none.
---@return string path
function paths.workspace()
  local p = path_of("workspace", "CRUCIBLE_WORKSPACE", "Workspace")
  return p
end

--- The current session's folder; raises `Session path not configured` when there is none.
---@return string path
function paths.session()
  local p = path_of("session", "CRUCIBLE_SESSION", "Session")
  return p
end

--- The plugin's own state folder, `<CRUCIBLE_HOME or ~/.crucible>/plugin-state/<plugin>`,
--- created if missing. `plugin` must be a single path component (no `/`, not `..`).
---@param plugin string the plugin's name
---@return string path
function paths.state(plugin)
  local name = as_string(plugin)
  if name == nil then bad_argument(1, "state", "string", type(plugin)) end
  local ok, value = state_native(name)
  if not ok then raise(value) end
  return value
end

--- Joins path components as Rust's PathBuf::push does: each string is appended with a `/`
--- between, an absolute one replaces what came before, and arguments that are not strings
--- are skipped.
---@param ... string the components
---@return string path
function paths.join(...)
  local path = ""
  for i = 1, select("#", ...) do
    local part = select(i, ...)
    if type(part) == "string" then
      if sub(part, 1, 1) == "/" then
        path = part
      elseif path ~= "" and sub(path, -1) ~= "/" then
        path = path .. "/" .. part
      else
        path = path .. part
      end
    end
  end
  return path
end

return paths
