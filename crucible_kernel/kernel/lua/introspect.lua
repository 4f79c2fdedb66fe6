-- Editing help: the Lua side of completion and inspection (crucible_kernel/kernel/complete.py,
-- inspection.py, docs.py), and of %vars.
--
-- Everything here only reads. A lookup `t.k` is a raw read of `t`, then of the `__index` table of
-- its metatable, and so on; an `__index` (or `__pairs`, `__len`, ...) that is a function is never
-- called, so asking for help cannot run user code. The exceptions are `__tostring` of the
-- runtime's own objects (a RateLimiter shows its tokens), recognised by their "=crucible/" chunk,
-- and %vars, which shows values as cell results do (their __tostring included). The kernel runs
-- every function here as an interruptible task (Runtime.call), never from Python directly.
-- Lists go back to Python as one string joined with "\n" (one crossing instead of one per item).
--
-- Loaded with the engine; the standard functions it uses are the engine's copies taken before any
-- user code ran (engine.std), so a cell that replaces `rawget` or `next` changes nothing here.

local engine = ...
local std = engine.std
local type, next, rawget, rawlen, pcall, ipairs = std.type, std.next, std.rawget, std.rawlen, std.pcall,
  std.ipairs
local rawequal = std.rawequal
local tostring, setmetatable, mtype, huge = std.tostring, std.setmetatable, std.math.type, std.math.huge
local getmetatable, getinfo, getlocal = std.debug.getmetatable, std.debug.getinfo, std.debug.getlocal
local format, find, sub, gmatch, match, gsub = std.string.format, std.string.find, std.string.sub,
  std.string.gmatch, std.string.match, std.string.gsub
local concat, sort = std.table.concat, std.table.sort
local G = std._G
local unguarded = engine.unguarded

local MAX_CHAIN = 16    -- __index tables followed from one value
local MAX_KEYS = 20000  -- keys looked at in one table
local MAX_REPR = 2000   -- characters of a value's text

local H = {}

---------------------------------------------------------------------------------------------------
-- Reading without side effects

local function index_table(v)
  local mt = getmetatable(v)
  local ix = mt and rawget(mt, "__index")
  if type(ix) == "table" then return ix end
  return nil
end

--- `v[k]` as Lua would find it, through raw reads and __index tables only; nil otherwise.
local function lookup(v, k)
  for _ = 1, MAX_CHAIN do
    if type(v) == "table" then
      local r = rawget(v, k)
      if r ~= nil then return r end
    end
    v = index_table(v)
    if v == nil then return nil end
  end
  return nil
end

--- The value at `path` ("cru.timer.sleep", "" for the root) from `base`: "global" (_G; the first
--- name may be _ENV or _G) or "string" (the string methods). Returns found, value.
function H.resolve(base, path)
  local v
  if base == "string" then v = "" else v = G end
  local first = true
  for name in gmatch(path, "[^.:]+") do
    if first and base ~= "string" and (name == "_ENV" or name == "_G") and rawget(G, name) == nil then
      v = G
    else
      v = lookup(v, name)
      if v == nil then return false, nil end
    end
    first = false
  end
  return true, v
end

local function is_identifier(k)
  return type(k) == "string" and find(k, "^[%a_][%w_]*$") ~= nil
end

local function callable(v)
  local t = type(v)
  if t == "function" then return true end
  if t == "table" or t == "userdata" then
    local mt = getmetatable(v)
    return mt ~= nil and rawget(mt, "__call") ~= nil
  end
  return false
end

--- Walks the string keys of `v` and of its __index tables, nearest first; `visit(key, value)`
--- sees each key once.
local function each_field(v, visit)
  local seen = {}
  for _ = 1, MAX_CHAIN do
    if type(v) == "table" then
      local count, k, value = 0, next(v)
      while k ~= nil and count < MAX_KEYS do
        if is_identifier(k) and not seen[k] then
          seen[k] = true
          visit(k, value)
        end
        count = count + 1
        k, value = next(v, k)
      end
    end
    v = index_table(v)
    if v == nil then return end
  end
end

local ROOTS = {"cru", "crucible"}

-- Whether `t` is one of the values of table `of` (raw, at most MAX_KEYS looked at).
local function holds(of, t)
  local count, k, v = 0, next(of)
  while k ~= nil and count < MAX_KEYS do
    if rawequal(v, t) then return true end
    count = count + 1
    k, v = next(of, k)
  end
  return false
end

-- Whether table `t` is a module: a value of package.loaded (the standard libraries, what
-- require returned), `cru`/`crucible`, or a table right under them (cru.json, cru.timer).
local function is_module(t)
  local package = rawget(G, "package")
  local loaded = type(package) == "table" and rawget(package, "loaded")
  if type(loaded) == "table" and holds(loaded, t) then return true end
  for _, root in ipairs(ROOTS) do
    local r = rawget(G, root)
    if type(r) == "table" and (rawequal(r, t) or holds(r, t)) then return true end
  end
  return false
end

-- The kind of a completion, for the frontend's type badge.
local function kind_of(value, methods)
  if callable(value) then return methods and "method" or "function" end
  if type(value) == "table" then return is_module(value) and "module" or "table" end
  return "variable"
end

--- The names (identifier keys, through __index tables) of the value at `path` that start with
--- `prefix`, as lines "name\tkind" (kind: function, method, module, table or variable); with
--- `methods`, only callable ones (kind method).
function H.fields(base, path, prefix, methods)
  local found, v = H.resolve(base, path)
  if not found then return "" end
  local out, n = {}, #prefix
  each_field(v, function(k, value)
    if sub(k, 1, n) == prefix and (not methods or callable(value)) then
      out[#out + 1] = k .. "\t" .. kind_of(value, methods)
    end
  end)
  return concat(out, "\n")
end

---------------------------------------------------------------------------------------------------
-- Describing values

local names = setmetatable({}, {__mode = "k"}) -- standard library value -> its name

-- A standard library name ("string.format", "pcall") as it was before any user code ran.
local function resolve_std(name)
  local v = std
  for part in gmatch(name, "[^.]+") do
    if type(v) ~= "table" then return false, nil end
    v = rawget(v, part)
    if v == nil then return false, nil end
  end
  return true, v
end

--- Remembers the standard library names ("string.format", "file:read", "string", ...) given as
--- one "\n"-joined string, for the values they have now. `file:` names are looked up in the
--- methods of real files and of the runtime's standard streams.
function H.set_names(list)
  local files = {}
  local file_mt = std.debug.getregistry()["FILE*"]
  if type(file_mt) == "table" and type(rawget(file_mt, "__index")) == "table" then
    files[#files + 1] = rawget(file_mt, "__index")
  end
  local stream_methods = index_table(rawget(rawget(G, "io") or {}, "stdout"))
  if stream_methods then files[#files + 1] = stream_methods end
  for name in gmatch(list, "[^\n]+") do
    local method = match(name, "^file:([%w_]+)$")
    if method then
      for _, methods in ipairs(files) do
        local fn = rawget(methods, method)
        if fn ~= nil and names[fn] == nil then names[fn] = name end
      end
    else
      local found, v = resolve_std(name)
      local t = type(v)
      if found and (t == "function" or t == "table") and names[v] == nil then names[v] = name end
    end
  end
end

local is_internal_fn = engine.internal_function

local function number_text(x)
  if mtype(x) == "integer" then return format("%d", x) end
  if x ~= x then return "nan" end
  if x == huge then return "inf" end
  if x == -huge then return "-inf" end
  local s = format("%.14g", x)
  if not find(s, "[.eEn]") then s = s .. ".0" end
  return s
end

--- Text for any value without calling user code: what tostring gives when that is safe (no
--- __tostring, or the runtime's own), otherwise "<__name or type>: 0x...".
local function safe_tostring(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return number_text(v) end
  if t == "nil" or t == "boolean" then return tostring(v) end
  local mt = getmetatable(v)
  local ts = mt and rawget(mt, "__tostring")
  if ts == nil then
    local name = mt and rawget(mt, "__name")
    if type(name) == "string" then return format("%s: %p", name, v) end
    return format("%s: %p", t, v)
  end
  if is_internal_fn(ts) then
    local ok, s = pcall(ts, v)
    if ok and type(s) == "string" then return s end
  end
  local name = mt and rawget(mt, "__name")
  return format("%s: %p", type(name) == "string" and name or t, v)
end

local function quoted(s, limit)
  if #s > limit then
    return format("%q", sub(s, 1, limit)) .. format("... (%d bytes)", #s)
  end
  return format("%q", s)
end

--- A one-line rendering of `v`: tables show their first fields, raw, in `next` order.
local function repr(v, depth, budget)
  local t = type(v)
  if t == "string" then return quoted(v, 200) end
  if t ~= "table" then return safe_tostring(v) end
  local mt = getmetatable(v)
  if mt ~= nil and rawget(mt, "__tostring") ~= nil then return safe_tostring(v) end
  if depth >= 2 then return "{...}" end
  local parts, len, count = {}, rawlen(v), 0
  for i = 1, len do
    if count >= budget then parts[#parts + 1] = "..."; break end
    parts[#parts + 1] = repr(rawget(v, i), depth + 1, 5)
    count = count + 1
  end
  local keys = {}
  local k = next(v)
  local scanned = 0
  while k ~= nil and scanned < MAX_KEYS do
    if not (mtype(k) == "integer" and k >= 1 and k <= len) then keys[#keys + 1] = k end
    scanned = scanned + 1
    k = next(v, k)
  end
  sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    if ta == "string" or ta == "number" then return a < b end
    return false
  end)
  for _, key in ipairs(keys) do
    if count >= budget then parts[#parts + 1] = "..."; break end
    local label = is_identifier(key) and key or "[" .. repr(key, depth + 1, 5) .. "]"
    parts[#parts + 1] = label .. " = " .. repr(rawget(v, key), depth + 1, 5)
    count = count + 1
  end
  local s = "{" .. concat(parts, ", ") .. "}"
  if #s > MAX_REPR then s = sub(s, 1, MAX_REPR) .. " ..." end
  return s
end

local function param_names(f, info)
  local params = {}
  if info.what == "C" then return "" end
  for i = 1, info.nparams do
    params[i] = getlocal(f, i) or ("arg" .. i)
  end
  if info.isvararg then params[#params + 1] = "..." end
  return concat(params, ",")
end

local function count_keys(v)
  local n, k = 0, next(v)
  while k ~= nil and n < MAX_KEYS do
    n = n + 1
    k = next(v, k)
  end
  return n
end

--- What inspection needs to know about `v`, as a flat table of strings, numbers and booleans.
function H.describe(v)
  v = unguarded(v) -- in safe mode, the function a capability guard wraps (its doc is the function's)
  local t = type(v)
  local d = {type = t, repr = repr(v, 0, 20), name = names[v]}
  local mt = getmetatable(v)
  if mt then
    local mtname = rawget(mt, "__name")
    if type(mtname) == "string" then d.mtname = mtname end
    d.methods = index_table(v) ~= nil
  end
  if t == "table" then d.count = count_keys(v) end
  if t == "number" then d.subtype = mtype(v) end
  if t == "string" then d.len = #v end
  local f = v
  if t ~= "function" and callable(v) then
    f = rawget(mt, "__call")
    d.via_call = true
  end
  if type(f) == "function" then
    local info = getinfo(f, "Su")
    d.callable = true
    d.what = info.what
    d.source = info.source
    d.short_src = info.short_src
    d.linedefined = info.linedefined
    d.lastlinedefined = info.lastlinedefined
    d.params = param_names(f, info)
    d.fname = names[f]
  elseif d.via_call then
    d.callable = true -- a callable whose __call is not a function (a Python object, ...)
  end
  return d
end

--- The fields of `v` (and of its __index tables) as lines "name\ttype\tsource\tline\tparams\tname"
--- where the last four describe functions (sources that are not "=..." or "@..." are left out).
function H.members(v)
  local out = {}
  each_field(v, function(k, value)
    value = unguarded(value)
    local t = type(value)
    local f = value
    if t ~= "function" and callable(value) then f = rawget(getmetatable(value), "__call") end
    local source, line, params = "", "", ""
    if type(f) == "function" then
      local info = getinfo(f, "Su")
      local first = sub(info.source, 1, 1)
      source = (first == "=" or first == "@") and info.source or ""
      line = tostring(info.linedefined)
      params = param_names(f, info)
      if t ~= "function" then t = "callable " .. t end
    end
    local text = ""
    if t ~= "function" and t ~= "table" and t ~= "userdata" and sub(t, 1, 8) ~= "callable" then
      text = repr(value, 1, 5)
    elseif t == "table" then
      text = format("%d fields", count_keys(value))
    end
    out[#out + 1] = concat({k, t, source, line, params, names[value] or "", (text:gsub("[\t\n]", " "))}, "\t")
  end)
  sort(out)
  return concat(out, "\n")
end

--- Everything inspection needs about the value at `path` (see H.resolve) in one call: whether it
--- was found, its description (H.describe) and, for tables and userdata, its members (H.members).
function H.inspect(base, path)
  local found, v = H.resolve(base, path)
  if not found or v == nil then return false end
  local d = H.describe(v)
  if d.type == "table" or d.type == "userdata" then return true, d, H.members(v) end
  return true, d
end

---------------------------------------------------------------------------------------------------
-- %vars: the globals the notebook defined, with their type and a one-line value

--- Rows "name\ttype\tvalue" for the string-keyed globals not in `initial` (a set of the runtime's
--- own names), sorted by name; values as cell results show them (`format`), whitespace folded
--- and cut to `width` characters.
function H.vars(initial, format_value, width)
  local names = {}
  local k = next(G)
  while k ~= nil do
    if type(k) == "string" and not initial[k] then names[#names + 1] = k end
    k = next(G, k)
  end
  sort(names)
  local rows = {}
  for i, name in ipairs(names) do
    local v = rawget(G, name)
    local ok, text = pcall(format_value, v)
    if not ok then text = "<" .. tostring(text) .. ">" end
    if type(text) ~= "string" then text = "<" .. type(text) .. ">" end
    text = gsub(text, "%s+", " ")
    if #text > width then text = sub(text, 1, width - 3) .. "..." end
    rows[i] = name .. "\t" .. type(v) .. "\t" .. text
  end
  return concat(rows, "\n")
end

---------------------------------------------------------------------------------------------------
-- Listing the public functions (for the documentation test)

--- Every function reachable from `roots` (a table name -> value), through tables and the
--- __index tables of metatables, skipping keys that start with "_". Returns two lists: paths
--- ("cru.timer.sleep", "limiter:acquire") and the functions (the __call of a callable table).
function H.public_functions(roots)
  local paths, fns, seen, done = {}, {}, {}, {}
  local function add(path, f)
    if type(f) == "function" and not done[f] then
      done[f] = true
      paths[#paths + 1], fns[#fns + 1] = path, f
    end
  end
  local function walk(path, v, sep)
    local t = type(v)
    if t == "function" then add(path, v); return end
    if t ~= "table" and t ~= "userdata" then return end
    if seen[v] then return end
    seen[v] = true
    local mt = getmetatable(v)
    if mt and type(rawget(mt, "__call")) == "function" then add(path, rawget(mt, "__call")) end
    if t == "table" then
      for k, value in next, v do
        if is_identifier(k) and sub(k, 1, 1) ~= "_" then walk(path .. sep .. k, value, ".") end
      end
    end
    local methods = index_table(v)
    if methods then
      for k, value in next, methods do
        if is_identifier(k) and sub(k, 1, 1) ~= "_" and type(value) == "function" then
          add(path .. ":" .. k, value)
        end
      end
    end
  end
  local root_names = {}
  for name in next, roots do root_names[#root_names + 1] = name end
  sort(root_names)
  for _, name in ipairs(root_names) do walk(name, roots[name], ".") end
  return paths, fns
end

--- Where the function at `path` from `base` lives under `cru`: the shortest of its public paths
--- there (then the first in byte order), or nil. How help names a runtime function's module
--- when it was reached another way (`local enc = cru.json.encode`).
function H.public_path(base, path)
  local found, v = H.resolve(base, path)
  if not found or type(v) ~= "function" then return nil end
  local cru = rawget(G, "cru")
  if type(cru) ~= "table" then return nil end
  local paths, fns = H.public_functions({cru = cru})
  local best
  for i = 1, #paths do
    local p = paths[i]
    if fns[i] == v and (best == nil or #p < #best or (#p == #best and p < best)) then best = p end
  end
  return best
end

return H
