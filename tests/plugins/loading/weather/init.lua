-- A plugin of every part: tools, commands, a service, setup(cfg), hooks registered at load.
local util = require("weather.util")
local state = require("weather_state")
cru.timer.sleep(0) -- an async call at the top level is allowed
loading_marker_seen = __crucible_loading_plugin__
crucible.on("tool_result", function() end)
crucible.on_session_start(function() end)
cru.emitter.global():on("weather:update", function(v) weather_updates = (weather_updates or 0) + 1 end)

local M = {name = "weather", version = "9.9.9", capabilities = {"ui", "telepathy"}}
local cfg = {}

function M.setup(c)
  cfg = c
  setup_calls = (setup_calls or 0) + 1
  setup_unit = c.unit
end

M.tools = {
  forecast = {
    desc = "The forecast for a city",
    params = {{name = "city", type = "string", desc = "where"}, {name = "days", type = "number", optional = true}},
    fn = function(args)
      return {text = util.describe(args.city, cfg.unit or "C"), days = args.days, tags = args.tags,
              none = args.nothing, empty = cru.json.array({}), kind = type(args.nothing)}
    end,
  },
  slow = {desc = "Takes its time", fn = function(args) cru.timer.sleep(args.seconds) return "late" end},
  broken = {desc = "Raises", fn = function() error("no forecast today") end},
  nofn = {desc = "Declared without a function"},
}

M.commands = {
  echo = {desc = "Returns its argument", hint = "anything", fn = function(a) return a end},
  argtype = {desc = "The type of its argument", fn = function(a) return type(a) end},
}

M.services = {
  ticker = {desc = "Counts", fn = function()
    ticks = 0
    while true do
      ticks = ticks + 1
      print("tick " .. ticks)
      cru.timer.sleep(0.02)
    end
  end},
  ["not-a-service"] = "skipped: not a table",
  nofn = {desc = "skipped: no fn"},
}

M.handlers = {{event = "tool_result", name = "declared"}}
package.loaded["weather"] = M
return M
