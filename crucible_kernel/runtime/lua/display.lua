-- Notebook output from Lua: the global display(), cru.display, clear_output, and the ilua.display
-- table of xeus-lua (0.10.x semantics, with 0.9.1's plain_text, json and latex).
--
-- Dependencies: the engine, the pretty printer (lua/pretty.lua), cru.json's encode and decode,
-- and the natives of display.py:
--   publish(display_id, update, metadata_json, mime, data, kind, mime, data, kind, ...)
--   new_id() -> a fresh display id;  clear(wait)
--   html_text(html), svg_text(svg), image_text(mime, data) -> the text/plain of rich output
-- A bundle travels to Python as (mime, data, kind) triples: TEXT data is a string, JSON data a
-- JSON text, BASE64 data raw bytes that Python encodes. Metadata travels as JSON text.
--
-- Every output of display() and cru.display gets a fresh display id, and its handle updates it
-- in place with update_display_data: display_data is never sent twice with one id (JupyterLab
-- would show a second copy). ilua.display.display_data sends the id the caller gives, if any.

local engine, native = ...
local pretty, publish, new_id, clear = native.pretty, native.publish, native.new_id, native.clear
local json_encode, json_decode = native.json_encode, native.json_decode
local html_text, svg_text, image_text = native.html_text, native.svg_text, native.image_text
local raise, bad_argument = engine.raise, engine.bad_argument
local show = pretty.show

local type, select, tostring, next, rawget, setmetatable = type, select, tostring, next, rawget,
  setmetatable
local pcall = pcall -- the prelude's: interrupts pass through it
local getmetatable = debug.getmetatable
local find, format, match, sub = string.find, string.format, string.match, string.sub
local concat, sort, unpack = table.concat, table.sort, table.unpack

local TEXT, JSON, BASE64 = 1, 2, 3

local M = {}

---------------------------------------------------------------------------------------------------
-- Bundles

-- An error message without the "chunk:line: " that engine.raise put in front of it.
local function bare(message)
  message = tostring(message)
  return match(message, "^.-:%d+: (.*)$") or message
end

local function json_text(value)
  local ok, text = pcall(json_encode, value)
  if ok then return text end
  return nil, bare(text)
end

-- Appends one (mime, data, kind) triple; `who` names the bundle's source in errors.
local function put(items, n, mime, data, who)
  local td = type(data)
  if td == "string" then
    items[n + 1], items[n + 2], items[n + 3] = mime, data, TEXT
    return n + 3
  end
  if sub(mime, 1, 5) == "text/" then
    raise(format("%s: data for %s must be a string, got %s", who, mime, td))
  end
  local text, err = json_text(data)
  if not text then raise(format("%s: data for %s cannot be sent as JSON (%s)", who, mime, err)) end
  items[n + 1], items[n + 2], items[n + 3] = mime, text, JSON
  return n + 3
end

-- Appends the entries of mime bundle `bundle` (mime type -> data), in mime order.
local function put_bundle(items, n, bundle, who)
  local mimes, m = {}, 0
  for k in next, bundle do
    if type(k) ~= "string" then
      raise(format("%s: a mime bundle's keys must be mime type strings, got %s", who, type(k)))
    end
    m = m + 1
    mimes[m] = k
  end
  sort(mimes)
  for i = 1, m do n = put(items, n, mimes[i], bundle[mimes[i]], who) end
  return n, m
end

local function metadata_json(meta, who)
  if meta == nil then return nil end
  if type(meta) ~= "table" then raise(format("%s: metadata must be a table, got %s", who, type(meta))) end
  local text, err = json_text(meta)
  if not text then raise(format("%s: metadata cannot be sent as JSON (%s)", who, err)) end
  return text
end

-- The text/plain of a raw bundle that has none: its markdown source, else the text of its HTML,
-- else its mime types.
local function raw_plain(bundle)
  local md = rawget(bundle, "text/markdown")
  if type(md) == "string" then return md end
  local html = rawget(bundle, "text/html")
  if type(html) == "string" then return html_text(html) end
  local mimes = {}
  for k in next, bundle do mimes[#mimes + 1] = k end
  sort(mimes)
  return "<" .. concat(mimes, ", ") .. ">"
end

-- The __display metamethod of `v`, if it has one.
local function display_hook(v)
  local mt = getmetatable(v)
  return mt and rawget(mt, "__display")
end

-- The bundle of any value: its __display's, with a text/plain added if missing, or the pretty
-- text. Returns the items, their count, and the metadata table (or nil).
local function bundle_of(v)
  local hook = display_hook(v)
  if not hook then return {"text/plain", show(v), TEXT}, 3, nil end
  local ok, bundle, meta = pcall(hook, v)
  if not ok then raise("__display failed: " .. tostring(bundle)) end
  local tb = type(bundle)
  if tb == "string" then
    return {"text/plain", bundle, TEXT}, 3, meta
  elseif tb ~= "table" then
    raise(format("__display must return a mime bundle (a table of mime type -> data) or a string, got %s", tb))
  end
  if meta ~= nil and type(meta) ~= "table" then
    raise(format("__display must return its metadata (second result) as a table, got %s", type(meta)))
  end
  local items = {}
  local n = put_bundle(items, 0, bundle, "__display")
  if rawget(bundle, "text/plain") == nil then
    local md, html = rawget(bundle, "text/markdown"), rawget(bundle, "text/html")
    local text = type(md) == "string" and md or type(html) == "string" and html_text(html) or show(v)
    n = put(items, n, "text/plain", text, "__display")
  end
  return items, n, meta
end

local function send(id, update, items, n, meta, who)
  publish(id, update, metadata_json(meta, who), unpack(items, 1, n))
end

---------------------------------------------------------------------------------------------------
-- What each kind of output shows: builders taking the arguments of their constructor (and of
-- the update of their handles), returning items, count, metadata.

local function check_string(fname, s)
  if type(s) ~= "string" then bad_argument(1, fname, "string", type(s)) end
end

local IMAGE_FORMATS = {png = "image/png", jpeg = "image/jpeg", gif = "image/gif"}

local function sniff(data)
  if sub(data, 1, 8) == "\137PNG\r\n\26\n" then return "image/png" end
  if sub(data, 1, 3) == "\255\216\255" then return "image/jpeg" end
  local head = sub(data, 1, 6)
  if head == "GIF87a" or head == "GIF89a" then return "image/gif" end
  return nil
end

local function image_size(fname, opts, field)
  local v = opts[field]
  if v ~= nil and (type(v) ~= "number" or not (v > 0)) then
    raise(format("bad option '%s' to '%s' (positive number expected, got %s)", field, fname,
                 type(v) == "number" and tostring(v) or type(v)))
  end
  return v
end

local BUILD = {}

function BUILD.display(fname, v)
  return bundle_of(v)
end

function BUILD.html(fname, s)
  check_string(fname, s)
  return {"text/html", s, TEXT, "text/plain", html_text(s), TEXT}, 6
end

function BUILD.markdown(fname, s)
  check_string(fname, s)
  return {"text/markdown", s, TEXT, "text/plain", s, TEXT}, 6
end

function BUILD.svg(fname, s)
  check_string(fname, s)
  return {"image/svg+xml", s, TEXT, "text/plain", svg_text(s), TEXT}, 6
end

function BUILD.text(fname, s)
  check_string(fname, s)
  return {"text/plain", s, TEXT}, 3
end

function BUILD.json(fname, value)
  local tv, text = type(value), nil
  if tv == "table" then
    local err
    text, err = json_text(value)
    if not text then raise(format("bad argument #1 to '%s' (%s)", fname, err)) end
  elseif tv == "string" then
    local ok, err = pcall(json_decode, value)
    if not ok then raise(format("bad argument #1 to '%s' (not valid JSON: %s)", fname, bare(err))) end
    text = value
  else
    bad_argument(1, fname, "table or JSON string", tv)
  end
  return {"application/json", text, JSON, "text/plain", text, TEXT}, 6
end

function BUILD.image(fname, data, opts)
  check_string(fname, data)
  local mime, width, height
  if opts ~= nil then
    if type(opts) ~= "table" then bad_argument(2, fname, "table", type(opts)) end
    local fmt = opts.format
    if fmt ~= nil then
      mime = IMAGE_FORMATS[fmt]
      if not mime then
        raise(format("bad option 'format' to '%s' (\"png\", \"jpeg\" or \"gif\" expected, got %s)", fname,
                     type(fmt) == "string" and format("%q", fmt) or type(fmt)))
      end
    end
    width, height = image_size(fname, opts, "width"), image_size(fname, opts, "height")
  end
  mime = mime or sniff(data)
  if not mime then
    raise(format("bad argument #1 to '%s' (not PNG, JPEG or GIF data; set opts.format if it is one of them)",
                 fname))
  end
  local meta
  if width or height then meta = {[mime] = {width = width, height = height}} end
  return {mime, data, BASE64, "text/plain", image_text(mime, data), TEXT}, 6, meta
end

---------------------------------------------------------------------------------------------------
-- Handles

---@class DisplayHandle an output shown by display() or cru.display.*, updated in place by :update()
local Handle = {}
local handles = setmetatable({}, {__mode = "k"}) -- handle -> {kind = ..., id = ...}

local HANDLE_MT = {
  __index = Handle,
  __name = "DisplayHandle",
  __tostring = function(h)
    local s = handles[h]
    return format("DisplayHandle(%s, %s)", s.kind, s.id)
  end,
}

local function state_of(h, method)
  local s = handles[h]
  if s == nil then
    raise(format("calling '%s' on bad self (DisplayHandle expected, got %s)", method, type(h)))
  end
  return s
end

local function new_handle(kind, id)
  local h = engine.new_object(HANDLE_MT)
  handles[h] = {kind = kind, id = id}
  return h
end

-- Publishes a new output of `kind` built from the arguments, and returns its handle.
local function show_new(kind, fname, ...)
  local items, n, meta = BUILD[kind](fname, ...)
  local id = new_id()
  send(id, false, items, n, meta, fname)
  return new_handle(kind, id)
end

--- Replaces what the output shows (update_display_data on its display id). Takes what the
--- function that made the handle took: any value for display(), a string for html(), ...
---@param ... any
function Handle:update(...)
  local s = state_of(self, "update")
  local items, n, meta = BUILD[s.kind]("update", ...)
  send(s.id, true, items, n, meta, "update")
end

--- Returns the output's display id (a string).
---@return string
function Handle:display_id()
  return state_of(self, "display_id").id
end

---------------------------------------------------------------------------------------------------
-- display, clear_output, cru.display

--- Shows each value as an output of its own and returns one handle per value. A value whose
--- metatable has __display shows the mime bundle it returns; anything else shows as text
--- (pretty-printed; a string as it is).
---@param ... any
---@return DisplayHandle ...
function M.display(...)
  local n = select("#", ...)
  if n == 1 then return show_new("display", "display", (...)) end
  local built, ids, hs = {}, {}, {}
  for i = 1, n do -- every bundle first: a failing __display publishes nothing
    local items, count, meta = bundle_of((select(i, ...)))
    built[i] = {items, count, metadata_json(meta, "display")}
  end
  for i = 1, n do
    local b = built[i]
    ids[i] = new_id()
    publish(ids[i], false, b[3], unpack(b[1], 1, b[2]))
    hs[i] = new_handle("display", ids[i])
  end
  return unpack(hs, 1, n)
end

local function clear_output(fname, wait)
  if wait ~= nil and type(wait) ~= "boolean" then bad_argument(1, fname, "boolean", type(wait)) end
  clear(wait == true)
end

--- Clears the cell's output; with `wait`, only when the next output arrives (no flicker).
---@param wait? boolean
function M.clear_output(wait)
  clear_output("clear_output", wait)
end

local D = {} -- cru.display

--- Shows HTML and returns its handle; its text (tables as aligned rows) is the text/plain
--- fallback that terminals show.
---@param html string
---@return DisplayHandle
function D.html(html)
  return show_new("html", "html", html)
end

--- Shows Markdown and returns its handle; the source is the text/plain fallback.
---@param markdown string
---@return DisplayHandle
function D.markdown(markdown)
  return show_new("markdown", "markdown", markdown)
end

--- Shows JSON (application/json) and returns its handle.
---@param value table|string a table (encoded as cru.json.encode does) or a JSON text
---@return DisplayHandle
function D.json(value)
  return show_new("json", "json", value)
end

---@class cru.display.ImageOpts
---@field format? "png"|"jpeg"|"gif" the image type (default: read from the data's first bytes)
---@field width? number width on the page, in pixels (default: the image's own)
---@field height? number height on the page, in pixels (default: the image's own)

--- Shows an image and returns its handle. The type comes from the data's first bytes unless
--- opts.format names it; width and height (pixels) size the image on the page.
---@param data string raw PNG, JPEG or GIF bytes
---@param opts? cru.display.ImageOpts
---@return DisplayHandle
function D.image(data, opts)
  return show_new("image", "image", data, opts)
end

--- Shows an SVG image (image/svg+xml) and returns its handle.
---@param svg string
---@return DisplayHandle
function D.svg(svg)
  return show_new("svg", "svg", svg)
end

--- Shows plain text and returns its handle.
---@param text string
---@return DisplayHandle
function D.text(text)
  return show_new("text", "text", text)
end

--- Clears the cell's output; with `wait`, only when the next output arrives (no flicker).
---@param wait? boolean
function D.clear(wait)
  clear_output("clear", wait)
end

D.format = pretty.format
M.module = D

---------------------------------------------------------------------------------------------------
-- ilua.display (xeus-lua)

local DISPLAYABLE_MT = {
  __name = "ilua.displayable",
  __display = function(d) return d.bundle end,
  __tostring = function(d) return d.label end,
}

local function displayable(mime, data, label)
  return setmetatable({bundle = {[mime] = data, ["text/plain"] = label}, label = label}, DISPLAYABLE_MT)
end

-- Publishes (or updates) a raw bundle, as xeus-lua's display_data and update_display_data do.
local function publish_raw(fname, update, bundle, metadata, transient)
  if type(bundle) ~= "table" then bad_argument(1, fname, "table", type(bundle)) end
  if metadata ~= nil and type(metadata) ~= "table" then bad_argument(2, fname, "table", type(metadata)) end
  if transient ~= nil and type(transient) ~= "table" then bad_argument(3, fname, "table", type(transient)) end
  local id = transient and transient.display_id
  if type(id) == "number" then id = tostring(id) end
  if id ~= nil and type(id) ~= "string" then
    raise(format("bad argument #3 to '%s' (transient.display_id must be a string, got %s)", fname, type(id)))
  end
  if update and id == nil then
    raise(format("bad argument #3 to '%s' (transient.display_id expected: the id of the output to update)",
                 fname))
  end
  local items = {}
  local n, m = put_bundle(items, 0, bundle, fname)
  if m == 0 then raise(format("bad argument #1 to '%s' (the mime bundle is empty)", fname)) end
  if rawget(bundle, "text/plain") == nil then n = put(items, n, "text/plain", raw_plain(bundle), fname) end
  send(id, update, items, n, metadata, fname)
end

local I = {}

--- Shows each value, as display() does; a table without __display but with a `display` method
--- (xeus-lua 0.9.1's convention) has that method called instead.
---@param ... any
function I.display(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "table" and not display_hook(v) and type(v.display) == "function" then
      v:display()
    else
      show_new("display", "display", v)
    end
  end
end

--- Returns a displayable HTML object (shown by display(), or as a cell's result).
---@param html string
---@return table
function I.html(html)
  check_string("html", html)
  return displayable("text/html", html, html_text(html))
end

--- Returns a displayable plain-text object.
---@param text string
---@return table
function I.plain_text(text)
  check_string("plain_text", text)
  return displayable("text/plain", text, text)
end

--- Returns a displayable LaTeX object (text/latex).
---@param latex string
---@return table
function I.latex(latex)
  check_string("latex", latex)
  return displayable("text/latex", latex, latex)
end

--- Returns a displayable JSON object (application/json).
---@param value table
---@return table
function I.json(value)
  if type(value) ~= "table" then bad_argument(1, "json", "table", type(value)) end
  local text, err = json_text(value)
  if not text then raise(format("bad argument #1 to 'json' (%s)", err)) end
  return displayable("application/json", value, text)
end

--- Publishes a raw mime bundle (display_data); transient.display_id gives it an id to update.
---@param bundle table<string, any> mime type -> data
---@param metadata? table
---@param transient? {display_id?: string}
function I.display_data(bundle, metadata, transient)
  publish_raw("display_data", false, bundle, metadata, transient)
end

--- Replaces the output shown with id transient.display_id (update_display_data).
---@param bundle table<string, any> mime type -> data
---@param metadata? table
---@param transient {display_id: string}
function I.update_display_data(bundle, metadata, transient)
  publish_raw("update_display_data", true, bundle, metadata, transient)
end

--- Clears the cell's output; with `wait`, only when the next output arrives.
---@param wait? boolean
function I.clear_output(wait)
  clear_output("clear_output", wait)
end

M.ilua = {display = I}

---------------------------------------------------------------------------------------------------
-- Cell results (called by display.py)

--- The execute_result of a cell's values: nothing when there is nothing to show (no values,
--- or only display handles), else the metadata JSON (or nil) and (mime, data, kind) triples.
--- One value with __display shows its bundle; otherwise every value as text, tab-separated
--- (newline-separated when one spans lines), strings quoted as Lua writes them (a lone string
--- of several lines as a [[...]] block).
---@param ... any
function M.result(...)
  local n = select("#", ...)
  if n == 1 then
    local v = ...
    local tv = type(v)
    if tv == "string" then return nil, "text/plain", pretty.result(v, true), TEXT end
    if tv == "number" or tv == "boolean" or tv == "nil" then return nil, "text/plain", tostring(v), TEXT end
    if handles[v] then return end
    if display_hook(v) then
      local items, count, meta = bundle_of(v)
      return metadata_json(meta, "__display"), unpack(items, 1, count)
    end
    return nil, "text/plain", show(v), TEXT
  end
  local kept, m = {}, 0
  for i = 1, n do
    local v = select(i, ...)
    if not handles[v] then
      m = m + 1
      kept[m] = v
    end
  end
  if m == 0 then return end
  if m == 1 then return M.result(kept[1]) end
  local parts, multiline = {}, false
  for i = 1, m do
    local s = pretty.result(kept[i])
    parts[i] = s
    if not multiline and find(s, "\n", 1, true) then multiline = true end
  end
  return nil, "text/plain", concat(parts, multiline and "\n" or "\t", 1, m), TEXT
end

--- The pretty text of an error value that is a table without __tostring (Lua would report it as
--- `table: 0x...`), and whether the failed task reported its `message` field instead; nil for
--- any other value. Called by display.py.
---@param e any
---@return string? text
---@return boolean? has_message
function M.error_value(e)
  if type(e) ~= "table" then return nil end
  local mt = getmetatable(e)
  if mt ~= nil and rawget(mt, "__tostring") ~= nil then return nil end
  local m = rawget(e, "message")
  return show(e), type(m) == "string" or type(m) == "number"
end

return M
