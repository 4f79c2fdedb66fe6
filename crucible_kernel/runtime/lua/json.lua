-- cru.json: encode, decode, array, null.
--
-- The reference is serde_json driven through mlua; this is a pure-Lua port of what it does, so
-- that no value has to cross into Python (lupa charges ~200 ns per crossing, which would cost
-- more than the whole job). Encoding sorts object keys (the contract's example is sorted) and
-- formats floats as ryu does. Decoding has two parsers: a fast one that leans on string.match
-- and gives up on anything unusual, and an exact port of serde_json's parser that then runs from
-- the start and produces either the value or serde_json's error message with its line and column.
-- Both directions take the engine's count hook off on big inputs and check for interrupts
-- themselves (see Work).

local engine = ...
local raise, bad_argument = engine.raise, engine.bad_argument

local type, next, rawlen, rawget, rawequal = type, next, rawlen, rawget, rawequal
-- The debug versions, as mlua works on the raw metatable: a __metatable field neither hides the
-- array metatable nor stops cru.json.array from replacing a protected one.
local getmetatable, setmetatable = debug.getmetatable, debug.setmetatable
local tostring, tonumber = tostring, tonumber
local pcall, error, ipairs, load = pcall, error, ipairs, load
local byte, char, find, format = string.byte, string.char, string.find, string.format
local gsub, match, rep, sub = string.gsub, string.match, string.rep, string.sub
local pack, unpack = string.pack, string.unpack
local concat, sort = table.concat, table.sort
local mtype, huge, min = math.type, math.huge, math.min
local utf8char, utf8len = utf8.char, utf8.len

local M = {}

---------------------------------------------------------------------------------------------------
-- The JSON null sentinel: a userdata like mlua's light-userdata NULL (truthy, type "userdata",
-- printed "userdata: (nil)"), one value for the whole runtime so `v == cru.json.null` works.

-- No __name on either metatable: error messages and tostring then read as they do for mlua's
-- values ("attempt to index a userdata value", "table: 0x...").
local NULL = engine.new_object({__tostring = function() return "userdata: (nil)" end})

-- The array metatable (mlua's): set by decode on every array and by cru.json.array.
local ARRAY_MT = {}

---------------------------------------------------------------------------------------------------
-- Floats, as ryu's pretty format: the shortest digits that read back as the same double, then
--   1234e7 -> 12340000000.0   1234e-2 -> 12.34   1234e-6 -> 0.001234   1e30   1.234e33
-- (fixed notation while the decimal point is within 16 digits, always a ".0" or an exponent).

local function layout(s)
  local sign, int, frac, exp = match(s, "^(-?)(%d*)%.?(%d*)e?([-+]?%d*)$")
  local digits = int .. frac
  local k = (tonumber(exp) or 0) - #frac
  local lead = #match(digits, "^0*")
  local trail = #match(digits, "0*$")
  digits = sub(digits, lead + 1, #digits - trail)
  k = k + trail
  local length = #digits
  local kk = length + k -- 10^(kk-1) <= |x| < 10^kk
  if k >= 0 and kk <= 16 then
    return sign .. digits .. rep("0", k) .. ".0"
  elseif kk > 0 and kk <= 16 then
    return sign .. sub(digits, 1, kk) .. "." .. sub(digits, kk + 1)
  elseif kk > -5 and kk <= 0 then
    return sign .. "0." .. rep("0", -kk) .. digits
  elseif length == 1 then
    return sign .. digits .. "e" .. (kk - 1)
  end
  return sign .. sub(digits, 1, 1) .. "." .. sub(digits, 2) .. "e" .. (kk - 1)
end

-- The shortest round-tripping digits. For a normal double, a correctly rounded decimal with up
-- to 15 significant digits is the shortest when one exists; at 16 the nearest one can miss only
-- just above a power of two (the gap below is half the gap above), where its neighbour on the
-- far side may not.
local function shortest(x)
  if x > -2.2250738585072014e-308 and x < 2.2250738585072014e-308 then
    -- subnormal: fewer significant digits than a normal double, so count up from one
    for p = 1, 17 do
      local s = format("%." .. p .. "g", x)
      if tonumber(s) == x then return s, true end
    end
  end
  local s = format("%.15g", x)
  if tonumber(s) == x then return s, true end
  s = format("%.16g", x)
  if tonumber(s) == x then return s, true end
  if unpack("<i8", pack("<d", x)) & 0xFFFFFFFFFFFFF == 0 then
    local sign, d, ds, e = match(format("%.15e", x), "^(-?)(%d)%.(%d+)e([-+]%d+)$")
    local m, e10 = tonumber(d .. ds), tonumber(e) - 15
    local up, down = format("%s%de%d", sign, m + 1, e10), format("%s%de%d", sign, m - 1, e10)
    if tonumber(up) == x then return up, false end
    if tonumber(down) == x then return down, false end
  end
  return format("%.17g", x), true
end

local function float_text(x)
  if x ~= x or x == huge or x == -huge then return "null" end
  if x == 0 then return 1 / x < 0 and "-0.0" or "0.0" end
  local s, plain = shortest(x)
  -- %g already wrote ryu's text when it used fixed notation with a point, or an integer short
  -- enough for ryu to keep fixed.
  if plain and not find(s, "e", 1, true) then
    if find(s, ".", 1, true) then return s end
    if #s - (x < 0 and 1 or 0) <= 16 then return s .. ".0" end
  end
  return layout(s)
end

---------------------------------------------------------------------------------------------------
-- Encoding.

-- serde_json's escapes: the short forms it has, \u00XX (lowercase hex) for other controls.
local ESC = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
             ["\r"] = "\\r", ["\t"] = "\\t"}
for b = 0, 31 do
  local c = char(b)
  if not ESC[c] then ESC[c] = format("\\u%04x", b) end
end

local SPECIAL = '[\0-\31"\\\128-\255]' -- anything needing a second look
local ESCAPED = '[\0-\31"\\]'
local HIGH = "[\128-\255]"

-- A string that is not UTF-8 goes out as an array of its bytes (serde's serialize_bytes).
local function byte_array(v)
  local parts, len = {}, #v
  for i = 1, len, 4096 do
    parts[#parts + 1] = concat({byte(v, i, min(i + 4095, len))}, ",")
  end
  return "[" .. concat(parts, ",") .. "]"
end

local function quote(v)
  if find(v, HIGH) and not utf8len(v) then return byte_array(v) end
  if find(v, ESCAPED) then v = gsub(v, ESCAPED, ESC) end
  return '"' .. v .. '"'
end

-- Lua compares strings with strcoll; under a non-C collation locale keys are sorted bytewise.
local bytewise, byte_order_collation = engine.bytes_less, engine.collation_is_bytewise

-- A cycle shows up as a table met again on the current path. Paths deeper than this are the only
-- ones checked: a cycle repeats forever, so it is caught there too, and the common shallow case
-- pays nothing.
local CHECK_DEPTH = 100

local encode_value -- forward

local function scalar(v, tv)
  if tv == "string" then
    if find(v, SPECIAL) then return quote(v) end
    return '"' .. v .. '"'
  elseif tv == "number" then
    if mtype(v) == "integer" then return tostring(v) end
    return float_text(v)
  elseif tv == "boolean" then
    return v and "true" or "false"
  elseif tv == "nil" then
    return "null"
  elseif rawequal(v, NULL) then
    return "null"
  end
  raise(format("cannot serialize <%s>", tv))
end

local function encode_key(k)
  local tk = type(k)
  if tk == "string" then
    if find(k, SPECIAL) then
      local q = quote(k)
      if byte(q) ~= 34 then raise("key must be a string") end -- serde: bytes are no key
      return q
    end
    return '"' .. k .. '"'
  elseif tk == "number" and mtype(k) == "integer" then
    return '"' .. k .. '"'
  end
  raise("key must be a string")
end

-- Puts the text of non-table `v` at buf[n]. Integers go in as they are (table.concat writes them
-- as %d); floats too, noted in st.floats, to be formatted in one go at the end.
local function put(v, tv, buf, n, st)
  if tv == "string" then
    local strs = st.strs
    local q = strs[v]
    if not q then
      if find(v, SPECIAL) then q = quote(v) else q = '"' .. v .. '"' end
      strs[v] = q
    end
    buf[n] = q
  elseif tv == "number" then
    buf[n] = v
    if mtype(v) == "float" then
      local nf = st.nf + 1
      st.nf = nf
      st.floats[nf] = n
    end
  else
    buf[n] = scalar(v, tv)
  end
end

local function encode_array(t, len, raw, buf, n, st, depth)
  if raw then
    -- a metatable (the array one too, whose __index a user may set): copy the sequence out with
    -- rawget, so holes stay holes and no metamethod runs while the hook is off
    local copy = {}
    for i = 1, len do copy[i] = rawget(t, i) end
    t = copy
  end
  n = n + 1
  buf[n] = "["
  local strs = st.strs
  for i = 1, len do
    if i > 1 then
      n = n + 1
      buf[n] = ","
      if i & 1023 == 0 then st:tick() end
    end
    local v = t[i]
    local tv = type(v)
    n = n + 1
    if tv == "string" then
      local q = strs[v]
      if not q then
        if find(v, SPECIAL) then q = quote(v) else q = '"' .. v .. '"' end
        strs[v] = q
      end
      buf[n] = q
    elseif tv == "table" then
      n = encode_value(v, buf, n - 1, st, depth + 1)
    else
      put(v, tv, buf, n, st)
    end
  end
  n = n + 1
  buf[n] = "]"
  return n
end

-- An object with integer keys (or a key that cannot be one: error). Rare, so plainly done.
local function encode_mixed(t, keys, m, buf, n, st, depth)
  local fields = {}
  for i = 1, m do
    local k = keys[i]
    local tk = type(k)
    if tk ~= "string" and (tk ~= "number" or mtype(k) ~= "integer") then
      raise("key must be a string")
    end
    fields[i] = {tostring(k), t[k]}
  end
  local less = st.bytewise and bytewise or function(a, b) return a < b end
  sort(fields, function(a, b) return less(a[1], b[1]) end)
  for i = 1, m do
    n = n + 1
    buf[n] = (i == 1 and "{" or ",") .. encode_key(fields[i][1]) .. ":"
    local v = fields[i][2]
    local tv = type(v)
    if tv == "table" then
      n = encode_value(v, buf, n, st, depth + 1)
    else
      n = n + 1
      put(v, tv, buf, n, st)
    end
  end
  n = n + 1
  buf[n] = "}"
  return n
end

-- The keys of object `t` in the order they go out, their count, and whether all are strings.
-- Records of one shape tend to follow each other: when next() gives `t`'s keys in the order it
-- gave the last object's at this depth, that object's sorted list serves again (sorting, and a
-- fresh table per object, took about a seventh of the encoder's time on bench_oq's document).
local function object_keys(t, st, depth)
  local order, keys = st.order[depth], st.sorted[depth]
  if not order then
    order, keys = {}, {}
    st.order[depth], st.sorted[depth] = order, keys
  end
  local m, same, plain = 0, true, true
  for k in next, t do
    m = m + 1
    if same and order[m] ~= k then same = false end
    if not same then order[m] = k end
    if type(k) ~= "string" then plain = false end
  end
  if same and order[m + 1] == nil then return keys, m, plain end
  for i = m + 1, #order do order[i] = nil end
  for i = 1, m do keys[i] = order[i] end
  for i = m + 1, #keys do keys[i] = nil end
  if plain and m > 1 then
    if st.bytewise then sort(keys, bytewise) else sort(keys) end
  end
  return keys, m, plain
end

local function encode_object(t, buf, n, st, depth)
  local keys, m, plain = object_keys(t, st, depth)
  if m == 0 then
    n = n + 1
    buf[n] = "{}"
    return n
  end
  if not plain then
    -- integer keys go out as decimal strings, sorted with the others
    return encode_mixed(t, keys, m, buf, n, st, depth)
  end
  local first, rest, strs = st.first, st.rest, st.strs
  for i = 1, m do
    local k = keys[i]
    local prefix
    if i == 1 then
      prefix = first[k]
      if not prefix then
        prefix = "{" .. encode_key(k) .. ":"
        first[k] = prefix
      end
    else
      prefix = rest[k]
      if not prefix then
        prefix = "," .. encode_key(k) .. ":"
        rest[k] = prefix
      end
    end
    n = n + 1
    buf[n] = prefix
    local v = t[k] -- a key next() gave: a raw read, whatever the metatable
    local tv = type(v)
    n = n + 1
    if tv == "string" then
      local q = strs[v]
      if not q then
        if find(v, SPECIAL) then q = quote(v) else q = '"' .. v .. '"' end
        strs[v] = q
      end
      buf[n] = q
    elseif tv == "table" then
      n = encode_value(v, buf, n - 1, st, depth + 1)
    else
      put(v, tv, buf, n, st)
    end
  end
  n = n + 1
  buf[n] = "}"
  return n
end

function encode_value(v, buf, n, st, depth)
  local tv = type(v)
  if tv ~= "table" then
    n = n + 1
    put(v, tv, buf, n, st)
    return n
  end
  local budget = st.budget - 1
  st.budget = budget
  if budget <= 0 then st:tick() end
  local path = depth > CHECK_DEPTH and st.path
  if path then
    if path[v] then raise("recursive table detected") end
    path[v] = true
  end
  local len, mt = rawlen(v), getmetatable(v)
  if len > 0 then
    n = encode_array(v, len, mt ~= nil and (mt ~= ARRAY_MT or rawget(mt, "__index") ~= nil), buf, n, st, depth)
  elseif mt == ARRAY_MT then
    n = n + 1
    buf[n] = "[]"
  else
    n = encode_object(v, buf, n, st, depth)
  end
  if path then path[v] = nil end
  return n
end

---------------------------------------------------------------------------------------------------
-- The interrupt hook. The engine's count hook makes every Lua instruction take a slow path; on a
-- big document that costs a fifth of the time. Past a size, encode and decode take it off and
-- call it themselves every so often (it is what notices an interrupt), and put it back however
-- they end (a to-be-closed state). No user code runs meanwhile (nothing here calls a metamethod
-- or a callback), finalizers aside.

local unhook, rearm, check_interrupt = engine.unhook, engine.rearm, engine.check_interrupt
local TICK = 1024 -- containers between two interrupt checks

local Work = {}
Work.__index = Work
Work.__close = function(w)
  if w.unhooked then
    w.unhooked = nil
    rearm()
  end
end

--- Called every TICK containers: the first time takes the hook off, later ones run its check.
--- A hook the user set stays in place (and checks for interrupts itself).
function Work:tick()
  self.budget = TICK
  if self.unhooked then return check_interrupt() end
  if self.tried then return end
  self.tried = true
  self.unhooked = unhook()
end

local function work(fields)
  fields.budget = fields.budget or TICK
  return setmetatable(fields, Work)
end

-- A float as text that reads back as the same double, without looking for the shortest one:
-- for JSON that only a program reads (cru.oq hands documents to jq this way).
local function exact_float_text(x)
  if x ~= x or x == huge or x == -huge then return "null" end
  local s = format("%.17g", x)
  if not find(s, "[.e]") then s = s .. ".0" end
  return s
end

local function encode_with(value, float_text)
  local tv = type(value)
  if tv ~= "table" then return scalar(value, tv) end
  local st <close> = work({first = {}, rest = {}, strs = {}, path = {}, floats = {}, nf = 0,
                           order = {}, sorted = {}, bytewise = not byte_order_collation(),
                           budget = 64})
  local buf = {}
  local n = encode_value(value, buf, 0, st, 1)
  local floats = st.floats
  for i = 1, st.nf do
    local at = floats[i]
    buf[at] = float_text(buf[at])
  end
  return concat(buf, "", 1, n)
end

--- The compact JSON text of `value`.
function M.encode(value)
  return encode_with(value, float_text)
end

--- As encode, with floats written exactly but not in their shortest form (for machines).
function M.encode_exact(value)
  return encode_with(value, exact_float_text)
end

---------------------------------------------------------------------------------------------------
-- The exact parser: serde_json's Deserializer over a &str, step for step, producing the value
-- mlua would (see `fast` below for the usual path). `i` is serde's index: bytes consumed so far.
-- Errors name a position as serde does: error() the index itself, peek_error() one byte further.

local SIMPLE_ESC = {[34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f",
                    [110] = "\n", [114] = "\r", [116] = "\t"}

local MAX_DEPTH = 127 -- serde_json's recursion limit (128) counts the failing level too

local function position(s, i)
  local line, start = 1, 0
  local p = find(s, "\n", 1, true)
  while p and p <= i do
    line, start = line + 1, p
    p = find(s, "\n", p + 1, true)
  end
  return line, i - start
end

local function exact(s)
  local len = #s
  local i = 0

  local function fail_at(code, at)
    local line, col = position(s, at)
    error({json_error = format("%s at line %d column %d", code, line, col)}, 0)
  end
  local function err(code) fail_at(code, i) end
  local function peek_err(code) fail_at(code, min(len, i + 1)) end
  local function peek() return byte(s, i + 1) end

  local function whitespace()
    while true do
      local c = byte(s, i + 1)
      if c == 32 or c == 10 or c == 9 or c == 13 then i = i + 1 else return c end
    end
  end

  local function ident(word, value)
    for k = 1, #word do
      local c = byte(s, i + 1)
      if c == nil then err("EOF while parsing a value") end
      i = i + 1
      if c ~= byte(word, k) then err("expected ident") end
    end
    return value
  end

  local function digits()
    local _, e = find(s, "^%d*", i + 1)
    local any = e >= i + 1
    i = e
    return any
  end

  -- serde reads the exponent into an i32 and gives up (number out of range, unless the
  -- significand is zero or the exponent negative) on the digit that overflows it.
  local function exponent(zero)
    i = i + 1 -- e / E
    local c = peek()
    local positive = true
    if c == 43 or c == 45 then
      positive = c == 43
      i = i + 1
    end
    c = byte(s, i + 1)
    if c == nil then err("EOF while parsing a value") end
    i = i + 1
    if c < 48 or c > 57 then err("invalid number") end
    local e = c - 48
    while true do
      c = peek()
      if not c or c < 48 or c > 57 then break end
      i = i + 1
      local d = c - 48
      if e >= 214748364 and (e > 214748364 or d > 7) then
        if not zero and positive then err("number out of range") end
        digits()
        return false
      end
      e = e * 10 + d
    end
    return true
  end

  local function number(start)
    -- i is past the optional '-'
    local c = byte(s, i + 1)
    if c == nil then err("EOF while parsing a value") end
    i = i + 1
    if c == 48 then
      local p = peek()
      if p and p >= 48 and p <= 57 then peek_err("invalid number") end
    elseif c >= 49 and c <= 57 then
      digits()
    else
      err("invalid number")
    end
    local finite = true
    local p = peek()
    if p == 46 then
      i = i + 1
      if not digits() then
        if peek() then peek_err("invalid number") else peek_err("EOF while parsing a value") end
      end
      p = peek()
    end
    if p == 101 or p == 69 then
      finite = exponent(not find(sub(s, start, i), "[1-9]"))
    end
    if not finite then return byte(s, start) == 45 and -0.0 or 0.0 end
    local v = tonumber(sub(s, start, i))
    if v == huge or v == -huge then err("number out of range") end
    return v
  end

  local function hex4()
    if i + 4 > len then
      i = len
      err("EOF while parsing a string")
    end
    local h = sub(s, i + 1, i + 4)
    i = i + 4
    if not find(h, "^%x%x%x%x$") then err("invalid escape") end
    return tonumber(h, 16)
  end

  local function str()
    -- i is past the opening quote
    local parts, np = {}, 0
    local start = i + 1
    while true do
      local e = find(s, '["\\\0-\31]', i + 1)
      if not e then
        i = len
        err("EOF while parsing a string")
      end
      local c = byte(s, e)
      np = np + 1
      parts[np] = sub(s, start, e - 1)
      i = e
      if c == 34 then return concat(parts, "", 1, np) end
      if c ~= 92 then err("control character (\\u0000-\\u001F) found while parsing a string") end
      local x = byte(s, i + 1)
      if x == nil then err("EOF while parsing a string") end
      i = i + 1
      local simple = SIMPLE_ESC[x]
      if simple then
        np = np + 1
        parts[np] = simple
      elseif x == 117 then
        local cp = hex4()
        if cp >= 0xDC00 and cp <= 0xDFFF then err("lone leading surrogate in hex escape") end
        if cp >= 0xD800 and cp <= 0xDBFF then
          local q = peek()
          if q == nil then err("EOF while parsing a string") end
          i = i + 1
          if q ~= 92 then err("unexpected end of hex escape") end
          q = peek()
          if q == nil then err("EOF while parsing a string") end
          i = i + 1
          if q ~= 117 then err("unexpected end of hex escape") end
          local lo = hex4()
          if lo < 0xDC00 or lo > 0xDFFF then err("lone leading surrogate in hex escape") end
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
        end
        np = np + 1
        parts[np] = utf8char(cp)
      else
        err("invalid escape")
      end
      start = i + 1
    end
  end

  local value -- forward

  local function array(depth)
    local t, n = setmetatable({}, ARRAY_MT), 0
    local first = true
    while true do
      local c = whitespace()
      if c == 93 then break end
      if c == 44 and not first then
        i = i + 1
        c = whitespace()
      elseif c == nil then
        peek_err("EOF while parsing a list")
      elseif first then
        first = false
      else
        peek_err("expected `,` or `]`")
      end
      if c == 93 then peek_err("trailing comma") end
      if c == nil then peek_err("EOF while parsing a value") end
      n = n + 1
      t[n] = value(depth)
    end
    i = i + 1
    return t
  end

  local function object(depth)
    local t = {}
    local first = true
    while true do
      local c = whitespace()
      if c == 125 then break end
      if c == 44 and not first then
        i = i + 1
        c = whitespace()
      elseif c == nil then
        peek_err("EOF while parsing an object")
      elseif first then
        first = false
      else
        peek_err("expected `,` or `}`")
      end
      if c == 34 then
        i = i + 1
        local k = str()
        c = whitespace()
        if c == 58 then
          i = i + 1
        elseif c == nil then
          peek_err("EOF while parsing an object")
        else
          peek_err("expected `:`")
        end
        t[k] = value(depth)
      elseif c == 125 then
        peek_err("trailing comma")
      elseif c == nil then
        peek_err("EOF while parsing a value")
      else
        peek_err("key must be a string")
      end
    end
    i = i + 1
    return t
  end

  function value(depth)
    local c = whitespace()
    if c == nil then peek_err("EOF while parsing a value") end
    if c == 34 then
      i = i + 1
      return str()
    elseif c == 45 then
      local start = i + 1
      i = i + 1
      return number(start)
    elseif c >= 48 and c <= 57 then
      return number(i + 1)
    elseif c == 123 or c == 91 then
      if depth >= MAX_DEPTH then peek_err("recursion limit exceeded") end
      i = i + 1
      if c == 123 then return object(depth + 1) end
      return array(depth + 1)
    elseif c == 110 then
      i = i + 1
      return ident("ull", NULL)
    elseif c == 116 then
      i = i + 1
      return ident("rue", true)
    elseif c == 102 then
      i = i + 1
      return ident("alse", false)
    end
    peek_err("expected value")
  end

  local v = value(0)
  if whitespace() then peek_err("trailing characters") end
  return v
end

---------------------------------------------------------------------------------------------------
-- The fast parser. One string.match takes a whole token with the separator after it, so a
-- string or a number costs one match (plus a tonumber). Whitespace between tokens is fine.
-- Anything it does not expect, every error included, makes it give up; `exact` then starts over.
--
-- It also guesses. Objects in one place (the records of an array, the values of one key) mostly
-- repeat their keys in the same order with values of the same kind, and arrays their kind of
-- element: each place (a table passed down as `ctx`) remembers what it saw, and the next value
-- there is first tried with a pattern made for it. An object field as guessed costs one match
-- for key, value and separator together, and no new key string.

local GIVE_UP = setmetatable({}, {__tostring = function() return "json: fast path gave up" end})
local function give_up() error(GIVE_UP, 0) end

-- Kinds of value, as small integers (cheap to compare): a string without escapes, a literal,
-- numbers by shape, an object, an array, anything else. The number shapes are the ones Lua reads
-- as JSON does: integers without a leading zero, zero, decimals from 1 up and below 1. Others
-- (exponents, and the invalid "01", "1.", ".5") go the slow way, through `number`.
local K_STR, K_LIT, K_INT, K_ZERO, K_DEC, K_FRAC, K_OBJ, K_ARR, K_ANY = 1, 2, 3, 4, 5, 6, 7, 8, 9
local K_QUOTE = 0 -- not a kind: for node_pattern, "where the string starts"
local NUMBERS = {[K_INT] = "(-?[1-9]%d*)", [K_ZERO] = "(-?0)", [K_DEC] = "(-?[1-9]%d*%.%d+)",
                 [K_FRAC] = "(-?0%.%d+)"}
-- true, false and null: the word, then a look-up (what is not one of them gives up).
local LITERAL, LITERALS = "([a-z]+)", {["true"] = true, ["false"] = false, null = NULL}

-- Three sets of patterns. A document without control characters (compact JSON, or spaced with
-- blanks only) gets simpler character classes, which match a quarter faster; one that looks
-- compact gets guesses without whitespace at all (a wrong look costs time, never correctness).
-- Captures cost (a string each), so the patterns run per value take the value and a position.
local function patterns(clean, tight)
  local W = clean and " *" or "[ \t\n\r]*"
  local WP = tight and "" or W -- in the guesses
  local STR = clean and '"([^"\\]*)"' or '"([^"\\\0-\31]*)"' -- a string without escapes
  local set = {
    clean = clean,
    WP = WP,
    VALUE = {[K_STR] = STR, [K_LIT] = LITERAL}, -- the value of a kind, for the guesses
    FIRST = "^" .. W .. "()(.?)", -- where the next value starts, and its first character
    STRING = "^" .. STR .. "()",
    KEY = "^" .. W .. STR .. W .. ":" .. W .. "()(.?)",
    COLON = "^" .. W .. ":" .. W .. "()(.?)",
    EMPTY_OBJECT = "^" .. W .. "}()",
    SEP_A = "^" .. W .. "([,%]])()",
    SEP_O = "^" .. W .. "([,}])()",
    STR_O = "^" .. STR .. W .. "([,}])()",
    COMMA = "^" .. WP .. ",()",
    CLOSE = "^" .. WP .. "}()",
    ITEM = { -- a guessed array element and the separator after it (a container: where it starts)
      [K_STR] = "^" .. WP .. STR .. WP .. "([,%]])()",
      [K_LIT] = "^" .. WP .. LITERAL .. WP .. "([,%]])()",
      [K_OBJ] = "^" .. WP .. "()%{",
      [K_ARR] = "^" .. WP .. "()%[",
    },
    NUM_A = {}, -- a number and whichever separator, in an array and in an object
    NUM_O = {},
  }
  for kind = K_INT, K_FRAC do
    local num = NUMBERS[kind]
    set.VALUE[kind] = num
    set.ITEM[kind] = "^" .. WP .. num .. WP .. "([,%]])()"
    set.NUM_A[kind] = "^" .. num .. W .. "([,%]])()"
    set.NUM_O[kind] = "^" .. num .. W .. "([,}])()"
  end
  return set
end
local TIGHT, CLEAN, GENERAL = patterns(true, true), patterns(true), patterns(false)
local MODE, FIRST, STRING, KEY, COLON, EMPTY_OBJECT, SEP_A, SEP_O, STR_O, COMMA, CLOSE, ITEM
local NUM_A, NUM_O

local function use(p)
  MODE = p
  FIRST, STRING, KEY, COLON, EMPTY_OBJECT = p.FIRST, p.STRING, p.KEY, p.COLON, p.EMPTY_OBJECT
  SEP_A, SEP_O, STR_O, COMMA, CLOSE, ITEM = p.SEP_A, p.SEP_O, p.STR_O, p.COMMA, p.CLOSE, p.ITEM
  NUM_A, NUM_O = p.NUM_A, p.NUM_O
end

local NUM_START = {["-"] = true}
for d = 0, 9 do NUM_START[tostring(d)] = true end

-- The interrupt check while decoding (see Work): every TICK containers.
local ticks, decoding = TICK, nil
local function tick()
  ticks = TICK
  if decoding then decoding:tick() end
end

-- Strings with escapes. The closing quote is the first one after an even run of backslashes.
-- Usually the escapes then go by table-driven gsubs: the short ones, then \u escapes of code
-- points met before (cached, pairs of surrogates too). When a backslash is left (an escaped
-- backslash, a new code point, an invalid escape) the careful way runs instead: one gsub whose
-- callback sees each escape with the (up to four) hex digits after it ("\\u0041" stays "\" +
-- "u0041" because the pair is consumed first), a high surrogate waiting for the low one that
-- must follow at once.
local UNESCAPE = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r",
                  t = "\t"}
local CODE_POINTS, PAIRS = {}, {} -- "00e9" -> "é", "d83c\\udf89" -> "🎉", filled by `unescape`
local cache_room = 8192 -- entries the two may still take
local high, high_hex, high_end -- a pending high surrogate, its hex digits, where its escape ended

local function unescape(at, c, hex, after)
  if high then
    if at ~= high_end or c ~= "u" or #hex ~= 4 then give_up() end
    local lo = tonumber(hex, 16)
    if lo < 0xDC00 or lo > 0xDFFF then give_up() end
    local text = utf8char(0x10000 + ((high - 0xD800) << 10) + (lo - 0xDC00))
    local key = high_hex .. "\\u" .. hex
    if cache_room > 0 and not PAIRS[key] then
      cache_room = cache_room - 1
      PAIRS[key] = text
    end
    high = nil
    return text
  end
  if c == "u" then
    if #hex ~= 4 then give_up() end
    local cp = tonumber(hex, 16)
    if cp >= 0xD800 and cp <= 0xDFFF then
      if cp >= 0xDC00 then give_up() end
      high, high_hex, high_end = cp, hex, after
      return ""
    end
    local text = utf8char(cp)
    if cache_room > 0 and not CODE_POINTS[hex] then
      cache_room = cache_room - 1
      CODE_POINTS[hex] = text
    end
    return text
  end
  local r = UNESCAPE[c]
  if not r then give_up() end
  return r .. hex
end

-- A string the string patterns did not take; pos is at its opening quote. Returns the text and
-- the position after the closing quote. (With control characters in the document, a slower
-- loop that also refuses them inside strings.)
local function escaped_string(s, pos)
  if MODE.clean then
    local q = find(s, '"', pos + 1, true)
    while q and byte(s, q - 1) == 92 do
      local k = q - 2
      while byte(s, k) == 92 do k = k - 1 end
      if (q - 1 - k) % 2 == 0 then break end -- an even run: the quote is not escaped
      q = find(s, '"', q + 1, true)
    end
    if not q then give_up() end
    local raw = sub(s, pos + 1, q - 1)
    if not find(raw, "\\\\", 1, true) then
      -- without an escaped backslash, no backslash comes out of the short escapes, so one left
      -- after them can only start a \u escape (or an invalid one)
      local v = gsub(raw, "\\(.)", UNESCAPE)
      if find(v, "\\", 1, true) then
        v = gsub(v, "\\u([dD][89abAB]%x%x\\u%x%x%x%x)", PAIRS)
        v = gsub(v, "\\u(%x%x%x%x)", CODE_POINTS)
      end
      if not find(v, "\\", 1, true) then return v, q + 1 end
    end
    high = nil
    local v = gsub(raw, "()\\(.)(%x?%x?%x?%x?)()", unescape)
    if high then give_up() end
    return v, q + 1
  end
  local parts, np = {}, 0
  local i = pos + 1
  while true do
    local e = find(s, '["\\\0-\31]', i)
    if not e then give_up() end
    np = np + 1
    parts[np] = sub(s, i, e - 1)
    local c, x = byte(s, e, e + 1)
    if c == 34 then return concat(parts, "", 1, np), e + 1 end
    if c ~= 92 then give_up() end
    local simple = SIMPLE_ESC[x]
    np = np + 1
    if simple then
      parts[np] = simple
      i = e + 2
    elseif x == 117 then
      local h = match(s, "^%x%x%x%x", e + 2)
      if not h then give_up() end
      local cp = tonumber(h, 16)
      i = e + 6
      if cp >= 0xD800 and cp <= 0xDFFF then
        local lo = cp <= 0xDBFF and match(s, "^\\u(%x%x%x%x)", i)
        lo = lo and tonumber(lo, 16)
        if not lo or lo < 0xDC00 or lo > 0xDFFF then give_up() end
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
        i = i + 6
      end
      parts[np] = utf8char(cp)
    else
      give_up()
    end
  end
end

-- Any number, the slow way; returns it and the position after it.
local function number(s, pos)
  local text, p = match(s, "^(-?[%d.eE+-]+)()", pos)
  local v = text and tonumber(text)
  if not v or v == huge or v == -huge then give_up() end
  -- JSON's grammar, where Lua reads more ("01", "1.", ".5", "1.e5", "0x"...)
  if find(text, "^-?0%d") or not (find(text, "^-?%d+$") or find(text, "^-?%d+%.%d+$")
      or find(text, "^-?%d+%.%d+[eE][-+]?%d+$") or find(text, "^-?%d+[eE][-+]?%d+$")) then
    give_up()
  end
  return v, p
end

local fast_value -- forward

-- The text of a number of a known shape, as a number.
local function to_number(text)
  local v = tonumber(text)
  if v == huge or v == -huge then give_up() end -- an integer of more than 309 digits
  return v
end

-- The value at p (first character ch) the general way: the value, the position after it, its
-- kind, and the separator after it when the pattern took that too (NUM: NUM_A or NUM_O).
local function any_value(s, p, ch, depth, ctx, NUM)
  if ch == '"' then
    local v, q = match(s, STRING, p)
    if v then return v, q, K_STR end
    v, q = escaped_string(s, p)
    return v, q, K_STR -- escapes are the exception: keep guessing a plain string
  end
  if NUM_START[ch] then
    for kind = K_INT, K_FRAC do
      local v, sep, q = match(s, NUM[kind], p)
      if v then return to_number(v), q, kind, sep end
    end
    local v, q = number(s, p)
    return v, q, K_ANY
  end
  local v, q = fast_value(s, p, ch, depth, ctx)
  if ch == "{" then return v, q, K_OBJ end
  if ch == "[" then return v, q, K_ARR end
  if ch == "t" or ch == "f" or ch == "n" then return v, q, K_LIT end
  return v, q, K_ANY
end

-- Tables with room for n array items ({nil, nil} sizes the array part without filling it):
-- growing one item at a time rehashes at every power of two, which costs more than the items.
local NEW_ARRAY = {}
for _, size in ipairs({2, 4, 8, 16, 32}) do
  local new = load("return function() return {" .. rep("nil,", size) .. "} end")()
  for n = size // 2 + 1, size do NEW_ARRAY[n] = new end
end
NEW_ARRAY[1] = NEW_ARRAY[2]

local fast_object -- forward

-- Arrays remember, in their place, the kind and count of their elements: they try that kind
-- first (then the other number shapes), and make room for that many. Their elements' own
-- contents get a place of their own.
local function fast_array(s, pos, depth, ctx)
  if depth >= MAX_DEPTH then give_up() end
  ticks = ticks - 1
  if ticks == 0 then tick() end
  depth = depth + 1
  local new = NEW_ARRAY[ctx.count]
  local t, n = setmetatable(new and new() or {}, ARRAY_MT), 0
  local p = pos + 1
  local kind = ctx.items
  local inner = ctx.inner
  if not inner then
    inner = {}
    ctx.inner = inner
  end
  while true do
    local v, sep, q
    if kind == K_OBJ or kind == K_ARR then
      q = match(s, ITEM[kind], p)
      if q then
        if kind == K_OBJ then
          v, q = fast_object(s, q, depth, inner)
        else
          v, q = fast_array(s, q, depth, inner)
        end
        sep, q = match(s, SEP_A, q)
        if not sep then give_up() end
      end
    elseif kind and kind <= K_FRAC then
      v, sep, q = match(s, ITEM[kind], p)
      if v then
        if kind == K_LIT then
          v = LITERALS[v]
          if v == nil then give_up() end
        elseif kind ~= K_STR then
          v = tonumber(v)
          if v == huge or v == -huge then give_up() end -- more than 309 digits
        end
      elseif kind >= K_INT then
        for other = K_INT, K_FRAC do -- a number of another shape
          if other ~= kind then
            v, sep, q = match(s, ITEM[other], p)
            if v then
              kind = other
              ctx.items = other
              v = to_number(v)
              break
            end
          end
        end
      end
    end
    if not sep then
      local ch
      p, ch = match(s, FIRST, p)
      if ch == "]" and n == 0 then return t, p + 1 end
      local seen
      v, q, seen, sep = any_value(s, p, ch, depth, inner, NUM_A)
      if seen ~= kind then
        kind = seen
        ctx.items = seen
      end
      if not sep then sep, q = match(s, SEP_A, q) end
    end
    n = n + 1
    t[n] = v
    if sep ~= "," then
      if sep == "]" then
        ctx.count = n
        return t, q
      end
      give_up()
    end
    if n & 1023 == 0 then tick() end
    p = q
  end
end

-- A key the KEY pattern did not take (escapes, or not a key at all).
local function other_key(s, pos)
  local p, ch = match(s, FIRST, pos)
  if ch ~= '"' then give_up() end
  local k
  k, p = escaped_string(s, p)
  p, ch = match(s, COLON, p)
  if not p then give_up() end
  return k, p, ch
end

-- The fields seen in a place are a chain of nodes {key, kind, last, pat, next} from ctx.first.
-- A place whose guesses keep missing (a map keyed by ids) stops guessing; a field whose value
-- keeps changing kind is guessed as "anything" (another number shape does not count).
local MAX_MISSES, MAX_FLIPS = 256, 8

-- The pattern that takes field `node` holding a value of `kind`: the value and the position
-- after the separator, or (an object, an array, anything else) where the value starts.
local function node_pattern(node, kind)
  local W = MODE.WP
  local head = "^" .. W .. '"' .. gsub(node.key, "%W", "%%%0") .. '"' .. W .. ":" .. W
  if kind == K_OBJ then return head .. "()%{" end
  if kind == K_ARR then return head .. "()%[" end
  if kind == K_ANY then return head .. "()(.?)" end
  if kind == K_QUOTE then return head .. '()"' end
  return head .. MODE.VALUE[kind] .. W .. (node.last and "}()" or ",()")
end

-- An object whose fields all came as guessed is built in one go by a constructor made for its
-- shape, `{["k1"] = v[1], ...}`, which sizes the table once: filling an empty table key by key
-- rehashes at every power of two, and costs twice as much. Constructors are made for shapes
-- seen twice, up to a limit per document.
local MAX_CTOR_FIELDS, MAX_CTORS = 64, 256
local ctors_left, scratch = 0, nil

local function make_ctor(ctx, last)
  local parts, node = {}, ctx.first
  while true do
    parts[#parts + 1] = format("[%q]=v[%d]", node.key, #parts + 1)
    if node == last then break end
    node = node.next
  end
  ctors_left = ctors_left - 1
  return load("local v = ... return {" .. concat(parts, ",") .. "}", "=json shape", "t", {})
end

-- Fields 1..i, gathered in vals along the chain from ctx.first, as a table.
local function materialize(ctx, vals, i)
  local t, node = {}, ctx.first
  for j = 1, i do
    t[node.key] = vals[j]
    node = node.next
  end
  return t
end

-- Field `node` at q, as guessed: the value, the position after the field's separator, and the
-- separator ("," or "}"); nothing when the field is not as guessed.
local function guessed(s, q, depth, node)
  local kind = node.kind
  local pat = node.pat
  if not pat then
    pat = node_pattern(node, kind)
    node.pat = pat
  end
  if kind >= K_OBJ then
    local p, ch = match(s, pat, q)
    if not p then return end
    local v
    if kind == K_OBJ then
      v, p = fast_object(s, p, depth, node)
    elseif kind == K_ARR then
      v, p = fast_array(s, p, depth, node)
    else
      v, p = fast_value(s, p, ch, depth, node)
    end
    local last = node.last
    local r = match(s, last and CLOSE or COMMA, p)
    if r then return v, r, last and "}" or "," end
    local sep
    sep, r = match(s, SEP_O, p)
    if not sep then give_up() end
    return v, r, sep
  end
  local v, r = match(s, pat, q)
  if v then
    if kind == K_LIT then
      v = LITERALS[v]
      if v == nil then give_up() end
    elseif kind ~= K_STR then
      v = to_number(v)
    end
    return v, r, node.last and "}" or ","
  end
  local alts = node.alts -- the same field, another way
  if not alts then
    alts = {}
    node.alts = alts
  end
  if kind >= K_INT then
    for other = K_INT, K_FRAC do -- a number of another shape (an id of 0, a ratio reaching 1)
      if other ~= kind then
        local alt = alts[other]
        if not alt then
          alt = node_pattern(node, other)
          alts[other] = alt
        end
        v, r = match(s, alt, q)
        if v then
          node.kind, node.pat = other, alt
          return to_number(v), r, node.last and "}" or ","
        end
      end
    end
  elseif kind == K_STR then
    -- a string with escapes (or another separator): the key, then the string apart
    local alt = alts[K_QUOTE]
    if not alt then
      alt = node_pattern(node, K_QUOTE)
      alts[K_QUOTE] = alt
    end
    local p = match(s, alt, q)
    if p then
      v, p = escaped_string(s, p)
      local sep
      sep, r = match(s, SEP_O, p)
      if not sep then give_up() end
      return v, r, sep
    end
  end
end

function fast_object(s, pos, depth, ctx)
  if depth >= MAX_DEPTH then give_up() end
  ticks = ticks - 1
  if ticks == 0 then tick() end
  depth = depth + 1
  local q = pos + 1
  local node = not ctx.off and ctx.first -- the field expected next
  local i = 0 -- fields taken as guessed, their values in vals
  local prev -- the node of the field before
  if node then
    local vals = scratch[depth]
    if not vals then
      vals = {}
      scratch[depth] = vals
    end
    -- First the fields as guessed: strings and numbers in the loop itself.
    while true do
      local kind = node.kind
      local v, r, sep
      if kind == K_STR or (kind >= K_INT and kind <= K_FRAC) then
        local pat = node.pat
        if not pat then
          pat = node_pattern(node, kind)
          node.pat = pat
        end
        v, r = match(s, pat, q)
        if v then
          if kind ~= K_STR then
            v = tonumber(v)
            if v == huge or v == -huge then give_up() end -- more than 309 digits
          end
          sep = node.last and "}" or ","
        else
          v, r, sep = guessed(s, q, depth, node)
        end
      else
        v, r, sep = guessed(s, q, depth, node)
      end
      if not sep then break end
      i = i + 1
      vals[i] = v
      q = r
      if sep == "}" then
        -- every field as guessed: node is the last one of a known shape
        local ctor = node.ctor
        if not ctor then
          local ends = (node.ends or 0) + 1
          node.ends = ends
          if ends >= 2 and i <= MAX_CTOR_FIELDS and ctors_left > 0 then
            ctor = make_ctor(ctx, node)
            node.ctor = ctor
          end
        end
        if ctor then return ctor(vals), q end
        return materialize(ctx, vals, i), q
      end
      prev = node
      node = node.next
      if not node then break end
    end
  end
  -- Then field by field, learning the shape as it goes.
  local t = i > 0 and materialize(ctx, scratch[depth], i) or {}
  local learning = not ctx.off
  while true do
    local k, p, ch = match(s, KEY, q)
    if not k then
      if i == 0 and not prev then
        local e = match(s, EMPTY_OBJECT, q)
        if e then return t, e end
      end
      k, p, ch = other_key(s, q)
      learning = false -- an escaped key: no pattern for it, nor for what follows
    end
    local here -- this field's node, also the place of an object or array value
    if learning then
      if node and node.key == k then
        here = node
      else
        here = {key = k}
        if prev then prev.next = here else ctx.first = here end
        local misses = (ctx.misses or 0) + 1
        ctx.misses = misses
        if misses > MAX_MISSES then
          ctx.off = true
          learning = false
        end
      end
    end
    local v, seen, sep
    if ch == '"' then
      v, sep, q = match(s, STR_O, p)
      if v then
        seen = K_STR
      else
        v, q = escaped_string(s, p)
        seen = K_STR -- escapes are the exception: keep guessing a plain string
      end
    else
      v, q, seen, sep = any_value(s, p, ch, depth, here or {}, NUM_O)
    end
    if not sep then sep, q = match(s, SEP_O, q) end
    if here then
      local was, last = here.kind, sep == "}"
      if was ~= seen or here.last ~= last then
        -- a new field, or one that changed: guess the latest, up to a point
        local flips = here.flips or 0
        local numbers = was and was >= K_INT and was <= K_FRAC and seen >= K_INT and seen <= K_FRAC
        if was and (here.last ~= last or not numbers) then
          flips = flips + 1
          here.flips = flips
        end
        here.kind, here.last = flips > MAX_FLIPS and K_ANY or seen, last
        here.pat, here.alts = nil, nil
      end
    end
    t[k] = v
    if sep ~= "," then
      if sep == "}" then return t, q end
      give_up()
    end
    prev = here
    node = here and here.next
    i = i + 1
  end
end

function fast_value(s, pos, ch, depth, ctx)
  if ch == "{" then return fast_object(s, pos, depth, ctx) end
  if ch == "[" then return fast_array(s, pos, depth, ctx) end
  if ch == '"' then
    local v, p = match(s, STRING, pos)
    if v then return v, p end
    return escaped_string(s, pos)
  end
  if NUM_START[ch] then return number(s, pos) end
  if ch == "n" then
    if sub(s, pos, pos + 3) == "null" then return NULL, pos + 4 end
  elseif ch == "t" then
    if sub(s, pos, pos + 3) == "true" then return true, pos + 4 end
  elseif ch == "f" then
    if sub(s, pos, pos + 4) == "false" then return false, pos + 5 end
  end
  give_up()
end

-- Whether `s` has a byte below 0x20: one memchr per byte value, where a pattern class would cost
-- a dozen times more.
local CONTROLS = {}
for b = 0, 31 do CONTROLS[#CONTROLS + 1] = char(b) end
local function has_controls(s)
  for i = 1, 32 do
    if find(s, CONTROLS[i], 1, true) then return true end
  end
  return false
end

local function fast(s)
  if has_controls(s) then
    use(GENERAL)
  else
    -- Compact JSON, the usual machine output, gets patterns without whitespace. Judged on the
    -- start of the document only: a wrong guess costs time, never correctness.
    local head = #s > 4096 and sub(s, 1, 4096) or s
    use((find(head, ": ", 1, true) or find(head, ", ", 1, true)) and CLEAN or TIGHT)
  end
  scratch, ctors_left = {}, MAX_CTORS
  local p, ch = match(s, FIRST)
  local v
  v, p = fast_value(s, p, ch, 0, {})
  if find(s, "[^ \t\n\r]", p) then give_up() end
  return v
end

---------------------------------------------------------------------------------------------------
-- Rust's text for a string that is not UTF-8 (std::str::Utf8Error), for the argument error.

local function utf8_error(s, at)
  local valid = at - 1
  local b1, b2, b3, b4 = byte(s, at, at + 3)
  local function cont(b) return b and b >= 0x80 and b <= 0xBF end
  local need, lo2, hi2
  if b1 >= 0xC2 and b1 <= 0xDF then need, lo2, hi2 = 2, 0x80, 0xBF
  elseif b1 == 0xE0 then need, lo2, hi2 = 3, 0xA0, 0xBF
  elseif b1 == 0xED then need, lo2, hi2 = 3, 0x80, 0x9F
  elseif b1 >= 0xE1 and b1 <= 0xEF then need, lo2, hi2 = 3, 0x80, 0xBF
  elseif b1 == 0xF0 then need, lo2, hi2 = 4, 0x90, 0xBF
  elseif b1 >= 0xF1 and b1 <= 0xF3 then need, lo2, hi2 = 4, 0x80, 0xBF
  elseif b1 == 0xF4 then need, lo2, hi2 = 4, 0x80, 0x8F
  end
  local bad -- how many bytes make the invalid sequence; nil when the input ends inside it
  if not need then bad = 1
  elseif b2 == nil then bad = nil
  elseif b2 < lo2 or b2 > hi2 then bad = 1
  elseif need == 2 then bad = 1 -- unreachable: a valid pair
  elseif b3 == nil then bad = nil
  elseif not cont(b3) then bad = 2
  elseif need == 3 then bad = 2
  elseif b4 == nil then bad = nil
  else bad = 3
  end
  if bad then return format("invalid utf-8 sequence of %d bytes from index %d", bad, valid) end
  return format("incomplete utf-8 byte sequence from index %d", valid)
end

-- The state of a decode: Work, and the parser's own state let go of however it ends.
local Decoding = {__index = Work}
Decoding.__close = function(w)
  decoding, scratch = nil, nil
  Work.__close(w)
end

---------------------------------------------------------------------------------------------------
-- The module.

--- The value of JSON text `text` (a string, or a number read as its Lua text).
function M.decode(text)
  local tt = type(text)
  if tt == "number" then
    text = tostring(text)
  elseif tt ~= "string" then
    bad_argument(1, "decode", "string", tt)
  end
  local ok, at = utf8len(text)
  if not ok then
    raise(format("bad argument #1 to 'decode' (invalid UTF-8: %s)", utf8_error(text, at)))
  end
  -- (a decode started while one runs, from a __gc finalizer, finds the fast parser busy)
  if not decoding then
    local done, v
    do
      local st <close> = setmetatable({budget = TICK}, Decoding)
      if #text > 16384 then st:tick() end
      ticks, decoding = TICK, st
      done, v = pcall(fast, text)
    end
    if done then return v end
    if v ~= GIVE_UP then error(v, 0) end -- not ours (out of memory, ...)
  end
  -- errors, and whatever the fast parser did not take
  local done, v = pcall(exact, text)
  if done then return v end
  if type(v) == "table" and v.json_error then raise(v.json_error) end
  error(v, 0)
end

--- Marks `t` as a JSON array (so an empty one encodes as []) and returns it.
function M.array(t)
  if type(t) ~= "table" then bad_argument(1, "array", "table", type(t)) end
  return setmetatable(t, ARRAY_MT)
end

M.null = NULL
M.ARRAY_MT = ARRAY_MT
M.decode_exact = exact
M.decode_fast = fast

return M
