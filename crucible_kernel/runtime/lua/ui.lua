-- cru.ui (also crucible.ui): ask the user something through Crucible's clients:
-- ask, ask_batch, edit, show, permission, popup, panel, each (session_id, opts) ->
-- (response, nil) or (nil, error). A response {kind = "cancelled"} is a successful answer
-- nobody gave.
--
-- Without a Crucible daemon no client is attached, so each answers (nil, "no daemon
-- connected"). In a notebook, io.read() and cru.input(prompt) ask the user instead.

local engine = ...
local bad_argument, as_string = engine.bad_argument, engine.as_string
local type = type

local NO_DAEMON = "no daemon connected"

local function check(session_id, fname)
  if as_string(session_id) == nil then bad_argument(1, fname, "string", type(session_id)) end
  return nil, NO_DAEMON
end

local ui = {}

--- Asks a question (`opts.question`, optional `choices`, `allow_other`).
---@async
---@param session_id string the session whose client is asked
---@param opts table
---@return table|nil response
---@return string|nil error "no daemon connected" without a daemon
function ui.ask(session_id, opts) return check(session_id, "ask") end

--- Asks several questions in one form.
---@async
---@param session_id string
---@param opts table
---@return table|nil response
---@return string|nil error
function ui.ask_batch(session_id, opts) return check(session_id, "ask_batch") end

--- Lets the user edit a text.
---@async
---@param session_id string
---@param opts table
---@return table|nil response
---@return string|nil error
function ui.edit(session_id, opts) return check(session_id, "edit") end

--- Shows content to the user.
---@async
---@param session_id string
---@param opts table
---@return table|nil response
---@return string|nil error
function ui.show(session_id, opts) return check(session_id, "show") end

--- Asks for a permission.
---@async
---@param session_id string
---@param opts table
---@return table|nil response
---@return string|nil error
function ui.permission(session_id, opts) return check(session_id, "permission") end

--- Shows a popup of choices.
---@async
---@param session_id string
---@param opts table
---@return table|nil response
---@return string|nil error
function ui.popup(session_id, opts) return check(session_id, "popup") end

--- Shows a panel.
---@async
---@param session_id string
---@param opts table
---@return table|nil response
---@return string|nil error
function ui.panel(session_id, opts) return check(session_id, "panel") end

return {ui = ui}
