-- cru.widgets and the widget forms of runtime objects: notebook widgets whose models live in the
-- kernel, so they keep updating while cells run, between cells and after a page reload.
--
-- Dependencies: the engine (raise, bad_argument, as_string, await, new_object, limiters) and the
-- natives of kernel/widgets/binding.py, which create and drive the ipywidgets models:
--   limiter(bucket) -> id                           the widget of a limiter's bucket
--   button(label) -> id
--   slider(integer, min, max, step, value, label, continuous) -> id
--   session(session_id) -> awaitable of (id, nil) or (nil, message)
--   bundle(id, source) -> data, metadata            what display() shows (source: the bucket)
--   text(id) -> string                              the plain-text form, current values
--   get(id, key) -> value                           set(id, key, value) -> nil or a message
--   close(id)
--   services_panel() -> data, metadata              the services panel (one per Lua state)
--   plugin_card(name) -> data, metadata             the card of a loaded plugin
--   plugin_metatable                                the metatable of cru.plugins' plugin tables
-- A widget object is a userdata; its properties (value, label, ...) read and write its model.
-- The Lua values a widget needs later (its object and callback, a limiter's bucket) stay here,
-- in `kept`, which Python reads when no Lua runs: callbacks then run as tasks of their own.
-- The panels' buttons run `actions` the same way.

local engine, native = ...
local raise, bad_argument, as_string, await = engine.raise, engine.bad_argument, engine.as_string,
  engine.await
local type, setmetatable, tostring, rawget, error = type, setmetatable, tostring, rawget, error
local format = string.format
local mtype = math.type

local ids = setmetatable({}, {__mode = "k"}) -- widget userdata -> id
local kept = {} -- id -> {widget = userdata, fn = callback} or {bucket = a limiter's bucket}

---@class Widget a notebook widget: display it, or make it a cell's value
local Widget = {}

local function id_of(w, method)
  local id = ids[w]
  if id == nil then raise(format("calling '%s' on bad self (Widget expected, got %s)", method, type(w))) end
  return id
end

local MT = {
  __name = "Widget",
  __index = function(w, key)
    local method = Widget[key]
    if method ~= nil then return method end
    return native.get(ids[w], key)
  end,
  __newindex = function(w, key, value)
    local err = native.set(ids[w], key, value)
    if err then raise(err) end
  end,
  __tostring = function(w) return native.text(ids[w]) end,
  __display = function(w) return native.bundle(ids[w]) end,
}

local function new_widget()
  return engine.new_object(MT)
end

--- Closes the widget: every output showing it goes blank and its callbacks stop.
function Widget:close()
  local id = id_of(self, "close")
  kept[id] = nil
  native.close(id)
end

local M = {}

--- Creates a button. Each click runs `fn(button)` as a task of its own, like cru.spawn: it may
--- wait, the stop button stops it while it computes, and what it prints goes to the cell that
--- made the button.
--- Properties: `label`, `disabled` (read and write), `clicks` (read).
---@param label string the text on the button
---@param fn? fun(button: Widget) called on each click
---@return Widget button
function M.button(label, fn)
  local text = as_string(label)
  if text == nil then bad_argument(1, "button", "string", type(label)) end
  if fn ~= nil and type(fn) ~= "function" then bad_argument(2, "button", "function", type(fn)) end
  local w = new_widget()
  local id = native.button(text)
  ids[w], kept[id] = id, {widget = w, fn = fn}
  return w
end

local function number_option(opts, key, default)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    raise(format("bad option '%s' to 'slider' (finite number expected, got %s)", key,
                 type(v) == "number" and tostring(v) or type(v)))
  end
  return v
end

---@class cru.widgets.SliderOpts
---@field min? number the lowest value (default: 0)
---@field max? number the highest value (default: 100)
---@field step? number the distance between values (default: 1 when min, max and value are integers, else a hundredth of the range)
---@field value? number where the slider starts (default: min)
---@field label? string the text beside the slider (default: none)
---@field on_change? fun(value: number, slider: Widget) runs as a task of its own after each change
---@field continuous? boolean report changes while the handle is dragged (default: true); false reports on release

--- Creates a slider. Integers for min, max, step and value make an integer slider, any float a
--- float one. Each change of the value, in the page or from Lua, runs `on_change(value, slider)`
--- as a task of its own, like cru.spawn; its output goes to the cell that made the slider.
--- Properties: `value`, `label`, `min`, `max`, `step`, `disabled` (read and write).
---@param opts? cru.widgets.SliderOpts
---@return Widget slider
function M.slider(opts)
  if opts == nil then
    opts = {}
  elseif type(opts) ~= "table" then
    bad_argument(1, "slider", "table", type(opts))
  end
  local min, max = number_option(opts, "min", 0), number_option(opts, "max", 100)
  local value, step = number_option(opts, "value", nil), number_option(opts, "step", nil)
  if not (min < max) then raise(format("slider: min (%s) must be less than max (%s)", min, max)) end
  local integer = mtype(min) == "integer" and mtype(max) == "integer"
    and (value == nil or mtype(value) == "integer") and (step == nil or mtype(step) == "integer")
  value = value or min
  if value < min or value > max then
    raise(format("slider: value %s is outside min..max (%s..%s)", value, min, max))
  end
  if step == nil then step = integer and 1 or (max - min) / 100 end
  if not (step > 0) then raise(format("slider: step must be positive, got %s", step)) end
  local label = opts.label
  if label ~= nil then
    label = as_string(label)
    if label == nil then raise(format("bad option 'label' to 'slider' (string expected, got %s)", type(opts.label))) end
  end
  local on_change = opts.on_change
  if on_change ~= nil and type(on_change) ~= "function" then
    raise(format("bad option 'on_change' to 'slider' (function expected, got %s)", type(on_change)))
  end
  local continuous = opts.continuous
  if continuous ~= nil and type(continuous) ~= "boolean" then
    raise(format("bad option 'continuous' to 'slider' (boolean expected, got %s)", type(continuous)))
  end
  local w = new_widget()
  local id = native.slider(integer, min, max, step, value, label or "", continuous ~= false)
  ids[w], kept[id] = id, {widget = w, fn = on_change}
  return w
end

--- Returns a widget that shows session `session_id` live: the conversation, as it streams. Unlike
--- the session's live view (display(session)), the widget keeps updating after a page reload.
--- The same function is cru.widgets.session and cru.sessions.widget.
---@async
---@param session_id string|table a session id, or a session table from cru.sessions.create
---@return Widget|nil widget
---@return string|nil error
function M.session(session_id)
  if type(session_id) == "table" then session_id = session_id.id end
  local sid = as_string(session_id)
  if sid == nil then bad_argument(1, "widget", "string", type(session_id)) end
  local id, err = await(native.session(sid))
  if id == nil then return nil, err end
  local w = new_widget()
  ids[w] = id
  return w
end

---------------------------------------------------------------------------------------------------
-- Limiters: display(limiter), or a limiter as a cell's value, shows its gauge. Every display of
-- one limiter shares one model.

local limiters = engine.limiters
if limiters then
  local shown = setmetatable({}, {__mode = "k"}) -- bucket -> widget id
  limiters.metatable.__display = function(l)
    local b = limiters.bucket(l)
    local id = shown[b]
    if id == nil then
      id = native.limiter(b)
      shown[b], kept[id] = id, {bucket = b}
    end
    return native.bundle(id, b)
  end
end

---------------------------------------------------------------------------------------------------
-- The services panel and plugin cards: display(cru.services) or cru.services as a cell's value
-- shows the panel; a plugin table (from cru.plugins.load, reload or list) shows its plugin's
-- card. What their buttons run, with copies of the functions taken now, before any cell could
-- replace them; a failure is an error, which the panel shows.

local actions = {}
local services_api, plugins_api = cru.services, cru.plugins

if services_api then
  local stop, restart = services_api.stop, services_api.restart
  setmetatable(services_api, {__display = function() return native.services_panel() end})

  function actions.stop(id)
    local ok, err = stop(id)
    if not ok then error(err, 0) end
  end

  function actions.restart(id)
    local ok, err = restart(id)
    if not ok then error(err, 0) end
  end
end

if plugins_api and native.plugin_metatable then
  local reload = plugins_api.reload
  native.plugin_metatable.__display = function(p)
    local name = as_string(rawget(p, "name"))
    if name == nil then return "<a plugin table without a name>" end
    return native.plugin_card(name)
  end

  function actions.reload(name)
    local plugin, err = reload(name)
    if plugin == nil then error(err, 0) end
  end
end

return {module = M, session_widget = M.session, kept = kept, actions = actions}
