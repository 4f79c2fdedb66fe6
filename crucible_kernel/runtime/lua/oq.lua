-- cru.oq (also the global `oq` and crucible.oq): JSON, YAML, TOML and TOON, and jq queries.
-- Daemon VM only, as in Crucible.
--
-- Values cross to the Python natives as JSON text written by cru.json.encode, which applies the
-- reference's conversion rules (arrays, objects, null, errors for functions and cycles), and
-- come back through cru.json.decode (JSON null is the null sentinel, arrays keep the array
-- metatable). `oq.null` is `cru.json.null`. Every function is synchronous; errors are raised
-- with the parser's or writer's own message.
--
--   local cfg = oq.parse("[server]\nport = 8080")          -- detected as TOML
--   oq.query({users = {{name = "a", age = 30}}}, ".users[] | select(.age > 21) | .name")  -- "a"
--   oq.convert(cfg, "yaml")                                  -- "server:\n  port: 8080\n"

local engine, native = ...
local raise, bad_argument, as_string = engine.raise, engine.bad_argument, engine.as_string
local type = type
local lower = string.lower
local encode, decode, encode_exact = native.json_encode, native.json_decode, native.json_encode_exact

local M = {null = native.null}

local FORMATS = {json = "json", yaml = "yaml", yml = "yaml", toml = "toml", toon = "toon"}

local function string_arg(n, fname, value)
  local s = as_string(value)
  if s == nil then bad_argument(n, fname, "string", type(value)) end
  return s
end

local function format_arg(n, fname, value)
  local name = string_arg(n, fname, value)
  local fmt = FORMATS[lower(name)]
  if not fmt then raise("Unknown format: " .. name) end
  return fmt
end

-- The result of a native: (true, text) or (false, message).
local function checked(ok, result)
  if not ok then raise(result) end
  return result
end

-- cru.json's own errors already name the caller's line (engine.raise skips this chunk).
local to_json, from_json = encode, decode

local function parse_as(s, fmt)
  if fmt == "json" then return from_json(s) end
  local text = checked(native.parse(s, fmt))
  if text == "\0json" then return from_json(s) end -- TOON input that is JSON
  return from_json(text)
end

--- Parses `text` in the format `oq.detect` finds for it: JSON, YAML, TOML or TOON.
---@param text string
---@return any value
function M.parse(text)
  local s = string_arg(1, "parse", text)
  return parse_as(s, native.detect(s))
end

--- Parses `text` as `format`: "json", "yaml" (or "yml"), "toml" or "toon", in any case.
--- Raises `Unknown format: <format>` for anything else.
---@param text string
---@param format string
---@return any value
function M.parse_as(text, format)
  local s = string_arg(1, "parse_as", text)
  return parse_as(s, format_arg(2, "parse_as", format))
end

--- Guesses the format of `text`: "json", "yaml", "toml" or "toon" (Crucible's heuristics:
--- a first line `[section]` is TOML, `{`/`[` JSON, then TOML sections or `key = value` lines,
--- then YAML markers, then `key: value` lines as TOON, else JSON).
---@param text string
---@return string format
function M.detect(text)
  return native.detect(string_arg(1, "detect", text))
end

--- Compact JSON, as cru.json.encode writes it.
---@param value any
---@return string
function M.json(value)
  return to_json(value)
end

--- JSON indented by two spaces, one value per line.
---@param value any
---@return string
function M.json_pretty(value)
  return checked(native.pretty(to_json(value)))
end

--- YAML (block style, ending with a newline).
---@param value any
---@return string
function M.yaml(value)
  return checked(native.encode(to_json(value), "yaml"))
end

--- TOML. The value must be a table with keys; JSON null is written as the string "null".
---@param value table
---@return string
function M.toml(value)
  return checked(native.encode(to_json(value), "toml"))
end

--- TOON (Token-Oriented Object Notation): compact, indented, arrays of objects as tables.
---@param value any
---@return string
function M.toon(value)
  return checked(native.encode(to_json(value), "toon"))
end

--- Writes `value` as `format`: "json", "yaml", "toml" or "toon".
---@param value any
---@param format string
---@return string
function M.convert(value, format)
  local fmt = format_arg(2, "convert", format)
  local text = to_json(value)
  if fmt == "json" then return text end
  return checked(native.encode(text, fmt))
end

--- Runs the jq program `filter` on `value`. One result is returned as it is; none or several
--- come back as an array.
---@param value any
---@param filter string
---@return any result
function M.query(value, filter)
  local program = string_arg(2, "query", filter)
  -- jq reads the document, nobody else: floats need not be written in their shortest form
  local results = from_json(checked(native.query(encode_exact(value), program)))
  if #results == 1 then return results[1] end
  return results
end

---@class oq.FormatOpts
---@field tool? string the tool's name; "read_file", "search_notes", "run_command"... pick how long fields are laid out

--- Formats a tool response for a model: TOON, or with `opts.tool`, TOON for the short fields and
--- long or multi-line strings (file contents, command output) as labelled blocks after it.
---@param value any
---@param opts? oq.FormatOpts
---@return string
function M.format(value, opts)
  local tool = type(opts) == "table" and as_string(opts.tool) or nil
  return checked(native.format(to_json(value), tool))
end

return M
