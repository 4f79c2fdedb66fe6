local lib = require("lib")
load_order = (load_order or "") .. "app,"
return {name = "app", tools = {twice = {fn = function(a) return lib.double(a.n) end}}}
