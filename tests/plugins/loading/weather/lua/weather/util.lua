-- A module of the plugin's lua/ folder; counts how often it was loaded.
weather_util_loads = (weather_util_loads or 0) + 1
local M = {}
function M.describe(city, unit) return city .. ": 21 " .. unit end
return M
