-- A tour of the cru.* runtime, run by `make demo` until the notebook takes over.
print("Lua " .. _VERSION:match("%d+%.%d+") .. " with the cru.* runtime")

cru.log("info", "plugin loaded")

-- Two tasks that sleep concurrently finish together.
local t0 = cru.timer.clock()
local a = cru.spawn(function() cru.timer.sleep(0.3) return "fast" end)
local b = cru.spawn(function() cru.timer.sleep(0.5) return "slow" end)
print(a:wait(), b:wait(), ("both done after %.1f s"):format(cru.timer.clock() - t0))

-- A deadline around slow work.
print(cru.timer.timeout(0.1, function() cru.timer.sleep(5) end))

-- A rate limiter with two tokens, refilled every 0.2 s.
local limiter = cru.ratelimit.new({capacity = 2, interval = 0.2})
for i = 1, 4 do
  limiter:acquire()
  print(("request %d at %.1f s"):format(i, cru.timer.clock() - t0))
end
