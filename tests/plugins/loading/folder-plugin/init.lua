-- No manifest: named after its folder, version 0.0.0 unless the spec says otherwise.
return {version = "0.3.0", description = "from the spec", tools = {ping = {fn = function() return "pong" end}}}
