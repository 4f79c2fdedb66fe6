-- Answers through cru.sessions, against test_mocks' sessions (create gives mock-session-N,
-- send_and_collect hands out the fixture's response parts).

local responder = require("chatbot.responder")
local chatbot = require("chatbot")

local PARTS = {
  {type = "text", content = "Hello, "},
  {type = "tool_call", tool = "search", args_brief = "{}"},
  {type = "text", content = "Ada."},
}

describe("chatbot.responder", function()
  before_each(function()
    test_mocks.setup({sessions = {response_parts = PARTS}})
    responder.configure({provider = "echo", delay = 0})
  end)

  it("joins the text parts of a turn", function()
    assert.equal("Hello, Ada.", responder.reply("general", "hi"))
  end)

  it("keeps one session per channel, made with the configured agent", function()
    responder.reply("general", "one")
    responder.reply("general", "two")
    responder.reply("random", "three")
    local creates = test_mocks.get_calls("sessions", "create")
    assert.equal(2, #creates)
    assert.equal("echo", creates[1][1].provider)
    assert.equal("chat", creates[1][1].type)
    local sends = test_mocks.get_calls("sessions", "send_and_collect")
    assert.equal(sends[1][1], sends[2][1])
    assert.is_string(sends[3][1])
    assert.truthy(sends[1][1] ~= sends[3][1])
  end)

  it("returns the session service's error", function()
    cru.sessions.create = function() return nil, "no daemon connected" end
    local answer, err = responder.reply("general", "hi")
    assert.is_nil(answer)
    assert.equal("no daemon connected", err)
  end)

  it("turns a failing turn into an error value, and frees the channel", function()
    cru.sessions.send_and_collect = function() error("stream broke") end
    local answer, err = responder.reply("general", "hi")
    assert.is_nil(answer)
    assert.truthy(err:find("stream broke", 1, true))
    cru.sessions.send_and_collect = nil
    test_mocks.setup({sessions = {response_parts = PARTS}})
    assert.equal("Hello, Ada.", responder.reply("general", "again"))
  end)
end)

describe("chatbot", function()
  it("checks its config", function()
    assert.has_error(function() chatbot.setup({url = 5}) end, "url: expected string, got number")
    assert.has_error(function() chatbot.setup({agent = "echo"}) end, "agent: expected table, got string")
  end)

  it("does not connect without a url", function()
    chatbot.setup({})
    chatbot.services.gateway.fn() -- returns at once
    assert.equal(0, chatbot.stats.connects)
  end)

  it("answers a message in a task of its own and posts the answer", function()
    test_mocks.setup({sessions = {response_parts = PARTS}})
    chatbot.setup({})
    local posted = {}
    local spawn = cru.spawn
    cru.spawn = function(fn) fn() end -- run it here: the suite runs synchronously
    chatbot.answer({channel = "general", author = "ada", content = "hi"}, function(channel, text)
      posted[#posted + 1] = channel .. ": " .. text
    end)
    cru.spawn = spawn
    assert.deep_equal({"general: Hello, Ada."}, posted)
    assert.equal(1, chatbot.stats.answered)
  end)

  it("asks its agent through the ask tool", function()
    test_mocks.setup({sessions = {response_parts = PARTS}})
    chatbot.setup({})
    assert.equal("Hello, Ada.", chatbot.tools.ask.fn({text = "hi"}))
    assert.has_error(function() chatbot.tools.ask.fn({}) end, "text: expected string, got nil")
  end)
end)
