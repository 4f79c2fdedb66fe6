-- crucible.on_session_start / crucible.on_session_end: session lifecycle hooks.
--
-- The session service calls every start hook when a session is created and every end hook
-- when it ends, each with the session, one after the other, each in a task of its own (so a
-- hook may wait). A failing hook is logged; a failing start hook registered with
-- {required = true} refuses the session (for a hook that must not be skipped, such as one
-- setting up a sandbox).
--
--   crucible.on_session_start(function(session)
--     cru.log("info", "session " .. session.id .. " started")
--   end)
--   crucible.on_session_end(function(session) cleanup(session.id) end)

local engine, native = ...
local bad_argument = engine.bad_argument
local add_start, add_end = native.add_start, native.add_end
local type, getinfo = type, debug.getinfo

local function where(fn)
  local info = getinfo(fn, "S")
  return ("%s:%d"):format(info.short_src, info.linedefined)
end

--- Registers `fn(session)` to run when a session starts. With `opts.required = true` a failure
--- refuses the session; otherwise it is only logged.
---@param fn fun(session: table) the hook
---@param opts? {required?: boolean}
local function on_session_start(fn, opts)
  if type(fn) ~= "function" then bad_argument(1, "on_session_start", "function", type(fn)) end
  if opts ~= nil and type(opts) ~= "table" then bad_argument(2, "on_session_start", "table", type(opts)) end
  local required = opts ~= nil and opts.required == true
  add_start(fn, required, engine.current_owner(), where(fn))
end

--- Registers `fn(session)` to run when a session ends; a failure is logged.
---@param fn fun(session: table) the hook
local function on_session_end(fn)
  if type(fn) ~= "function" then bad_argument(1, "on_session_end", "function", type(fn)) end
  add_end(fn, engine.current_owner(), where(fn))
end

return {on_session_start = on_session_start, on_session_end = on_session_end}
