-- cru.sessions on a session service: agent sessions, as Crucible's daemon offers them to plugins.
--
-- Every function converts its arguments as the reference does (a bad argument raises), then
-- awaits a native of sessions/binding.py, which returns (result, nil) or (nil, message) with the
-- daemon's own strings ("Session not found: <id>", ...). `get` of an unknown id gives (nil, nil).
--
-- Streams: `subscribe` returns `next_event`, `send_and_collect` returns `next_part`. Both take
-- what is already buffered without a trip through the task driver (natives `take` and
-- `next_part` return it directly) and wait only when nothing is there.
--
-- Session tables (from create, get, list) carry a metatable with __display, so display(session)
-- or a session as a cell's value shows its live view.

local engine, native = ...
local await, raise, bad_argument, as_string = engine.await, engine.raise, engine.bad_argument,
  engine.as_string
local json_encode = native.json_encode
local take, next_part_of = native.take, native.next_part
local type, tostring, setmetatable, rawlen, pcall = type, tostring, setmetatable, rawlen, pcall
local tointeger, mtype, floor = math.tointeger, math.type, math.floor
local match, utf8len = string.match, utf8.len

local NO_DAEMON = "no daemon connected"
local NOT_SUPPORTED = "not supported by this session service"
-- What the stream natives return first; the values are fixed in binding.py.
local DELTA, EVENT, WAIT, CLOSED, PART = 1, 2, 3, 4, 5

---------------------------------------------------------------------------------------------------
-- Session lifecycle: the one place where a session has just started (create succeeded) or just
-- ended (end_session succeeded). crucible.on_session_start / on_session_end hooks belong here.

-- crucible.on_session_start hooks run with the new session; a failing `required` one refuses it:
-- the session is ended again and the refusal returned.
local function session_started(session)
  local refusal = await(native.start_hooks(session))
  if refusal == nil then return nil end
  await(native.call("end", session.id))
  return refusal
end

-- crucible.on_session_end hooks run with the ended session (failures are only logged).
local function session_ended(session_id)
  await(native.end_hooks(session_id))
end

---------------------------------------------------------------------------------------------------
-- Arguments

-- A string parameter (mlua's String: strings and numbers, valid UTF-8).
local function str(value, n, fname)
  local s = as_string(value)
  if s == nil then bad_argument(n, fname, "string", type(value)) end
  if not utf8len(s) then bad_argument(n, fname, "UTF-8 string", "invalid UTF-8") end
  return s
end

-- An error message without the "chunk:line: " in front of it.
local function bare(message)
  message = tostring(message)
  return match(message, "^.-:%d+: (.*)$") or message
end

-- A table (or any value) as JSON for a native; raises when it cannot be serialized.
local function json_arg(value, fname)
  local ok, text = pcall(json_encode, value)
  if not ok then raise(("bad argument to '%s' (%s)"):format(fname, bare(text))) end
  return text
end

local SESSION_MT = {
  __name = "Session",
  __display = function(s) return native.view(s.id) end,
}

local function session_table(info)
  if info ~= nil then setmetatable(info, SESSION_MT) end
  return info
end

local M = {}

---------------------------------------------------------------------------------------------------
-- Sessions

--- Creates a session and returns its table {id, session_type, kilns, state, kiln, workspace}.
--- Options (all optional): type ("chat", "agent" or "workflow"), kiln, workspace, kilns, the
--- agent's provider, model, endpoint, system_prompt (or a whole `agent` table), recording_mode
--- ("record", "replay", "auto" or "off") and recording_path. The legacy form takes the type as
--- a string: create("chat").
---@async
---@param opts? table|string
---@return table|nil session
---@return string|nil error
function M.create(opts)
  local t = type(opts)
  local text, legacy
  if t == "string" then
    legacy = opts
  elseif t == "table" then
    if rawlen(opts) > 0 then
      return nil, 'create() expects named options, e.g. { type = "chat" }, not a list'
    end
    local ok, s = pcall(json_encode, opts)
    if not ok then return nil, "create() options are not serializable: " .. bare(s) end
    text = s
  elseif t == "nil" then
    text = "{}"
  else
    return nil, 'create() expects a table argument, e.g. { type = "chat" }'
  end
  local info, err = await(native.create(text, legacy))
  if info == nil then return nil, err end
  session_table(info)
  local refused = session_started(info)
  if refused then return nil, refused end
  return info, nil
end

--- Returns the session's table, or (nil, nil) when there is no such session.
---@async
---@param session_id string
---@return table|nil session
---@return string|nil error
function M.get(session_id)
  return session_table((await(native.get(str(session_id, 1, "get")))))
end

--- Lists the sessions: an array of session tables.
---@async
---@return table|nil sessions
---@return string|nil error
function M.list()
  local list, err = await(native.list())
  if list == nil then return nil, err end
  for i = 1, #list do session_table(list[i]) end
  return list, nil
end

--- Configures the session's agent; returns true. Takes the documented {model, system_prompt}
--- or the fuller shape of Crucible's daemon (agent_type, provider, model, system_prompt, endpoint,
--- temperature, max_tokens, ...); what is missing comes from the default agent. Providers:
--- "echo" (offline, scriptable: delay, replies, completions) and OpenAI-compatible ones
--- ("openai", "ollama", "llamacpp", "vllm": endpoint, model, api_key_env).
---@async
---@param session_id string
---@param config table
---@return boolean|nil ok
---@return string|nil error
function M.configure_agent(session_id, config)
  local id = str(session_id, 1, "configure_agent")
  return await(native.configure_agent(id, json_arg(config, "configure_agent")))
end

--- Sends a user message and returns its message id at once; the turn streams as events
--- (subscribe first). Turns are non-interactive, as plugin turns are in Crucible (a
--- permission request is denied), unless opts.interactive is true.
---@async
---@param session_id string
---@param content string
---@param opts? {interactive?: boolean}
---@return string|nil message_id
---@return string|nil error
function M.send_message(session_id, content, opts)
  local id, text = str(session_id, 1, "send_message"), str(content, 2, "send_message")
  local interactive = type(opts) == "table" and opts.interactive == true
  return await(native.send_message(id, text, interactive))
end

--- Subscribes to the session's events and returns `next_event`. Each call of next_event()
--- returns the next event {type, session_id, data} (waiting for it if need be), or nil once
--- the subscription has ended (unsubscribe, end_session). A text_delta carries its chunk in
--- both data.text and data.content.
---@async
---@param session_id string
---@return (fun(): table|nil)|nil next_event
---@return string|nil error
function M.subscribe(session_id)
  local id = str(session_id, 1, "subscribe")
  local sub, err = await(native.subscribe(id))
  if sub == nil then return nil, err end
  --- Returns the session's next event, waiting for it; nil when the subscription has ended.
  ---@async
  ---@return table|nil event {type, session_id, data}
  local function next_event()
    while true do
      local kind, a, b = take(sub)
      if kind == DELTA then return {type = "text_delta", session_id = id, data = {content = a, text = a}} end
      if kind == EVENT then return {type = a, session_id = id, data = b} end
      if kind == CLOSED then return nil, nil end
      await(a)
    end
  end
  return next_event, nil
end

--- Ends every subscription this Lua state made to the session (their next_event returns nil
--- once their buffered events are read); returns true.
---@async
---@param session_id string
---@return boolean|nil ok
---@return string|nil error
function M.unsubscribe(session_id)
  return await(native.unsubscribe(str(session_id, 1, "unsubscribe")))
end

--- Cancels the turn in flight; returns whether there was one. Its subscribers get
--- `ended {reason = "cancelled"}`.
---@async
---@param session_id string
---@return boolean|nil cancelled
---@return string|nil error
function M.cancel(session_id)
  return await(native.call("cancel", str(session_id, 1, "cancel")))
end

--- Pauses the session: a turn in flight holds still and new messages are refused until resume.
---@async
---@param session_id string
---@return boolean|nil ok
---@return string|nil error
function M.pause(session_id)
  return await(native.call("pause", str(session_id, 1, "pause")))
end

--- Resumes a paused session.
---@async
---@param session_id string
---@return boolean|nil ok
---@return string|nil error
function M.resume(session_id)
  return await(native.call("resume", str(session_id, 1, "resume")))
end

--- Ends the session for good: a turn in flight is cancelled and subscriptions end.
---@async
---@param session_id string
---@return boolean|nil ok
---@return string|nil error
function M.end_session(session_id)
  local id = str(session_id, 1, "end_session")
  local ok, err = await(native.call("end", id))
  if ok then session_ended(id) end
  return ok, err
end

--- Answers a permission request (an interaction_requested event) of an interactive turn:
--- {allowed = true} or {allowed = false} (`approved` works too), optional reason.
---@async
---@param session_id string
---@param request_id string
---@param response table
---@return boolean|nil ok
---@return string|nil error
function M.interaction_respond(session_id, request_id, response)
  local id = str(session_id, 1, "interaction_respond")
  local rid = str(request_id, 2, "interaction_respond")
  return await(native.interaction_respond(id, rid, json_arg(response, "interaction_respond")))
end

---------------------------------------------------------------------------------------------------
-- Collecting replies

--- Sends a message and returns `next_part`, which returns the reply's parts one by one, then
--- nil: {type = "text", content}, {type = "tool_call", tool, args_brief}, {type = "tool_result",
--- tool, result_brief, is_error}, {type = "thinking", content}, {type = "permission_request",
--- request_id, tool, description}. opts: timeout (seconds, default 120; a bare float works
--- too), max_tool_result_len (default 500), interactive (default false).
---@async
---@param session_id string
---@param content string
---@param opts? table|number
---@return (fun(): table|nil)|nil next_part
---@return string|nil error
function M.send_and_collect(session_id, content, opts)
  local id, text = str(session_id, 1, "send_and_collect"), str(content, 2, "send_and_collect")
  local timeout, max_len, interactive = 120.0, 500, false
  if type(opts) == "table" then
    if type(opts.timeout) == "number" then timeout = opts.timeout end
    local n = opts.max_tool_result_len
    if type(n) == "number" and n >= 0 and n == n then max_len = floor(n) end
    if type(opts.interactive) == "boolean" then interactive = opts.interactive end
  elseif mtype(opts) == "float" then -- the reference takes a bare float as the timeout (not an integer)
    timeout = opts
  end
  if not (timeout >= 0 and timeout < math.huge) then
    return nil, "timeout must be a finite, nonnegative number of seconds"
  end
  local collector, err = await(native.send_and_collect(id, text, timeout, max_len, interactive))
  if collector == nil then return nil, err end
  --- Returns the next part of the reply, waiting for it; nil after the last one.
  ---@async
  ---@return table|nil part
  local function next_part()
    while true do
      local kind, a = next_part_of(collector)
      if kind == PART then return a end
      if kind == CLOSED then return nil, nil end
      await(a)
    end
  end
  return next_part, nil
end

--- One completion against the session's model, without tools or history; returns its text.
--- Takes a prompt string or {prompt, system, timeout} (timeout: whole seconds, default 30).
---@async
---@param session_id string
---@param opts string|table
---@return string|nil text
---@return string|nil error
function M.complete(session_id, opts)
  local id = str(session_id, 1, "complete")
  local t = type(opts)
  local text
  if t == "string" then
    text = json_arg({prompt = opts}, "complete")
  elseif t == "table" then
    local ok, s = pcall(json_encode, opts)
    if not ok then return nil, "Invalid complete() options: " .. bare(s) end
    text = s
  else
    return nil, 'complete() expects a prompt string or a table, e.g. { prompt = "…" }'
  end
  return await(native.complete(id, text))
end

--- The session log: an array of {role, content, timestamp}, oldest first. opts.role keeps one
--- role ("user", "assistant" or "system"); opts.limit keeps the last N.
---@async
---@param session_id string
---@param opts? {role?: string, limit?: integer}
---@return table|nil messages
---@return string|nil error
function M.messages(session_id, opts)
  local id = str(session_id, 1, "messages")
  local role, limit
  if type(opts) == "table" then
    role = as_string(opts.role)
    local n = opts.limit
    if type(n) == "number" and n >= 0 and n == n then limit = tointeger(floor(n)) end
  end
  return await(native.messages(id, role, limit))
end

--- Appends a message to the session log ("system", "user" or "assistant"); it is part of the
--- conversation from the next turn on.
---@async
---@param session_id string
---@param role string
---@param content string
---@return boolean|nil ok
---@return string|nil error
function M.inject(session_id, role, content)
  local id, r, text = str(session_id, 1, "inject"), str(role, 2, "inject"), str(content, 3, "inject")
  return await(native.inject(id, r, text))
end

--- Forks the session: a new session with a copy of its log (the first opts.up_to messages, or
--- all) and no agent. Returns {id, parent_id, messages_copied}.
---@async
---@param session_id string
---@param opts? {up_to?: integer}|integer
---@return table|nil child
---@return string|nil error
function M.fork(session_id, opts)
  local id = str(session_id, 1, "fork")
  local up_to = opts
  if type(opts) == "table" then up_to = opts.up_to end
  if type(up_to) == "number" and up_to == up_to then up_to = tointeger(floor(up_to)) else up_to = nil end
  return await(native.fork(id, up_to))
end

---------------------------------------------------------------------------------------------------
-- Ours: the notebook

--- Shows the session's current turn (or its last one) live as it streams, and returns when it
--- is over: the reply's text, or (nil, "cancelled" / the error) when the turn did not finish.
--- In a notebook the view is Markdown updated in place; on the command line the text streams
--- to stdout.
---@async
---@param session_id string
---@return string|nil response
---@return string|nil error
function M.watch(session_id)
  local response, err = await(native.watch(str(session_id, 1, "watch")))
  if response ~= nil then return response end
  return nil, err
end

---------------------------------------------------------------------------------------------------
-- Reference functions this service does not support: arguments are converted as in the
-- reference, then (nil, "not supported by this session service").

--- Not supported by this session service: returns (nil, message).
---@async
---@param ids table
---@param timeout? number
---@return nil
---@return string error
function M.collect_subagents(ids, timeout)
  return nil, NOT_SUPPORTED
end

--- Not supported by this session service: returns (nil, message).
---@async
---@param session_id string
---@return nil
---@return string error
function M.cache_stats(session_id)
  str(session_id, 1, "cache_stats")
  return nil, NOT_SUPPORTED
end

local VALIDATION_TYPES = {none = true, json = true, regex = true, lua = true}

--- Not supported by this session service: checks `spec` as Crucible does, then returns
--- (nil, message).
---@async
---@param session_id string
---@param spec string|table
---@return nil
---@return string error
function M.set_output_validation(session_id, spec)
  str(session_id, 1, "set_output_validation")
  local t = type(spec)
  if t == "table" then
    local kind = spec.type
    if not VALIDATION_TYPES[kind] then
      raise(("unknown validation type '%s'; want none|json|regex|lua"):format(tostring(kind)))
    end
  elseif t ~= "string" then
    raise("validation spec must be string or table, got " .. t)
  end
  return nil, NOT_SUPPORTED
end

--- Not supported by this session service: returns (nil, message).
---@async
---@param session_id string
---@param count? integer|table
---@return nil
---@return string error
function M.undo(session_id, count)
  str(session_id, 1, "undo")
  return nil, NOT_SUPPORTED
end

--- Not supported by this session service: returns (nil, message).
---@async
---@param session_id string
---@return nil
---@return string error
function M.can_undo(session_id)
  str(session_id, 1, "can_undo")
  return nil, NOT_SUPPORTED
end

--- Not supported by this session service: returns (nil, message).
---@async
---@param session_id string
---@return nil
---@return string error
function M.undo_depth(session_id)
  str(session_id, 1, "undo_depth")
  return nil, NOT_SUPPORTED
end

--- Not supported by this session service: returns (nil, message).
---@async
---@param session_id string
---@return nil
---@return string error
function M.undo_history(session_id)
  str(session_id, 1, "undo_history")
  return nil, NOT_SUPPORTED
end

--- Not supported by this session service: returns (nil, message).
---@async
---@param session_id string
---@return nil
---@return string error
function M.review_list_hunks(session_id)
  str(session_id, 1, "review_list_hunks")
  return nil, NOT_SUPPORTED
end

--- Not supported by this session service: returns (nil, message).
---@async
---@param session_id string
---@param hunk string
---@param state string
---@return nil
---@return string error
function M.review_set_state(session_id, hunk, state)
  str(session_id, 1, "review_set_state")
  str(hunk, 2, "review_set_state")
  str(state, 3, "review_set_state")
  return nil, NOT_SUPPORTED
end

--- Not supported by this session service: returns (nil, message).
---@async
---@param session_id string
---@param spec table
---@return nil
---@return string error
function M.review_comment(session_id, spec)
  str(session_id, 1, "review_comment")
  return nil, NOT_SUPPORTED
end

--- Not supported by this session service: returns (nil, message).
---@async
---@param session_id string
---@param comment_id string
---@return nil
---@return string error
function M.review_resolve_comment(session_id, comment_id)
  str(session_id, 1, "review_resolve_comment")
  str(comment_id, 2, "review_resolve_comment")
  return nil, NOT_SUPPORTED
end

---------------------------------------------------------------------------------------------------
-- For the kernel (not part of cru.sessions)

local internal = {}

--- watch() while sessions are switched off.
---@async
---@param session_id string
---@return nil
---@return string error
function internal.watch_off(session_id)
  str(session_id, 1, "watch")
  return nil, NO_DAEMON
end

-- %%session: send `text` to session `id` (a new echo session when nil) and watch the turn.
-- Raises the failure, so the cell shows it as an error.
function internal.session_cell(id, text)
  if id == nil then
    local info, err = await(native.create('{"type":"chat","provider":"echo"}', nil))
    if info == nil then error(err, 0) end
    local refused = session_started(info)
    if refused then error(refused, 0) end
    id = info.id
  end
  local message_id, err = await(native.send_message(id, text, true))
  if message_id == nil then error(err, 0) end
  local response, failure = await(native.watch(id))
  if response == nil and failure ~= nil and failure ~= "cancelled" then error(failure, 0) end
end

return {module = M, internal = internal}
