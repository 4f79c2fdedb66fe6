-- Small helpers: cru.fmt, cru.inspect (also the global `inspect`), cru.tbl_deep_extend,
-- cru.tbl_get and cru.errors.
--
-- The global `inspect` is set by modules.py.
--
-- cru.errors is the daemon/test VM's: the error log lives in the reference's plugin manager, so
-- here `_capture` records nothing and `recent` is always empty. `cru.on_error` is reserved and
-- nil in the reference, so there is nothing to register for it.

local type, tostring, pairs, ipairs, select = type, tostring, pairs, ipairs, select
local format, concat = string.format, table.concat

---------------------------------------------------------------------------------------------------
-- cru.fmt

--- Replaces each `{word}` (letters and digits) in `template` with `tostring(vars[word])`;
--- placeholders without a value are left as they are.
---@param template string
---@param vars? table<string, any>
---@return string
local function fmt(template, vars)
  vars = vars or {}
  return (template:gsub("{(%w+)}", function(key)
    local value = vars[key]
    if value ~= nil then return tostring(value) end
    return "{" .. key .. "}"
  end))
end

---------------------------------------------------------------------------------------------------
-- cru.inspect
--
-- As in the reference, a table is marked as seen for the whole call, so a table reached twice
-- (not only a cycle) prints as <cycle: table> the second time; keys come in `pairs` order.

local function render(value, opts, seen, depth)
  local t = type(value)
  if t == "nil" or t == "boolean" or t == "number" then return tostring(value) end
  if t == "string" then return format("%q", value) end
  if t == "function" then return "<function>" end
  if t == "userdata" then return "<userdata>" end
  if t == "thread" then return "<thread>" end
  if t ~= "table" then return tostring(value) end

  if seen[value] then return "<cycle: table>" end
  local max_depth = opts.max_depth
  if max_depth and depth >= max_depth then return "{...}" end
  seen[value] = true

  local indent = opts.indent or "  "
  local inner = indent:rep(depth + 1)
  local parts = {}
  for k, v in pairs(value) do
    local key = type(k) == "string" and k or "[" .. render(k, opts, seen, depth + 1) .. "]"
    parts[#parts + 1] = inner .. key .. " = " .. render(v, opts, seen, depth + 1)
  end
  if #parts == 0 then return "{}" end
  return "{\n" .. concat(parts, ",\n") .. "\n" .. indent:rep(depth) .. "}"
end

--- A readable rendering of any value: strings quoted (%q), tables expanded one field a line.
--- `opts.max_depth` shows deeper tables as {...}; `opts.indent` is the indent unit (two spaces).
---@param value any
---@param opts? {max_depth?: integer, indent?: string}
---@return string
local function inspect(value, opts)
  return render(value, opts or {}, {}, 0)
end

---------------------------------------------------------------------------------------------------
-- cru.tbl_deep_extend, cru.tbl_get

local function deep_extend(behavior, result, ...)
  for _, tbl in ipairs({...}) do -- stops at the first nil argument, as in the reference
    if type(tbl) == "table" then
      for k, v in pairs(tbl) do
        if behavior == "force" then
          if type(v) == "table" and type(result[k]) == "table" then
            deep_extend(behavior, result[k], v)
          else
            result[k] = v -- a table lands here as is, not copied
          end
        elseif result[k] == nil then -- "keep"
          if type(v) == "table" then
            result[k] = {}
            deep_extend(behavior, result[k], v)
          else
            result[k] = v
          end
        elseif type(v) == "table" and type(result[k]) == "table" then
          deep_extend(behavior, result[k], v)
        end
      end
    end
  end
  return result
end

--- Merges tables into a new one, recursing into nested tables. "force": later values win;
--- "keep": the first value wins. Arguments that are not tables are skipped.
---@param behavior "force"|"keep"
---@param ... table
---@return table
local function tbl_deep_extend(behavior, ...)
  cru.check.one_of(behavior, {"force", "keep"}, "behavior")
  return deep_extend(behavior, {}, ...)
end

--- `t[k1][k2]...`, or nil as soon as a level is missing or not a table.
---@param t any
---@param ... any the keys, outermost first
---@return any
local function tbl_get(t, ...)
  if type(t) ~= "table" then return nil end
  local current = t
  for i = 1, select("#", ...) do
    local key = select(i, ...)
    if key == nil then break end -- the reference walks the keys with ipairs
    if type(current) ~= "table" then return nil end
    current = current[key]
    if current == nil then return nil end
  end
  return current
end

---------------------------------------------------------------------------------------------------
-- cru.errors

local errors = {}

--- Records a plugin error (a no-op here, as in Crucible's daemon and test VMs).
---@param plugin string
---@param error string
---@param context string
function errors._capture(plugin, error, context) end

--- The last `n` (10) captured errors, oldest first: always empty here.
---@param n? integer
---@return {plugin: string, error: string, context: string, age_secs: number}[]
function errors.recent(n)
  return {}
end

return {
  fmt = fmt,
  inspect = inspect,
  tbl_deep_extend = tbl_deep_extend,
  tbl_get = tbl_get,
  errors = errors,
}
