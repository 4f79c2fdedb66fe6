-- cru.check: argument validation for plugin functions.
--
-- Each validator returns nothing when the value is acceptable and raises otherwise.
-- `opts.optional = true` accepts nil (and only nil). The error levels are the reference's, and
-- they matter: a type failure is raised at level 3 from `fail` and a range or choice failure at
-- level 2 from the validator, so both name the line that called the validator
-- ("cell[3]:7: count: expected number, got string"). Keep `fail(...)` a plain call statement:
-- `return fail(...)` would be a tail call and shift the level.

local error, type, tostring, ipairs = error, type, tostring, ipairs
local format, concat = string.format, table.concat

local check = {}

local function fail(name, expected, got)
  error(format("%s: expected %s, got %s", name, expected, type(got)), 3)
end

--- Raises unless `val` is a string.
---@param val any the value to check
---@param name string the argument's name, for the message
---@param opts? {optional?: boolean} `optional` accepts nil
function check.string(val, name, opts)
  if opts and opts.optional and val == nil then return end
  if type(val) ~= "string" then fail(name, "string", val) end
end

--- Raises unless `val` is a number within `opts.min` and `opts.max` (inclusive).
---@param val any the value to check
---@param name string the argument's name, for the message
---@param opts? {optional?: boolean, min?: number, max?: number}
function check.number(val, name, opts)
  if opts and opts.optional and val == nil then return end
  if type(val) ~= "number" then fail(name, "number", val) end
  if opts then
    if opts.min and val < opts.min then
      error(format("%s: must be >= %s, got %s", name, opts.min, val), 2)
    end
    if opts.max and val > opts.max then
      error(format("%s: must be <= %s, got %s", name, opts.max, val), 2)
    end
  end
end

--- Raises unless `val` is a boolean.
---@param val any the value to check
---@param name string the argument's name, for the message
---@param opts? {optional?: boolean} `optional` accepts nil
function check.boolean(val, name, opts)
  if opts and opts.optional and val == nil then return end
  if type(val) ~= "boolean" then fail(name, "boolean", val) end
end

--- Raises unless `val` is a table.
---@param val any the value to check
---@param name string the argument's name, for the message
---@param opts? {optional?: boolean} `optional` accepts nil
function check.table(val, name, opts)
  if opts and opts.optional and val == nil then return end
  if type(val) ~= "table" then fail(name, "table", val) end
end

--- Raises unless `val` equals one of `choices` (strings or numbers, listed in the message).
---@param val any the value to check
---@param choices (string|number)[] the accepted values
---@param name string the argument's name, for the message
---@param opts? {optional?: boolean} `optional` accepts nil
function check.one_of(val, choices, name, opts)
  if opts and opts.optional and val == nil then return end
  for _, choice in ipairs(choices) do
    if val == choice then return end
  end
  error(format("%s: must be one of [%s], got %s", name, concat(choices, ", "), tostring(val)), 2)
end

--- Raises unless `val` is a function.
---@param val any the value to check
---@param name string the argument's name, for the message
---@param opts? {optional?: boolean} `optional` accepts nil
function check.func(val, name, opts)
  if opts and opts.optional and val == nil then return end
  if type(val) ~= "function" then fail(name, "function", val) end
end

return {check = check}
