-- A stand-in for the Fennel compiler, written for the runner's tests: `compileString` turns the
-- small subset of Fennel that the fixtures use into Lua (calls, fn, local, operators, strings,
-- :keywords, numbers, {} tables) and raises "Parse error: ..." on unbalanced input, as Fennel's
-- own parser would. It is not Fennel; real plugins bring fennel.lua.

local M = {version = "stub"}

local function read(src)
  local pos, line = 1, 1
  local function skip()
    while true do
      local c = src:sub(pos, pos)
      if c == "\n" then line = line + 1; pos = pos + 1
      elseif c:match("%s") and c ~= "" then pos = pos + 1
      elseif c == ";" then
        while pos <= #src and src:sub(pos, pos) ~= "\n" do pos = pos + 1 end
      else return end
    end
  end
  local CLOSE = {["("] = ")", ["["] = "]", ["{"] = "}"}
  local function form()
    skip()
    local c = src:sub(pos, pos)
    if c == "" then return nil end
    if CLOSE[c] then
      pos = pos + 1
      local items = {kind = c}
      while true do
        skip()
        local d = src:sub(pos, pos)
        if d == "" then error(("unknown:%d:0: Parse error: expected closing delimiter %s"):format(line, CLOSE[c]), 0) end
        if d == CLOSE[c] then pos = pos + 1; return items end
        if d == ")" or d == "]" or d == "}" then
          error(("unknown:%d:0: Parse error: mismatched closing delimiter %s, expected %s"):format(line, d, CLOSE[c]), 0)
        end
        items[#items + 1] = form()
      end
    end
    if c == ")" or c == "]" or c == "}" then
      error(("unknown:%d:0: Parse error: unexpected closing delimiter %s"):format(line, c), 0)
    end
    if c == '"' then
      local finish = src:find('"', pos + 1, true)
      local s = src:sub(pos + 1, finish - 1)
      pos = finish + 1
      return {kind = "string", value = s}
    end
    local token = src:match("^[^%s%(%)%[%]{}\"]+", pos)
    pos = pos + #token
    if token:sub(1, 1) == ":" then return {kind = "string", value = token:sub(2)} end
    if tonumber(token) then return {kind = "number", value = token} end
    return {kind = "symbol", value = token}
  end
  local forms = {}
  while true do
    local f = form()
    if f == nil then return forms end
    forms[#forms + 1] = f
  end
end

local OPS = {["+"] = "+", ["-"] = "-", ["*"] = "*", ["/"] = "/", ["="] = "==", ["<"] = "<",
             [">"] = ">", [".."] = ".."}

local expr, body

function expr(f)
  if f.kind == "string" then return ("%q"):format(f.value) end
  if f.kind == "number" or f.kind == "symbol" then return f.value end
  if f.kind == "{" then
    local parts = {}
    for i = 1, #f, 2 do parts[#parts + 1] = ("[%s] = %s"):format(expr(f[i]), expr(f[i + 1])) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  local head = f[1]
  if head.kind == "symbol" and head.value == "fn" then
    local params = {}
    for _, p in ipairs(f[2]) do params[#params + 1] = p.value end
    local rest = {table.unpack(f, 3)}
    return "function(" .. table.concat(params, ", ") .. ")\n" .. body(rest) .. "\nend"
  end
  if head.kind == "symbol" and OPS[head.value] then
    return "(" .. expr(f[2]) .. " " .. OPS[head.value] .. " " .. expr(f[3]) .. ")"
  end
  local args = {}
  for i = 2, #f do args[#args + 1] = expr(f[i]) end
  return "(" .. expr(head) .. ")(" .. table.concat(args, ", ") .. ")"
end

function body(forms)
  local out = {}
  for i, f in ipairs(forms) do
    if f.kind == "(" and f[1].value == "local" then
      out[#out + 1] = ("local %s = %s"):format(f[2].value, expr(f[3]))
    elseif i == #forms then
      out[#out + 1] = "return " .. expr(f)
    else
      out[#out + 1] = "local _ = " .. expr(f)
    end
  end
  return table.concat(out, "\n")
end

function M.compileString(src)
  return body(read(src))
end

return M
