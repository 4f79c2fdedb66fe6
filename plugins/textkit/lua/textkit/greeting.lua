-- textkit.greeting: what the `greet` command says (notebooks/textkit.ipynb rewrites this file in
-- a copy of the plugin, then reloads it).

local greeting = {}

--- A greeting for `name`.
---@param name string
---@return string
function greeting.greet(name)
  return "Hello, " .. name .. "!"
end

return greeting
