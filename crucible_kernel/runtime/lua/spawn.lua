-- cru.spawn(fn, ...): run `fn` as an independent task.
--
-- The reference returns nothing; returning a handle breaks no plugin and lets a notebook wait for
-- or cancel what it started: h:wait(), h:cancel(), h:status(), h:done(), h:id().

local engine, native = ...
local await, raise, bad_argument = engine.await, engine.raise, engine.bad_argument
local getinfo, type, unpack, pack = debug.getinfo, type, table.unpack, table.pack

local Task = {}
local ids = setmetatable({}, {__mode = "k"}) -- handle -> task id

local MT = {
  __index = Task,
  __name = "Task",
  __tostring = function(h) return ("Task %d (%s)"):format(ids[h], native.status(ids[h])) end,
}

local function id_of(h, method)
  local id = ids[h]
  if id == nil then bad_argument(1, method, "Task", type(h)) end
  return id
end

--- Runs `fn(...)` as an independent task, concurrently with the caller, and returns a handle
--- to it (Crucible's returns nothing). An error in the task is logged as a warning.
---@param fn function the task's body
---@param ... any its arguments
---@return Task handle with :wait(), :cancel(), :status(), :done() and :id()
local function spawn(fn, ...)
  if type(fn) ~= "function" then bad_argument(1, "spawn", "function", type(fn)) end
  local info = getinfo(fn, "S")
  local id = engine.task(fn, ...)
  -- the handle wraps the Python task object, which keeps it alive as long as the handle lives
  local h = engine.new_object(MT, native.spawn(id, ("%s:%d"):format(info.short_src, info.linedefined)))
  ids[h] = id
  return h
end

--- Stops the task at its next wait. Returns false if it had already finished.
---@return boolean cancelled false if the task had already finished
function Task:cancel()
  return native.cancel(id_of(self, "cancel"))
end

--- "pending", "running", "waiting", "done", "failed" or "cancelled".
---@return string status
function Task:status()
  return native.status(id_of(self, "status"))
end

--- Whether the task has finished (done, failed or cancelled).
---@return boolean
function Task:done()
  return native.finished(id_of(self, "done"))
end

--- The task's id, as the runtime's task listings show it.
---@return integer
function Task:id()
  return id_of(self, "id")
end

local function joined(r)
  if r[1] == true then return unpack(r, 2, r.n) end
  if r[1] == false then error(r[2], 0) end -- the task's own error value, position included
  raise(r[2])
end

--- Waits for the task and returns its results, or raises its error.
---@async
---@return any ... the task's results
function Task:wait()
  return joined(pack(await(native.wait(id_of(self, "wait")))))
end

return spawn
