-- cru.sessions without a session service: every call returns (nil, "no daemon connected"), as
-- in Crucible without a daemon.
--
-- Each of the 28 functions converts its arguments as the real one does (so a bad argument still
-- raises) and returns (nil, "no daemon connected"), exactly what a plugin sees in a Crucible
-- build without a daemon. The sessions layer (crucible_kernel/sessions) replaces these
-- functions in this same table with the real ones when a session service is installed, and puts
-- them back when sessions are switched off.

local engine = ...
local bad_argument, as_string = engine.bad_argument, engine.as_string
local type, utf8len = type, utf8.len

local NO_DAEMON = "no daemon connected"

-- A string parameter (mlua's String: strings and numbers, valid UTF-8).
local function str(value, n, fname)
  local s = as_string(value)
  if s == nil then bad_argument(n, fname, "string", type(value)) end
  if not utf8len(s) then bad_argument(n, fname, "UTF-8 string", "invalid UTF-8") end
  return s
end

local M = {}

--- Creates a session. Without a session service: (nil, "no daemon connected").
---@async
---@param opts table|string {type, kiln, workspace, kilns, ...} or the legacy type string
---@return table|nil session
---@return string|nil error
function M.create(opts)
  return nil, NO_DAEMON
end

--- Gets a session by id. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return table|nil session
---@return string|nil error
function M.get(session_id)
  str(session_id, 1, "get")
  return nil, NO_DAEMON
end

--- Lists the sessions. Without a session service: (nil, "no daemon connected").
---@async
---@return table|nil sessions
---@return string|nil error
function M.list()
  return nil, NO_DAEMON
end

--- Configures a session's agent. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param config table
---@return boolean|nil ok
---@return string|nil error
function M.configure_agent(session_id, config)
  str(session_id, 1, "configure_agent")
  return nil, NO_DAEMON
end

--- Sends a user message. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param content string
---@return string|nil message_id
---@return string|nil error
function M.send_message(session_id, content)
  str(session_id, 1, "send_message")
  str(content, 2, "send_message")
  return nil, NO_DAEMON
end

--- Cancels the turn in flight. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return boolean|nil cancelled
---@return string|nil error
function M.cancel(session_id)
  str(session_id, 1, "cancel")
  return nil, NO_DAEMON
end

--- Pauses a session. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return boolean|nil ok
---@return string|nil error
function M.pause(session_id)
  str(session_id, 1, "pause")
  return nil, NO_DAEMON
end

--- Resumes a paused session. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return boolean|nil ok
---@return string|nil error
function M.resume(session_id)
  str(session_id, 1, "resume")
  return nil, NO_DAEMON
end

--- Ends a session. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return boolean|nil ok
---@return string|nil error
function M.end_session(session_id)
  str(session_id, 1, "end_session")
  return nil, NO_DAEMON
end

--- Subscribes to a session's events. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return function|nil next_event
---@return string|nil error
function M.subscribe(session_id)
  str(session_id, 1, "subscribe")
  return nil, NO_DAEMON
end

--- Unsubscribes from a session's events. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return boolean|nil ok
---@return string|nil error
function M.unsubscribe(session_id)
  str(session_id, 1, "unsubscribe")
  return nil, NO_DAEMON
end

--- Answers a permission request. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param request_id string
---@param response table
---@return boolean|nil ok
---@return string|nil error
function M.interaction_respond(session_id, request_id, response)
  str(session_id, 1, "interaction_respond")
  str(request_id, 2, "interaction_respond")
  return nil, NO_DAEMON
end

--- Sends a message and collects the reply as parts. Without a session service: (nil, "no
--- daemon connected").
---@async
---@param session_id string
---@param content string
---@param opts? table|number
---@return function|nil next_part
---@return string|nil error
function M.send_and_collect(session_id, content, opts)
  str(session_id, 1, "send_and_collect")
  str(content, 2, "send_and_collect")
  return nil, NO_DAEMON
end

--- Appends a message to the session log. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param role string
---@param content string
---@return boolean|nil ok
---@return string|nil error
function M.inject(session_id, role, content)
  str(session_id, 1, "inject")
  str(role, 2, "inject")
  str(content, 3, "inject")
  return nil, NO_DAEMON
end

--- Waits for subagent sessions. Without a session service: (nil, "no daemon connected").
---@async
---@param ids table
---@param timeout? number
---@return table|nil results
---@return string|nil error
function M.collect_subagents(ids, timeout)
  return nil, NO_DAEMON
end

--- Reads the session log. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param opts? table
---@return table|nil messages
---@return string|nil error
function M.messages(session_id, opts)
  str(session_id, 1, "messages")
  return nil, NO_DAEMON
end

--- Forks a session. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param opts? table|integer
---@return table|nil child
---@return string|nil error
function M.fork(session_id, opts)
  str(session_id, 1, "fork")
  return nil, NO_DAEMON
end

--- Prompt-cache statistics. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return table|nil stats
---@return string|nil error
function M.cache_stats(session_id)
  str(session_id, 1, "cache_stats")
  return nil, NO_DAEMON
end

--- One completion against the session's model. Without a session service: (nil, "no daemon
--- connected").
---@async
---@param session_id string
---@param opts table|string
---@return string|nil text
---@return string|nil error
function M.complete(session_id, opts)
  str(session_id, 1, "complete")
  return nil, NO_DAEMON
end

--- Sets output validation. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param spec string|table
---@return boolean|nil ok
---@return string|nil error
function M.set_output_validation(session_id, spec)
  str(session_id, 1, "set_output_validation")
  return nil, NO_DAEMON
end

--- Undoes turns. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param count? integer|table
---@return integer|nil undone
---@return string|nil error
function M.undo(session_id, count)
  str(session_id, 1, "undo")
  return nil, NO_DAEMON
end

--- Whether a turn can be undone. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return boolean|nil can
---@return string|nil error
function M.can_undo(session_id)
  str(session_id, 1, "can_undo")
  return nil, NO_DAEMON
end

--- How many turns can be undone. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return integer|nil depth
---@return string|nil error
function M.undo_depth(session_id)
  str(session_id, 1, "undo_depth")
  return nil, NO_DAEMON
end

--- The undo history. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return table|nil history
---@return string|nil error
function M.undo_history(session_id)
  str(session_id, 1, "undo_history")
  return nil, NO_DAEMON
end

--- The review hunks of a session. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@return table|nil hunks
---@return string|nil error
function M.review_list_hunks(session_id)
  str(session_id, 1, "review_list_hunks")
  return nil, NO_DAEMON
end

--- Sets a review hunk's state. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param hunk string
---@param state string
---@return boolean|nil ok
---@return string|nil error
function M.review_set_state(session_id, hunk, state)
  str(session_id, 1, "review_set_state")
  str(hunk, 2, "review_set_state")
  str(state, 3, "review_set_state")
  return nil, NO_DAEMON
end

--- Adds a review comment. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param spec table
---@return table|nil comment
---@return string|nil error
function M.review_comment(session_id, spec)
  str(session_id, 1, "review_comment")
  return nil, NO_DAEMON
end

--- Resolves a review comment. Without a session service: (nil, "no daemon connected").
---@async
---@param session_id string
---@param comment_id string
---@return boolean|nil ok
---@return string|nil error
function M.review_resolve_comment(session_id, comment_id)
  str(session_id, 1, "review_resolve_comment")
  str(comment_id, 2, "review_resolve_comment")
  return nil, NO_DAEMON
end

return M
