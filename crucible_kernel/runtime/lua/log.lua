-- cru.log: a callable table with `levels`. Output goes to the host's log.

local engine, native = ...
local emit, raise = native.log, engine.raise
local select, type = select, type

local LEVELS = {debug = "debug", info = "info", warn = "warn", error = "error"}

local log = {levels = {TRACE = 0, DEBUG = 1, INFO = 2, WARN = 3, ERROR = 4, OFF = 5}}

setmetatable(log, {
  --- Logs `message` at `level` ("debug", "info", "warn" or "error"; any other string logs
  --- at info) through the host: a notebook shows warnings and errors on stderr.
  ---@param level string
  ---@param message string
  __call = function(_, ...)
    if select("#", ...) < 2 then raise("log requires 2 arguments") end
    local level, message = ...
    if type(level) ~= "string" then raise("log level must be a string") end
    if type(message) ~= "string" then raise("log message must be a string") end
    emit(LEVELS[level] or "info", message) -- any other level string logs at info
  end,
})

return log
