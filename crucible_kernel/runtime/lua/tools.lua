-- cru.tools (also crucible.tools): call the agent's tools from a plugin.
--
-- Every function answers (result, nil) or (nil, error). Without a Crucible daemon there are no
-- agent tools, so each answers (nil, "no daemon connected") once its arguments check out.
--
--   local result, err = cru.tools.call("read_file", {path = "README.md"})
--   if not result then cru.log("warn", "no tool: " .. err) end

local engine = ...
local bad_argument, as_string = engine.bad_argument, engine.as_string
local type = type

local NO_DAEMON = "no daemon connected"

local tools = {}

local function str(value, n, fname)
  if as_string(value) == nil then bad_argument(n, fname, "string", type(value)) end
end

--- Calls tool `name` with `args` (a table); `opts.session` names the session it acts for.
---@async
---@param name string
---@param args? table
---@param opts? {session?: string}
---@return any|nil result
---@return string|nil error "no daemon connected" without a daemon
function tools.call(name, args, opts)
  str(name, 1, "call")
  return nil, NO_DAEMON
end

--- Calls several tools at once: `calls` is a list of {tool = name, args = table}.
---@async
---@param calls {tool: string, args?: table}[]
---@param opts? {session?: string}
---@return table|nil results
---@return string|nil error
function tools.batch(calls, opts)
  return nil, NO_DAEMON
end

--- The tools the agent has.
---@async
---@return table[]|nil tools
---@return string|nil error
function tools.list()
  return nil, NO_DAEMON
end

--- Limits session `session_id` to the tools matching `patterns` (nil: all tools).
---@param session_id string
---@param patterns? string[]
---@return boolean|nil ok
---@return string|nil error
function tools.set_active(session_id, patterns)
  str(session_id, 1, "set_active")
  return nil, NO_DAEMON
end

--- The tool patterns session `session_id` is limited to (nil: all tools).
---@param session_id string
---@return string[]|nil patterns
---@return string|nil error
function tools.get_active(session_id)
  str(session_id, 1, "get_active")
  return nil, NO_DAEMON
end

return {tools = tools}
