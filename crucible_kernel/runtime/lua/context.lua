-- cru.context (also crucible.context): a session's conversation context.
--
-- The daemon-backed functions (usage, compact, messages, remove) answer (nil, "no daemon
-- connected") without a Crucible daemon. estimate_tokens is pure and always works; attach and
-- register_validator keep what they are given for the kernel's session service.
--
--   cru.context.estimate_tokens("hello world")                --> 3
--   cru.context.attach(session.id, note_text, {key = "note:Index"})

local engine, native = ...
local bad_argument, as_string = engine.bad_argument, engine.as_string
local attach_native, register_native = native.attach, native.register_validator
local type = type

local NO_DAEMON = "no daemon connected"

local context = {}

local function str(value, n, fname)
  local s = as_string(value)
  if s == nil then bad_argument(n, fname, "string", type(value)) end
  return s
end

--- An estimate of the tokens in `text`: its length in bytes divided by 4, rounded up.
---@param text string
---@return integer tokens
function context.estimate_tokens(text)
  local s = str(text, 1, "estimate_tokens")
  return (#s + 3) // 4
end

--- How full session `session_id`'s context is: {messages, prompt_tokens, budget, percent}.
---@async
---@param session_id string
---@return table|nil usage
---@return string|nil error "no daemon connected" without a daemon
function context.usage(session_id)
  str(session_id, 1, "usage")
  return nil, NO_DAEMON
end

--- Compacts session `session_id`'s context (summarises old messages).
---@async
---@param session_id string
---@return boolean|nil ok
---@return string|nil error
function context.compact(session_id)
  str(session_id, 1, "compact")
  return nil, NO_DAEMON
end

--- The messages of session `session_id`, optionally `{role = ..., limit = n}`.
---@async
---@param session_id string
---@param opts? {role?: string, limit?: integer}
---@return table[]|nil messages
---@return string|nil error
function context.messages(session_id, opts)
  str(session_id, 1, "messages")
  return nil, NO_DAEMON
end

--- Removes messages from session `session_id`'s context: `range` is {type = "all"},
--- {type = "last"|"first", n = n} or {type = "indices", start = s, ["end"] = e}.
---@async
---@param session_id string
---@param range table
---@return integer|nil removed
---@return string|nil error
function context.remove(session_id, range)
  str(session_id, 1, "remove")
  return nil, NO_DAEMON
end

--- Attaches `content` to session `session_id`'s next model call (context only, never the
--- log). Each session has 2,000 characters; `opts.key` attaches a given thing once. Returns
--- true, or false and why not ("empty content", "duplicate key; ...", "attach budget
--- exhausted (used/budget chars)").
---@param session_id string
---@param content string
---@param opts? {key?: string}
---@return boolean attached
---@return string|nil reason
function context.attach(session_id, content, opts)
  local session = str(session_id, 1, "attach")
  local text = str(content, 2, "attach")
  if opts ~= nil and type(opts) ~= "table" then bad_argument(3, "attach", "table", type(opts)) end
  local key = opts and as_string(opts.key) or nil
  if key == "" then key = nil end
  return attach_native(session, text, key)
end

--- Registers output validator `name`: fn(text) returns true, or false and a reason.
---@param name string
---@param fn fun(text: string): boolean, string?
function context.register_validator(name, fn)
  local n = str(name, 1, "register_validator")
  if type(fn) ~= "function" then bad_argument(2, "register_validator", "function", type(fn)) end
  register_native(n, fn, engine.current_owner())
end

return context
