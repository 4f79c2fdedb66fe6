-- cru.emitter: a minimal event emitter.
--
-- Pure Lua so that handlers may yield. Each event has a list of handlers; a handler's id is its
-- index in that list (ids start at 1 per event). Removing a handler writes `false` into its slot,
-- so ids are never reused while the list exists; `off_all(event)` drops the list and ids restart
-- at 1. A handler registered with an owner is stored as {fn = fn, owner = owner}.
--
-- emit calls the live handlers in registration order under pcall (the prelude's, so interrupts
-- and cancellations pass through); the list's length is read once, so handlers added during an
-- emit are not called by it and handlers removed during it are skipped. A failing handler is
-- logged with `cru.log("warn", ...)` and reported to `cru.errors._capture`, both looked up at call
-- time (tests replace cru.log), and the other handlers still run.
--
-- The reference has no `remove_all`; the contract names it, so it is an alias of `off_all`.
--
-- Ours: a handler registered without an owner is still remembered, out of `_listeners`, as the
-- registration of the code that ran `on` (engine.current_owner(): a cell, a plugin), so that
-- re-running a cell or reloading a plugin removes it from every emitter (`_unregister_owner`,
-- called by the runtime's removal by owner). `_listeners` keeps the reference's shape.

local engine = ...
local pcall, setmetatable, type, tostring, pairs = pcall, setmetatable, type, tostring, pairs

-- Every emitter made (weakly), and for each the owner current when a handler was registered
-- without one: emitter -> {event -> {id -> owner}}.
local emitters = setmetatable({}, {__mode = "k"})
local implicit = setmetatable({}, {__mode = "k"})

---@class Emitter
---@field _listeners table<any, (function|{fn: function, owner: any}|false)[]>
local Emitter = {}
Emitter.__index = Emitter

local function handler_of(entry)
  if type(entry) == "table" then return entry.fn end
  return entry
end

--- Creates a new emitter with no handlers.
---@return Emitter
function Emitter.new()
  local em = setmetatable({_listeners = {}}, Emitter)
  emitters[em] = true
  return em
end

--- Registers `fn` for `event` and returns its id (per event, starting at 1). Handlers fire in
--- registration order. An `owner` tags the handler for `unregister_owner`.
---@param event any the event name
---@param fn function the handler, called with emit's arguments (not the event name)
---@param owner? any who registered it (a plugin name)
---@return integer id
function Emitter:on(event, fn, owner)
  local list = self._listeners[event]
  if not list then
    list = {}
    self._listeners[event] = list
  end
  local id = #list + 1
  if owner ~= nil then
    list[id] = {fn = fn, owner = owner}
  else
    list[id] = fn
    local current = engine.current_owner()
    if current ~= nil then
      local by_event = implicit[self]
      if not by_event then
        by_event = {}
        implicit[self] = by_event
      end
      local ids = by_event[event]
      if not ids then
        ids = {}
        by_event[event] = ids
      end
      ids[id] = current
    end
  end
  return id
end

--- Registers a one-shot handler: it is removed before `fn` runs, even if `fn` fails.
---@param event any the event name
---@param fn function the handler
---@param owner? any who registered it
---@return integer id
function Emitter:once(event, fn, owner)
  local id
  id = self:on(event, function(...)
    self:off(event, id)
    fn(...)
  end, owner)
  return id
end

--- Removes the handler `id` of `event` (nothing happens for an unknown event or id).
---@param event any the event name
---@param id integer the id `on` or `once` returned
function Emitter:off(event, id)
  local list = self._listeners[event]
  if list then list[id] = false end
end

--- Removes every handler of `event`, or of every event when `event` is nil. Ids restart at 1.
---@param event? any the event name
function Emitter:off_all(event)
  local by_event = implicit[self]
  if event then
    self._listeners[event] = nil
    if by_event then by_event[event] = nil end
  else
    self._listeners = {}
    implicit[self] = nil
  end
end

--- Alias of `off_all` (the name the API documentation uses).
---@param event? any the event name
Emitter.remove_all = Emitter.off_all

local function fire(self, context, event, ...)
  local list = self._listeners[event]
  if not list then return end
  for i = 1, #list do
    local entry = list[i]
    local fn = entry and handler_of(entry)
    if fn then
      local ok, err = pcall(fn, ...)
      if not ok then
        cru.log("warn", "emitter handler error on '" .. event .. "': " .. tostring(err))
        if cru.errors and cru.errors._capture then
          local owner = (type(entry) == "table" and entry.owner) or "unknown"
          cru.errors._capture(owner, tostring(err), context .. "('" .. tostring(event) .. "')")
        end
      end
    end
  end
end

--- Calls every live handler of `event` with the arguments, in registration order. A failing
--- handler is logged as a warning and does not stop the others. Returns nothing.
---@async
---@param event any the event name
---@param ... any the handlers' arguments
function Emitter:emit(event, ...)
  fire(self, "emitter:emit", event, ...)
end

--- Same as `emit` (synchronous too, as in Crucible); failures are reported with the context
--- "emitter:emit_async('<event>')".
---@async
---@param event any the event name
---@param ... any the handlers' arguments
function Emitter:emit_async(event, ...)
  fire(self, "emitter:emit_async", event, ...)
end

--- The number of live handlers of `event`.
---@param event any the event name
---@return integer
function Emitter:count(event)
  local list = self._listeners[event]
  if not list then return 0 end
  local n = 0
  for i = 1, #list do
    if list[i] then n = n + 1 end
  end
  return n
end

--- Removes every handler registered with this `owner`, on every event.
---@param owner any the owner given to `on` or `once`
function Emitter:unregister_owner(owner)
  for _, list in pairs(self._listeners) do
    for i = 1, #list do
      local entry = list[i]
      if type(entry) == "table" and entry.owner == owner then list[i] = false end
    end
  end
end

-- Removes (or counts, with `count_only`) every handler of `owner` in one emitter: tagged with it,
-- or registered while it was the current owner.
local function owned_by(em, owner, count_only)
  local n = 0
  if owner == nil then return n end -- handlers nobody owns stay
  local by_event = implicit[em] or {}
  for event, list in pairs(em._listeners) do
    local ids = by_event[event]
    for i = 1, #list do
      local entry = list[i]
      if entry and ((type(entry) == "table" and entry.owner == owner) or (ids and ids[i] == owner)) then
        n = n + 1
        if not count_only then
          list[i] = false
          if ids then ids[i] = nil end
        end
      end
    end
  end
  return n
end

local global

local emitter = {new = Emitter.new}

--- Removes every handler of `owner` from every emitter, the global one included (the runtime's
--- removal by owner). Returns how many handlers were removed.
---@param owner string
---@return integer
function emitter._unregister_owner(owner)
  local n = 0
  for em in pairs(emitters) do n = n + owned_by(em, owner, false) end
  return n
end

--- How many live handlers `owner` has in every emitter.
---@param owner string
---@return integer
function emitter._count_owner(owner)
  local n = 0
  for em in pairs(emitters) do n = n + owned_by(em, owner, true) end
  return n
end

--- The process-wide emitter, created on first use (shared by every plugin and cell).
---@return Emitter
function emitter.global()
  if not global then global = Emitter.new() end
  return global
end

return {emitter = emitter}
