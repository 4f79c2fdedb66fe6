-- The gateway protocol and one connection's life, against a fake connection (the suite's Lua
-- state has no cru.ws, as in Crucible's test runner).

local gateway = require("chatbot.gateway")

local function text(payload)
  return {type = "text", data = cru.json.encode(payload)}
end

-- A connection that receives `frames` in order and records what is sent and whether it closed.
local function fake_connection(frames)
  local ws = {sent = {}, closed = false}
  function ws:receive() return table.remove(frames, 1) or {type = "close"} end
  function ws:send(data) self.sent[#self.sent + 1] = cru.json.decode(data) end
  function ws:close() self.closed = true end
  return ws
end

describe("chatbot.gateway", function()
  describe("classify", function()
    it("tells others' messages from the bot's own", function()
      local msg = {op = "message", channel = "general", author = "ada", content = "hi"}
      local kind, payload = gateway.classify(text(msg), "bot")
      assert.equal("message", kind)
      assert.equal("hi", payload.content)
      msg.author = "bot"
      assert.equal("own", (gateway.classify(text(msg), "bot")))
    end)

    it("names the other ops, and ignores what it cannot read", function()
      assert.equal("ready", (gateway.classify(text({op = "ready", name = "bot"}), "bot")))
      assert.equal("closed", (gateway.classify({type = "close"}, "bot")))
      assert.equal("ignore", (gateway.classify({type = "text", data = "not json"}, "bot")))
      assert.equal("ignore", (gateway.classify({type = "text", data = "[1, 2]"}, "bot")))
      assert.equal("ignore", (gateway.classify({type = "binary", data = "AAEC"}, "bot")))
    end)
  end)

  describe("run", function()
    it("identifies, answers others' messages, and closes when the gateway goes", function()
      local ws = fake_connection({
        text({op = "hello"}),
        text({op = "ready", name = "bot"}),
        text({op = "message", channel = "general", author = "ada", content = "hello"}),
        text({op = "message", channel = "general", author = "bot", content = "an answer"}),
        {type = "text", data = "garbage"},
      })
      local connected_to
      local function connect(url) connected_to = url return ws end
      local seen = {}
      local function on_message(payload, send)
        seen[#seen + 1] = payload.author .. ": " .. payload.content
        send(payload.channel, "re: " .. payload.content)
      end
      assert.has_error(function()
        gateway.run(connect, "ws://gateway.test/", "bot", on_message)
      end, "the gateway closed the connection")
      assert.equal("ws://gateway.test/", connected_to)
      assert.deep_equal({"ada: hello"}, seen)
      assert.deep_equal({op = "identify", name = "bot"}, ws.sent[1])
      assert.deep_equal({op = "post", channel = "general", content = "re: hello"}, ws.sent[2])
      assert.equal(2, #ws.sent)
      assert.truthy(ws.closed)
    end)

    it("closes the connection when answering fails too", function()
      local ws = fake_connection({text({op = "message", channel = "c", author = "ada", content = "x"})})
      assert.has_error(function()
        gateway.run(function() return ws end, "ws://gateway.test/", "bot", function() error("broken handler") end)
      end, "broken handler")
      assert.truthy(ws.closed)
    end)
  end)
end)
