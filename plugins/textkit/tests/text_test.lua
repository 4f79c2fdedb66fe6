-- textkit.text: the functions behind the tools.

local text = require("textkit.text")

describe("textkit.text", function()
  describe("count", function()
    it("counts words, lines and characters", function()
      assert.deep_equal({words = 4, lines = 2, chars = 18}, text.count("one two\nthree four"))
    end)

    it("counts a last line without a newline, characters not bytes, and nothing in empty text", function()
      assert.equal(2, text.count("a\nb").lines)
      assert.equal(2, text.count("a\nb\n").lines)
      assert.equal(5, text.count("héllo").chars)
      assert.deep_equal({words = 0, lines = 0, chars = 0}, text.count(""))
    end)
  end)

  describe("slugify", function()
    it("keeps letters and digits, joined by dashes", function()
      assert.equal("hello-crucible-plugins-2", text.slugify("  Hello, Crucible Plugins 2!  "))
      assert.equal("", text.slugify("!!!"))
    end)
  end)

  describe("top_words", function()
    it("orders by count, then alphabetically", function()
      local top = text.top_words("the cat and the hat and the bat", 3)
      assert.deep_equal({{word = "the", count = 3}, {word = "and", count = 2}, {word = "bat", count = 1}}, top)
    end)

    it("is a JSON array, even when empty", function()
      assert.equal("[]", cru.json.encode(text.top_words("", 3)))
      assert.equal('[{"count":1,"word":"x"}]', cru.json.encode(text.top_words("x")))
    end)
  end)
end)
