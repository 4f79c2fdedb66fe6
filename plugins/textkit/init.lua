-- textkit: tools an agent can call and commands a person can run, over plain text.
--
-- Tools get one table of arguments (decoded from JSON) and return a value (encoded to JSON);
-- their `params` describe the arguments to the agent. Commands get whatever JSON value they were
-- given. Both raise on bad input: the caller gets the error.

local text = require("textkit.text")
local greeting = require("textkit.greeting")

local M = {name = "textkit", version = "1.0.0"}

local function text_arg(args, name)
  cru.check.table(args, "args")
  cru.check.string(args[name], name)
  return args[name]
end

M.tools = {
  word_count = {
    desc = "Counts the words, lines and characters of a text",
    params = {{name = "text", type = "string", desc = "the text to count"}},
    fn = function(args) return text.count(text_arg(args, "text")) end,
  },
  slugify = {
    desc = "Turns a title into a URL slug",
    params = {{name = "text", type = "string", desc = "the title"}},
    fn = function(args) return text.slugify(text_arg(args, "text")) end,
  },
  top_words = {
    desc = "The most frequent words of a text, most frequent first",
    params = {
      {name = "text", type = "string", desc = "the text"},
      {name = "limit", type = "number", desc = "how many words (default 5)", optional = true},
    },
    fn = function(args)
      local s = text_arg(args, "text")
      cru.check.number(args.limit, "limit", {optional = true, min = 1})
      return text.top_words(s, args.limit)
    end,
  },
}

M.commands = {
  greet = {
    desc = "Greets someone",
    hint = "NAME",
    fn = function(name)
      if type(name) ~= "string" then name = "stranger" end -- no argument arrives as JSON null
      return greeting.greet(name)
    end,
  },
  export = {
    desc = "Writes a text and its word count to a file (needs the filesystem capability)",
    hint = "{path = PATH, text = TEXT}",
    fn = function(args)
      local path, s = text_arg(args, "path"), text_arg(args, "text")
      local counts = text.count(s)
      local report = ("%s\n\n-- %d words, %d lines, %d characters\n"):format(s, counts.words, counts.lines, counts.chars)
      cru.fs.write(path, report)
      return {path = path, bytes = #report}
    end,
  },
  wc = {
    desc = "Counts words with the system's wc (it runs a command: the shell capability)",
    hint = "TEXT",
    fn = function(s)
      cru.check.string(s, "text")
      if not cru.shell then error("wc needs cru.shell, which Crucible's plugin VM (and this kernel) has", 0) end
      local result = cru.shell.exec("wc", {"-w"}, {stdin = s})
      if not result.success then error("wc failed: " .. result.stderr, 0) end
      return tonumber(result.stdout:match("%d+"))
    end,
  },
}

package.loaded.textkit = M
return M
