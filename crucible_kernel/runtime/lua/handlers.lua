-- crucible.on (also cru.on): runtime hooks by event name.
--
--   crucible.on("pre_tool_call", {pattern = "bash", priority = 50}, function(ctx, event) ... end)
--   crucible.on("note:created", function(ctx, event) ... end)
--
-- The names are Crucible's: the events FileChanged, FileDeleted, FileMoved, note:created,
-- note:modified, note:deleted, note:renamed, webhook:received, and the turn-loop stages
-- pre_tool_call, tool_result, pre_llm_call, post_llm_call, transform_context,
-- precognition_select, precognition_format, turn:complete, tool:before_execute,
-- tool:display_start, tool:display_complete. Any other name raises, with a "did you mean" hint.
-- Handlers run lowest priority first (default 100); a pattern is a glob on the event's subject
-- (the tool name, for pre_tool_call). A kernel without a daemon never fires the daemon's events.

local engine, native = ...
local raise, as_string = engine.raise, engine.as_string
local register, unknown = native.register, native.unknown
local type, select, tonumber, tointeger = type, select, tonumber, math.tointeger

-- `priority` as mlua reads an i64 field it falls back from: integers, integral floats and
-- numeric strings; anything else is the default.
local function priority_of(value)
  if type(value) == "string" then value = tonumber(value) end
  if type(value) ~= "number" then return 100 end
  return tointeger(value) or 100
end

--- Registers `fn` to run on `event` (one of Crucible's hook names, see the module header).
--- `opts.pattern` limits it to subjects matching a glob; `opts.priority` orders handlers
--- (lower first, default 100). The handler is called as fn(ctx, event).
---@param event string a hook name, e.g. "pre_tool_call" or "note:created"
---@param opts_or_fn {pattern?: string, priority?: integer}|fun(ctx: table, event: table): any options, or the handler
---@param fn? fun(ctx: table, event: table): any the handler, when options are given
local function on(...)
  local n = select("#", ...)
  if n < 2 then
    raise("crucible.on requires at least 2 arguments: (event_type, handler) or (event_type, opts, handler)")
  end
  local event, second, third = ...
  if type(event) ~= "string" then raise("crucible.on: first argument must be a string (event type)") end
  local problem = unknown(event)
  if problem then raise(problem) end
  local pattern, priority, fn = nil, 100, nil
  if type(second) == "function" then
    fn = second
  elseif type(second) == "table" then
    if n < 3 then
      raise("crucible.on: when second argument is a table, third argument must be the handler function")
    end
    if type(third) ~= "function" then raise("crucible.on: third argument must be a function") end
    fn = third
    pattern = as_string(second.pattern)
    priority = priority_of(second.priority)
  else
    raise("crucible.on: second argument must be a function or options table")
  end
  register(event, pattern, priority, fn, engine.current_owner())
end

return on
