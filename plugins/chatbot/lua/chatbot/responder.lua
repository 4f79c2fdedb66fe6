-- chatbot.responder: answers a message with an agent session, one session per channel, so the
-- agent sees each channel's conversation. It uses the contract's send_and_collect: text parts
-- arrive as the agent streams them, tool calls and results between them.

local responder = {}

local agent = {provider = "echo", delay = 0}
local sessions = {} -- channel -> session id
local busy = {} -- channel -> true while a turn runs

--- Which agent new sessions get (the fields cru.sessions.create takes: provider, model,
--- system_prompt, ...); forgets the sessions made so far.
---@param config table
function responder.configure(config)
  agent = config
  sessions, busy = {}, {}
end

--- The session of `channel`, created on first use.
---@async
---@param channel string
---@return string|nil id
---@return string|nil error
function responder.session(channel)
  if sessions[channel] then return sessions[channel] end
  local opts = {type = "chat"}
  for k, v in pairs(agent) do opts[k] = v end
  local session, err = cru.sessions.create(opts)
  if not session then return nil, err end
  sessions[channel] = session.id
  return session.id
end

local function turn(channel, text)
  local id, err = responder.session(channel)
  if not id then return nil, err end
  local next_part, send_err = cru.sessions.send_and_collect(id, text, {timeout = 30.0})
  if not next_part then return nil, send_err end
  local parts = {}
  while true do
    local part = next_part()
    if not part then break end
    if part.type == "text" then parts[#parts + 1] = part.content end
  end
  return table.concat(parts)
end

--- The agent's answer to `text` in `channel`, or nil and the error. Turns of one channel take
--- their turn: a session runs one at a time (checking and marking `busy` with no wait in between
--- is atomic, since tasks only interleave where they wait).
---@async
---@param channel string
---@param text string
---@return string|nil answer
---@return string|nil error
function responder.reply(channel, text)
  while busy[channel] do cru.timer.sleep(0.01) end
  busy[channel] = true
  local ok, answer, err = pcall(turn, channel, text)
  busy[channel] = nil
  if not ok then return nil, tostring(answer) end
  return answer, err
end

return responder
