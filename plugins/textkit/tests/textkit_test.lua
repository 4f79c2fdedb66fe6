-- textkit's tools and commands, called as the daemon calls them: tools with a table of
-- arguments, commands with their JSON value. Files go to test_mocks' in-memory fs.

local textkit = require("textkit")

describe("textkit", function()
  before_each(function() test_mocks.setup() end)

  describe("tools", function()
    it("count words", function()
      assert.equal(3, textkit.tools.word_count.fn({text = "a b c"}).words)
    end)

    it("refuse a missing or mistyped argument, naming it", function()
      assert.has_error(function() textkit.tools.word_count.fn({}) end, "text: expected string, got nil")
      assert.has_error(function() textkit.tools.slugify.fn({text = 1}) end, "text: expected string, got number")
      assert.has_error(function() textkit.tools.top_words.fn({text = "a", limit = 0}) end, "limit: must be >= 1")
    end)

    it("describe their parameters for the agent", function()
      local params = textkit.tools.top_words.params
      assert.equal("text", params[1].name)
      assert.equal(true, params[2].optional)
    end)
  end)

  describe("commands", function()
    it("greet someone, or a stranger when given nothing", function()
      assert.equal("Hello, Ada!", textkit.commands.greet.fn("Ada"))
      assert.equal("Hello, stranger!", textkit.commands.greet.fn(nil))
    end)

    it("export a text with its counts", function()
      local result = textkit.commands.export.fn({path = "/out/report.txt", text = "one two"})
      assert.equal("/out/report.txt", result.path)
      local write = test_mocks.get_calls("fs", "write")[1]
      assert.equal("/out/report.txt", write[1])
      assert.truthy(write[2]:find("-- 2 words, 1 lines, 7 characters", 1, true))
      assert.equal(#write[2], result.bytes)
    end)

    it("say plainly that wc needs cru.shell, which a test suite's state lacks", function()
      assert.has_error(function() textkit.commands.wc.fn("a b") end, "wc needs cru.shell")
    end)
  end)
end)
