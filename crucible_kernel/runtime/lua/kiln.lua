-- cru.kiln (also crucible.kiln): the notes of the open kiln.
--
-- Without a Crucible daemon no kiln is open, so these are the reference's stubs: lists are
-- empty, `get` finds nothing and `cru.kiln.active` is nil. Arguments are still checked, so a
-- call that would fail against a real kiln fails here too.
--
--   for _, path in ipairs(cru.kiln.backlinks("Projects/Crucible.md")) do print(path) end

local engine = ...
local raise, bad_argument, as_string = engine.raise, engine.bad_argument, engine.as_string
local type, tonumber, floor, huge = type, tonumber, math.floor, math.huge

local kiln = {}

local function str(value, n, fname)
  if as_string(value) == nil then bad_argument(n, fname, "string", type(value)) end
end

-- An optional count, as mlua converts an Option<usize>: nil, or a number (or numeric string)
-- that is not negative; fractions are truncated.
local function count(value, n, fname)
  if value == nil then return end
  local x = type(value) == "string" and tonumber(value) or value
  if type(x) ~= "number" then bad_argument(n, fname, "number", type(value)) end
  if x ~= x or x < 0 or x == huge then
    raise(("bad argument #%d to '%s' (a count must be a finite number >= 0, got %s)"):format(n, fname, value))
  end
  return floor(x)
end

--- The notes of the kiln, at most `limit` ({} without a daemon).
---@async
---@param limit? integer
---@return table[] notes {path, title, tags, ...}
function kiln.list(limit)
  count(limit, 1, "list")
  return {}
end

--- The note at `path`, or nil (always nil without a daemon).
---@async
---@param path string the note's path in the kiln
---@return table|nil note
function kiln.get(path)
  str(path, 1, "get")
  return nil
end

--- Notes matching `query` ({} without a daemon).
---@async
---@param query string
---@param opts? {limit?: integer, threshold?: number}
---@return table[] results {path, title, score, snippet}
function kiln.search(query, opts)
  str(query, 1, "search")
  if opts ~= nil and type(opts) ~= "table" then bad_argument(2, "search", "table", type(opts)) end
  return {}
end

--- Paths of the notes that the note at `path` links to ({} without a daemon).
---@async
---@param path string
---@return string[] paths
function kiln.outlinks(path)
  str(path, 1, "outlinks")
  return {}
end

--- Paths of the notes linking to the note at `path` ({} without a daemon).
---@async
---@param path string
---@return string[] paths
function kiln.backlinks(path)
  str(path, 1, "backlinks")
  return {}
end

--- Paths of the notes within `depth` links of `path`, either way ({} without a daemon).
---@async
---@param path string
---@param depth? integer default 1
---@return string[] paths
function kiln.neighbors(path, depth)
  str(path, 1, "neighbors")
  count(depth, 2, "neighbors")
  return {}
end

return {kiln = kiln}
