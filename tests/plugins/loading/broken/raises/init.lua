crucible.on("tool_result", function() end)
local function explode() error("boom at load") end
explode()
