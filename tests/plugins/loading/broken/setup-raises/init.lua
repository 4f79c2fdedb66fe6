crucible.on("tool_result", function() end)
return {name = "setup-raises", tools = {t = {fn = function() return 1 end}},
        services = {s = {fn = function() cru.timer.sleep(10) end}},
        setup = function(cfg) error("missing token") end}
