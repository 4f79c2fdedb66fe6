-- textkit.text: the text functions behind the tools (plain Lua, nothing to wait for).

local text = {}

--- Words (runs of non-space), lines and characters (UTF-8 aware) of `s`.
---@param s string
---@return {words: integer, lines: integer, chars: integer}
function text.count(s)
  local words = 0
  for _ in s:gmatch("%S+") do words = words + 1 end
  local lines = 0
  if #s > 0 then
    lines = select(2, s:gsub("\n", "")) + (s:sub(-1) == "\n" and 0 or 1)
  end
  return {words = words, lines = lines, chars = utf8.len(s) or #s}
end

--- `s` as a URL slug: lower case ASCII letters and digits, words joined by "-".
---@param s string
---@return string
function text.slugify(s)
  local slug = s:lower():gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  return slug
end

--- The `limit` most frequent words of `s` (lower-cased), most frequent first, ties in
--- alphabetical order: a JSON array of {word, count}.
---@param s string
---@param limit? integer (default 5)
---@return {word: string, count: integer}[]
function text.top_words(s, limit)
  local counts = {}
  for word in s:lower():gmatch("[%w']+") do counts[word] = (counts[word] or 0) + 1 end
  local list = {}
  for word, count in pairs(counts) do list[#list + 1] = {word = word, count = count} end
  table.sort(list, function(a, b)
    if a.count ~= b.count then return a.count > b.count end
    return a.word < b.word
  end)
  local top = cru.json.array({}) -- an empty result still encodes as []
  for i = 1, math.min(limit or 5, #list) do top[i] = list[i] end
  return top
end

return text
