-- chatbot: a bot on a chat gateway (the Discord plugin's shape, in miniature).
--
-- The `gateway` service keeps a WebSocket connection to the gateway (reconnecting through
-- cru.retry) and answers every message of someone else with an agent session of its channel.
-- Answers run in tasks of their own (cru.spawn), so the connection keeps reading meanwhile.
--
-- Config (the [plugins.chatbot] section, or the table given to cru.plugins.load):
--   url     the gateway (ws://...); without one the service does nothing
--   name    the bot's name (default "crucible-bot")
--   agent   what cru.sessions.create gets for each channel's session (default: the echo agent;
--           {provider = "llamacpp", model = "..."} for a model)

local gateway = require("chatbot.gateway")
local responder = require("chatbot.responder")

local M = {name = "chatbot", version = "0.1.0", capabilities = {"websocket", "agent"}}

local config = {}
M.stats = {connects = 0, answered = 0, failed = 0}

--- Checks the config; sessions start afresh.
---@param cfg table
function M.setup(cfg)
  cru.check.string(cfg.url, "url", {optional = true})
  cru.check.string(cfg.name, "name", {optional = true})
  cru.check.table(cfg.agent, "agent", {optional = true})
  config = {url = cfg.url, name = cfg.name or "crucible-bot"}
  responder.configure(cfg.agent or {provider = "echo", delay = 0})
  M.stats.connects, M.stats.answered, M.stats.failed = 0, 0, 0
end

--- Answers one message (in a task of its own, so that the gateway keeps being read).
---@param message table {channel, author, content}
---@param send fun(channel: string, text: string)
function M.answer(message, send)
  cru.spawn(function()
    local text, err = responder.reply(message.channel, message.content)
    if text then
      send(message.channel, text)
      M.stats.answered = M.stats.answered + 1
    else
      M.stats.failed = M.stats.failed + 1
      cru.log("warn", "chatbot: no answer to " .. message.author .. ": " .. tostring(err))
    end
  end)
end

M.services = {
  gateway = {
    desc = "stays connected to the chat gateway and answers messages",
    fn = function()
      if not config.url then
        cru.log("info", "chatbot: no url configured, not connecting")
        return
      end
      cru.retry(function()
        M.stats.connects = M.stats.connects + 1
        gateway.run(cru.ws.connect, config.url, config.name, M.answer)
      end, {max_retries = 5, base_delay = 0.2, retryable = function() return true end})
    end,
  },
}

M.tools = {
  ask = {
    desc = "Asks the bot's agent directly, outside the gateway",
    params = {{name = "text", type = "string", desc = "the question"}},
    fn = function(args)
      cru.check.string(args.text, "text")
      local answer, err = responder.reply("tools", args.text)
      if not answer then error(err, 0) end
      return answer
    end,
  },
}

package.loaded.chatbot = M
return M
