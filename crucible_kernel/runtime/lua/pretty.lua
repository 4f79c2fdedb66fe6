-- The pretty printer behind cell results, display() and cru.display.format.
--
-- Dependencies: the engine (to tell the runtime's own functions from the user's).
--
-- The text is deterministic, so a notebook shows the same thing on every run:
--   * a table lists its array part (1..n, as far as there are no holes) first and without keys,
--     then its other keys sorted: numbers ascending, then strings in byte order, then keys of
--     other types by type name and address;
--   * keys that are identifiers show bare (`name = 1`), others in brackets (`["a b"] = 1`,
--     `[1.5] = 2`);
--   * a table fits on one line when it can (`{1, 2, x = 3}`), otherwise one entry a line,
--     indented two spaces a level, with runs of short array items packed to the width;
--   * tables deeper than `max_depth` show as `{...}`, entries past `max_items` as
--     `... (N more)`, a table met again on its own path as `<cycle>`;
--   * strings in tables are quoted with readable escapes (`"a\n"`); numbers as Lua writes them
--     (`1`, `1.0`, `1e+100`); functions as `function: builtin` or `function <cell[3]:2>`;
--     tables and userdata with __tostring through it; other userdata `<userdata>`.
-- Tables are read raw (no __index, no __pairs): printing a value never runs code of it other
-- than its __tostring.

local engine = ...
local is_internal = engine.is_internal

local type, tostring, next, rawget, rawequal = type, tostring, next, rawget, rawequal
local pcall, math_type = pcall, math.type -- the prelude's pcall: interrupts pass through it
local getmetatable, getinfo = debug.getmetatable, debug.getinfo
local char, find, format, gsub, match, rep = string.char, string.find, string.format, string.gsub,
  string.match, string.rep
local concat, insert, sort = table.concat, table.insert, table.sort
local min = math.min

local M = {}

--- The options a format call starts from.
M.defaults = {max_depth = 4, max_items = 100, width = 80, quote = true}

---------------------------------------------------------------------------------------------------
-- Scalars

-- %q's escapes, readable: \n rather than a backslash-newline, \t, \r, and \ddd for the rest.
local ESC = {['"'] = '\\"', ["\\"] = "\\\\", ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f",
             ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\v"] = "\\v", ["\127"] = "\\127"}
for b = 0, 31 do
  local c = char(b)
  if not ESC[c] then ESC[c] = format("\\%03d", b) end
end
local NEEDS_ESCAPE = '[%c"\\]'

local function quote(s)
  if find(s, NEEDS_ESCAPE) then s = gsub(s, NEEDS_ESCAPE, ESC) end
  return '"' .. s .. '"'
end
M.quote = quote

local function via_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok then return s end
  return format("<__tostring failed: %s>", tostring(s))
end

local function function_text(f)
  local info = getinfo(f, "S")
  if info.what == "C" or is_internal(info.source) then return "function: builtin" end
  return format("function <%s:%d>", info.short_src, info.linedefined)
end

local function has_tostring(v)
  local mt = getmetatable(v)
  return mt ~= nil and rawget(mt, "__tostring") ~= nil
end

-- The text of a value that is not a table; `raw` leaves a string unquoted.
local function scalar(v, tv, raw)
  if tv == "string" then
    if raw then return v end
    return quote(v)
  elseif tv == "number" or tv == "boolean" or tv == "nil" then
    return tostring(v)
  elseif tv == "function" then
    return function_text(v)
  elseif tv == "userdata" then
    if has_tostring(v) then return via_tostring(v) end
    return "<userdata>"
  end
  return "<" .. tv .. ">" -- thread
end

---------------------------------------------------------------------------------------------------
-- Key order

-- Lua compares strings with strcoll; under a collation other than C's, compare bytes.
local bytewise, byte_order_collation = engine.bytes_less, engine.collation_is_bytewise

local RANK = {number = 1, string = 2}

local function make_less(strings_bytewise)
  return function(a, b)
    local ta, tb = type(a), type(b)
    if ta == tb then
      if ta == "number" then return a < b end
      if ta == "string" then
        if strings_bytewise then return bytewise(a, b) end
        return a < b
      end
      if ta == "boolean" then return b and not a end
      return format("%p", a) < format("%p", b)
    end
    local ra, rb = RANK[ta] or 3, RANK[tb] or 3
    if ra ~= rb then return ra < rb end
    return ta < tb
  end
end
local LESS_C, LESS_BYTES = make_less(false), make_less(true)

-- The `limit` least of keys[1..m] in order, without sorting all of them (a huge table shows
-- only its first entries).
local function least(keys, m, limit, less)
  if m <= limit then
    sort(keys, less)
    return keys
  end
  local best = {}
  for i = 1, limit do best[i] = keys[i] end
  sort(best, less)
  local last = best[limit]
  for i = limit + 1, m do
    local k = keys[i]
    if less(k, last) then
      local lo, hi = 1, limit
      while lo < hi do
        local mid = (lo + hi) // 2
        if less(k, best[mid]) then hi = mid else lo = mid + 1 end
      end
      insert(best, lo, k)
      best[limit + 1] = nil
      last = best[limit]
    end
  end
  return best
end

---------------------------------------------------------------------------------------------------
-- Tables

local KEYWORDS = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat return "
          .. "then true until while"):gmatch("%a+") do
  KEYWORDS[w] = true
end

local render -- forward

local function key_text(k, depth, st)
  if type(k) == "string" and match(k, "^[A-Za-z_][A-Za-z0-9_]*$") and not KEYWORDS[k] then
    return k
  end
  return "[" .. render(k, depth, st.width, st) .. "]"
end

-- The lines of a table laid out over several lines: runs of one-line array items packed up to
-- `avail` columns, every other entry on a line of its own.
local function lines_of(entries, flat, n, avail)
  local lines, m, cur = {}, 0, nil
  for i = 1, n do
    local e = entries[i]
    if flat[i] then
      if cur and #cur + 2 + #e <= avail then
        cur = cur .. ", " .. e
      else
        if cur then m = m + 1; lines[m] = cur end
        cur = e
      end
    else
      if cur then m = m + 1; lines[m] = cur; cur = nil end
      m = m + 1
      lines[m] = e
    end
  end
  if cur then m = m + 1; lines[m] = cur end
  return lines, m
end

-- `t` (a table without __tostring) at nesting level `depth`, in at most `avail` columns if it
-- is to stay on one line.
local function render_table(t, depth, avail, st)
  if st.path[t] then return "<cycle>" end
  if next(t) == nil then return "{}" end
  if depth > st.max_depth then return "{...}" end
  st.path[t] = true

  local max_items, width = st.max_items, st.width
  local indent = rep("  ", depth)
  local inner = width - #indent - 1 -- room on an entry's line, less its comma
  local entries, flat, n = {}, {}, 0

  -- the array part, as far as it is shown
  local len = 0
  while len < max_items and rawget(t, len + 1) ~= nil do
    len = len + 1
    local text = render(rawget(t, len), depth + 1, inner, st)
    n = n + 1
    entries[n] = text
    flat[n] = not find(text, "\n", 1, true)
  end

  -- the other keys: all counted, the least of them shown
  local room = max_items - len
  local keys, m, total = {}, 0, 0
  for k in next, t do
    total = total + 1
    if room > 0 and not (math_type(k) == "integer" and k >= 1 and k <= len) then
      m = m + 1
      keys[m] = k
    end
  end
  if m > 0 then
    keys = least(keys, m, room, st.less)
    for i = 1, min(m, room) do
      local k = keys[i]
      local prefix = key_text(k, depth + 1, st) .. " = "
      n = n + 1
      entries[n] = prefix .. render(rawget(t, k), depth + 1, inner - #prefix, st)
      flat[n] = false
    end
  end
  st.path[t] = nil

  local more = total - n
  if more > 0 then
    n = n + 1
    entries[n] = format("... (%d more)", more)
    flat[n] = false
  end

  -- one line if everything fits
  local size, one_line = n * 2, true
  for i = 1, n do
    local e = entries[i]
    if find(e, "\n", 1, true) then
      one_line = false
      break
    end
    size = size + #e
  end
  if one_line and size <= avail then return "{" .. concat(entries, ", ", 1, n) .. "}" end

  local lines, count = lines_of(entries, flat, n, inner)
  return "{\n" .. indent .. concat(lines, ",\n" .. indent, 1, count) .. "\n" .. rep("  ", depth - 1) .. "}"
end

function render(v, depth, avail, st)
  local tv = type(v)
  if tv ~= "table" then return scalar(v, tv, false) end
  if has_tostring(v) then return via_tostring(v) end
  return render_table(v, depth, avail, st)
end

---------------------------------------------------------------------------------------------------
-- The module

local function check_count(opts, field, least_value)
  local v = opts[field]
  if v == nil then return M.defaults[field] end
  if math_type(v) ~= "integer" or v < least_value then
    engine.raise(format("bad option '%s' to 'format' (integer >= %d expected, got %s)", field,
                        least_value, math_type(v) and tostring(v) or type(v)))
  end
  return v
end

---@class cru.display.FormatOpts
---@field max_depth? integer nesting levels shown; deeper tables show as {...} (default: 4)
---@field max_items? integer entries shown per table, then "... (N more)" (default: 100)
---@field width? integer columns a line aims for (default: 80)
---@field quote? boolean false shows a string value as it is, unquoted (default: true)

--- Formats any value as readable, deterministic text (what a cell's result shows).
---@param value any
---@param opts? cru.display.FormatOpts
---@return string
function M.format(value, opts)
  local tv = type(value)
  local raw = false
  local defaults = M.defaults
  local max_depth, max_items, width = defaults.max_depth, defaults.max_items, defaults.width
  if opts ~= nil then
    if type(opts) ~= "table" then engine.bad_argument(2, "format", "table", type(opts)) end
    max_depth = check_count(opts, "max_depth", 0)
    max_items = check_count(opts, "max_items", 1)
    width = check_count(opts, "width", 1)
    raw = rawequal(opts.quote, false)
  end
  if tv ~= "table" then return scalar(value, tv, raw) end
  if has_tostring(value) then return via_tostring(value) end
  local st = {
    path = {},
    max_depth = max_depth,
    max_items = max_items,
    width = width,
    less = byte_order_collation() and LESS_C or LESS_BYTES,
  }
  return render_table(value, 1, width, st)
end

-- A string of several lines as a long-bracket block, `[[` and a newline (which Lua skips) before
-- it, so it reads as the text it is and is still the Lua literal of that string; nil when it
-- holds control characters other than newlines and tabs (those read better as escapes).
local function block(s)
  if find((gsub(s, "[\n\t]", "")), "%c") then return nil end
  local level = 0
  while true do
    local close = "]" .. rep("=", level) .. "]"
    -- the closing bracket must first appear where it is put, not inside (or at the end of) s
    if find(s .. close, close, 1, true) == #s + 1 then
      local eq = rep("=", level)
      return "[" .. eq .. "[\n" .. s .. close
    end
    level = level + 1
  end
end

--- Formats a cell's result: a string quoted, as Lua would write it (one of several lines as a
--- `[[...]]` block when `multiline` allows it), anything else as M.show does.
---@param value any
---@param multiline? boolean
---@return string
function M.result(value, multiline)
  if type(value) == "string" then
    if multiline and find(value, "\n", 1, true) then
      local text = block(value)
      if text then return text end
    end
    return quote(value)
  end
  return M.show(value)
end

--- Formats a value for display(): a top-level string as it is, the rest as M.format with the
--- default options.
---@param value any
---@return string
function M.show(value)
  local tv = type(value)
  if tv == "string" then return value end
  if tv ~= "table" then return scalar(value, tv, true) end
  if has_tostring(value) then return via_tostring(value) end
  local defaults = M.defaults
  return render_table(value, 1, defaults.width, {
    path = {},
    max_depth = defaults.max_depth,
    max_items = defaults.max_items,
    width = defaults.width,
    less = byte_order_collation() and LESS_C or LESS_BYTES,
  })
end

return M
