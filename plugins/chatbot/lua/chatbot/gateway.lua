-- chatbot.gateway: the chat gateway's protocol, and one connection's life.
--
-- One JSON object per text frame: the gateway says {op = "hello"}, the bot identifies with
-- {op = "identify", name}, the gateway answers {op = "ready"}, and then relays every posted
-- message to everyone as {op = "message", id, channel, author, content}, the bot's own too.

local gateway = {}

--- The frame that identifies the bot.
---@param name string
---@return string
function gateway.identify(name)
  return cru.json.encode({op = "identify", name = name})
end

--- The frame that posts `content` to `channel`.
---@param channel string
---@param content string
---@return string
function gateway.post(channel, content)
  return cru.json.encode({op = "post", channel = channel, content = content})
end

--- What a received frame is: "closed", "ignore", "own" (a message the bot posted), "message",
--- or the op of another payload ("hello", "ready", "error"); and the decoded payload.
---@param frame table what ws:receive returned
---@param self_name string the bot's name
---@return string kind
---@return table|nil payload
function gateway.classify(frame, self_name)
  if frame.type == "close" then return "closed" end
  if frame.type ~= "text" then return "ignore" end
  local ok, payload = pcall(cru.json.decode, frame.data)
  if not ok or type(payload) ~= "table" or type(payload.op) ~= "string" then return "ignore" end
  if payload.op == "message" then
    if payload.author == self_name then return "own", payload end
    return "message", payload
  end
  return payload.op, payload
end

--- Connects with `connect(url, opts)` (cru.ws.connect), identifies as `name`, then calls
--- `on_message(payload, send)` for every message of someone else, where `send(channel, text)`
--- posts an answer. Returns never: it raises when the connection ends, so that cru.retry
--- around it reconnects. The connection is closed however it is left, a cancelled service
--- (a reload, an unload) included.
---@async
---@param connect fun(url: string, opts: table): userdata
---@param url string
---@param name string
---@param on_message fun(payload: table, send: fun(channel: string, text: string))
function gateway.run(connect, url, name, on_message)
  local ws = connect(url, {timeout = 5})
  local closer <close> = setmetatable({}, {__close = function() pcall(ws.close, ws) end})
  local function send(channel, text)
    ws:send(gateway.post(channel, text))
  end
  ws:send(gateway.identify(name))
  while true do
    local frame = ws:receive(30)
    if frame ~= nil then -- nil: 30 s of quiet, nothing to do
      local kind, payload = gateway.classify(frame, name)
      if kind == "closed" then error("the gateway closed the connection", 0) end
      if kind == "ready" then cru.log("info", "chatbot: connected as " .. tostring(payload.name)) end
      if kind == "error" then cru.log("warn", "chatbot: the gateway says: " .. tostring(payload.error)) end
      if kind == "message" then on_message(payload, send) end
    end
  end
end

return gateway
