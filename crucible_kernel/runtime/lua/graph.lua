-- cru.graph (also the global `graph` and crucible.graph): links between notes held in a table.
-- Pure functions over a graph you build; they need no daemon.
--
--   local g = {notes = {
--     {title = "Index", path = "Index.md", links = {"Project A"}},
--     {title = "Project A", path = "a.md", links = {"Index"}},
--   }}
--   graph.find(g, "Index")       --> the Index note
--   graph.outlinks(g, "Index")   --> {Project A note}
--   graph.inlinks(g, "Index")    --> {Project A note}

local engine = ...
local raise, bad_argument, as_string = engine.raise, engine.bad_argument, engine.as_string
local type, pairs, ipairs, tostring, sort, mtype = type, pairs, ipairs, tostring, table.sort, math.type

local graph = {}

-- The notes of `g` in index order (the reference walks the array with integer keys).
local function notes_of(g, title, fname)
  if type(g) ~= "table" then bad_argument(1, fname, "table", type(g)) end
  if as_string(title) == nil then bad_argument(2, fname, "string", type(title)) end
  local notes = g.notes
  if type(notes) ~= "table" then raise(("%s: g.notes must be a table, got %s"):format(fname, type(notes))) end
  local keys = {}
  for k, note in pairs(notes) do
    if mtype(k) ~= "integer" then raise(("%s: g.notes must be a list, found key %s"):format(fname, tostring(k))) end
    if type(note) ~= "table" then raise(("%s: g.notes[%d] must be a table, got %s"):format(fname, k, type(note))) end
    keys[#keys + 1] = k
  end
  sort(keys)
  local list = {}
  for i, k in ipairs(keys) do list[i] = notes[k] end
  return list, as_string(title)
end

local function title_of(note, fname)
  local t = as_string(note.title)
  if t == nil then raise(("%s: every note needs a string title, got %s"):format(fname, type(note.title))) end
  return t
end

local function links_of(note)
  local out = {}
  if type(note.links) == "table" then
    for _, link in ipairs(note.links) do
      local s = as_string(link)
      if s then out[#out + 1] = s end
    end
  end
  return out
end

--- The note titled `title` in `g.notes`, or nil.
---@param g {notes: {title: string, path?: string, links?: string[]}[]}
---@param title string
---@return table|nil note
function graph.find(g, title)
  local notes, wanted = notes_of(g, title, "find")
  for _, note in ipairs(notes) do
    if title_of(note, "find") == wanted then return note end
  end
  return nil
end

--- The notes that the note titled `title` links to (by title), in `g.notes` order.
---@param g {notes: {title: string, path?: string, links?: string[]}[]}
---@param title string
---@return table[] notes
function graph.outlinks(g, title)
  local notes, wanted = notes_of(g, title, "outlinks")
  local targets = {}
  for _, note in ipairs(notes) do
    if title_of(note, "outlinks") == wanted then
      for _, link in ipairs(links_of(note)) do targets[link] = true end
      break
    end
  end
  local out = {}
  for _, note in ipairs(notes) do
    if targets[title_of(note, "outlinks")] then out[#out + 1] = note end
  end
  return out
end

--- The notes that link to the note titled `title`, in `g.notes` order.
---@param g {notes: {title: string, path?: string, links?: string[]}[]}
---@param title string
---@return table[] notes
function graph.inlinks(g, title)
  local notes, wanted = notes_of(g, title, "inlinks")
  local out = {}
  for _, note in ipairs(notes) do
    for _, link in ipairs(links_of(note)) do
      if link == wanted then
        out[#out + 1] = note
        break
      end
    end
  end
  return out
end

return {graph = graph}
