-- A single-file plugin: named after the file.
return {name = "single", commands = {hello = {fn = function(a) return "hello " .. tostring(a.who) end}}}
