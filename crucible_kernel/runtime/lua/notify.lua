-- crucible.notify / crucible.notify_once: tell the user something.
--
-- `level` is one of crucible.log.levels (TRACE 0 ... ERROR 4; default INFO): WARN and ERROR make
-- a warning, anything else a plain notification. With `opts.progress = {current = n,
-- total = m}` it is a progress notification. A notebook shows it in the output of the cell that
-- sent it (warnings on stderr); the command line prints it on stderr.
--
--   crucible.notify("Index rebuilt")
--   crucible.notify("Token expires tomorrow", crucible.log.levels.WARN)
--   crucible.notify("Indexing", nil, {progress = {current = 3, total = 10}})
--   crucible.notify_once("Running without a kiln")   -- shown the first time only

local engine, native = ...
local raise = engine.raise
local send = native.send
local type, tonumber, tointeger, floor, huge = type, tonumber, math.tointeger, math.floor, math.huge

-- What a level means (the reference's i32 conversion: integers, and floats truncated). Beyond
-- the reference, the level names "warn" and "error" count too.
local function kind_of(level)
  if type(level) == "number" then
    local n = tointeger(level) or (level >= 0 and floor(level) or -floor(-level))
    if n == 3 or n == 4 then return "warning" end
  elseif level == "warn" or level == "error" or level == "WARN" or level == "ERROR" then
    return "warning"
  end
  return "toast"
end

-- A count as mlua reads a usize field it falls back from: integers, floats truncated, numeric
-- strings; anything else (or a negative) is the default.
local function count_of(value, default)
  if type(value) == "string" then value = tonumber(value) end
  if type(value) ~= "number" or value ~= value or value < 0 or value == huge then return default end
  return floor(value)
end

local function deliver(message, level, opts)
  local kind, current, total = kind_of(level), nil, nil
  if type(opts) == "table" and type(opts.progress) == "table" then
    kind = "progress"
    current, total = count_of(opts.progress.current, 0), count_of(opts.progress.total, 100)
  end
  send(message, kind, current, total, engine.current_owner())
end

local sent_once = {} -- messages notify_once has shown

--- Shows `message` to the user: a notification, a warning (level WARN or ERROR) or, with
--- `opts.progress = {current, total}`, a progress report.
---@param message string
---@param level? integer one of crucible.log.levels (default INFO)
---@param opts? {progress?: {current?: integer, total?: integer}}
local function notify(message, level, opts)
  if type(message) ~= "string" then raise("notify: first argument must be a string") end
  deliver(message, level, opts)
end

--- Like notify, but shows a given message only the first time; returns whether it did.
---@param message string
---@param level? integer one of crucible.log.levels (default INFO)
---@param opts? {progress?: {current?: integer, total?: integer}}
---@return boolean shown
local function notify_once(message, level, opts)
  if type(message) ~= "string" then raise("notify_once: first argument must be a string") end
  if sent_once[message] then return false end
  sent_once[message] = true
  deliver(message, level, opts)
  return true
end

return {notify = notify, notify_once = notify_once}
