-- The plugin test API: busted-style globals `describe`, `it`, `pending`,
-- `before_each`, `after_each`, `run_tests`, and `assert` replaced by a callable table of checks.
--
-- Pure Lua, so test bodies and hooks may yield when they run inside a task (a cell). The runner
-- of `crucible-kernel test` calls `run_tests` synchronously, as the reference does. Results are
-- returned, never printed. Registered in every VM, the notebook's too, as in the reference.
--
-- State is shared by every file loaded into the VM: tests accumulate in registration order (a
-- nested suite's tests register when its body ends, so before its parent's own tests).

local type, tostring, pairs, ipairs, pcall, error, select = type, tostring, pairs, ipairs, pcall, error, select
local setmetatable, format, find, match = setmetatable, string.format, string.find, string.match
local insert, concat = table.insert, table.concat

local M = {}

local tests = {}        -- every registered test, in registration order
local current = nil     -- the suite whose body is running

---------------------------------------------------------------------------------------------------
-- Assertions. Each raises at level 2, so the message carries the test's own file and line.

local function shown(value)
  if type(value) == "string" then return '"' .. value .. '"' end
  if type(value) == "table" then return "{...}" end
  return tostring(value)
end

local function mismatch(expected, actual)
  error(format("Expected: %s\nActual: %s", shown(expected), shown(actual)), 3)
end

-- Structural equality. A table met again on either side counts as equal, so cycles end.
local function same(a, b, seen)
  if type(a) == "table" and type(b) == "table" then
    if seen[a] or seen[b] then return true end
    seen[a], seen[b] = true, true
  end
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do
    if not same(v, b[k], seen) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

local checks = {}

--- Fails unless `expected == actual` (Lua's `==`). Alias: `assert.equals`.
---@param expected any
---@param actual any
function checks.equal(expected, actual)
  if expected ~= actual then mismatch(expected, actual) end
end
checks.equals = checks.equal

--- Fails unless the two values are equal key by key, recursively (cycles are tolerated).
---@param expected any
---@param actual any
function checks.deep_equal(expected, actual)
  if not same(expected, actual, {}) then mismatch(expected, actual) end
end

--- Fails if `value` is nil or false.
---@param value any
function checks.truthy(value)
  if not value then error(format("Expected truthy value, got: %s", shown(value)), 2) end
end

--- Fails unless `value` is nil or false.
---@param value any
function checks.falsy(value)
  if value then error(format("Expected falsy value, got: %s", shown(value)), 2) end
end

--- Fails unless `value` is nil.
---@param value any
function checks.is_nil(value)
  if value ~= nil then error(format("Expected nil, got: %s", shown(value)), 2) end
end

--- Fails if `value` is nil.
---@param value any
function checks.is_not_nil(value)
  if value == nil then error("Expected a non-nil value, got: nil", 2) end
end

local function type_check(wanted)
  return function(value)
    if type(value) ~= wanted then error(format("Expected %s, got: %s", wanted, type(value)), 2) end
  end
end

--- Fails unless `value` is a string.
---@param value any
checks.is_string = type_check("string")
--- Fails unless `value` is a number.
---@param value any
checks.is_number = type_check("number")
--- Fails unless `value` is a table.
---@param value any
checks.is_table = type_check("table")
--- Fails unless `value` is a function.
---@param value any
checks.is_function = type_check("function")

--- Fails unless `fn()` raises; with `expected`, unless its message contains that text (a plain
--- search in `tostring(err)`).
---@param fn function
---@param expected? string
function checks.has_error(fn, expected)
  local ok, err = pcall(fn)
  if ok then error("Expected function to raise an error, but it succeeded", 2) end
  if expected and not find(tostring(err), expected, 1, true) then
    error(format("Expected error message to contain: %s\nActual: %s", expected, tostring(err)), 2)
  end
end

M.assert = setmetatable(checks, {
  --- Lua's own `assert(v, message, ...)`: returns its arguments when `v` is true, else raises
  --- `message` ("assertion failed!" by default), blamed on the line that called it.
  __call = function(_, ...)
    if select("#", ...) == 0 then error("bad argument #1 to 'assert' (value expected)", 2) end
    if (...) then return ... end
    local message = select(2, ...)
    if message == nil then message = "assertion failed!" end
    error(message, 2)
  end,
})

---------------------------------------------------------------------------------------------------
-- Suites and tests.

--- Runs `fn` now as the body of a suite named `name`; the tests it declares register when it
--- ends. An error in the body fails the whole file with "Error in describe block '<name>': <err>".
---@param name string
---@param fn function
function M.describe(name, fn)
  local suite = {name = name, parent = current, tests = {}, before = {}, after = {}}
  local outer = current
  current = suite
  local ok, err = pcall(fn)
  current = outer
  if not ok then error(format("Error in describe block '%s': %s", name, err), 2) end
  for _, test in ipairs(suite.tests) do insert(tests, test) end
end

local function declare(what, name, fn, extra)
  if not current then error(what .. "() must be called inside describe()", 3) end
  insert(current.tests, {name = name, fn = fn, suite = current, is_pending = extra})
end

--- Declares a test of the enclosing suite; `run_tests` calls `fn`.
---@param name string
---@param fn function
function M.it(name, fn)
  declare("it", name, fn, nil)
end

--- Declares a test that is counted as pending and not run.
---@param name string
---@param fn? function
function M.pending(name, fn)
  declare("pending", name, fn, true)
end

--- Runs `fn` before each test of the enclosing suite (and of the suites inside it).
---@param fn function
function M.before_each(fn)
  if not current then error("before_each() must be called inside describe()", 2) end
  insert(current.before, fn)
end

--- Runs `fn` after each test of the enclosing suite (and of the suites inside it).
---@param fn function
function M.after_each(fn)
  if not current then error("after_each() must be called inside describe()", 2) end
  insert(current.after, fn)
end

local function suite_path(suite)
  local names = {}
  while suite do
    insert(names, 1, suite.name)
    suite = suite.parent
  end
  return concat(names, " / ")
end

-- The suites of a test, outermost first.
local function chain(test)
  local suites = {}
  local suite = test.suite
  while suite do
    insert(suites, 1, suite)
    suite = suite.parent
  end
  return suites
end

-- Runs one test; returns true when it passed, else false and its error.
local function run_one(test)
  local suites = chain(test)
  for _, suite in ipairs(suites) do -- outermost first; the first failure skips the rest
    for _, hook in ipairs(suite.before) do
      local ok, err = pcall(hook)
      if not ok then return false, err end
    end
  end
  local passed, failure = pcall(test.fn)
  for i = #suites, 1, -1 do -- innermost first; an error here fails only a passing test
    for _, hook in ipairs(suites[i].after) do
      local ok, err = pcall(hook)
      if not ok and passed then passed, failure = false, err end
    end
  end
  return passed, failure
end

--- Runs every registered test in registration order and returns
--- `{passed, failed, pending, errors = {{name, suite, error, file, line}, ...}}`, where `suite`
--- is the path of suite names ("outer / inner") and `file`/`line` come from the error's
--- `file:line:` prefix (nil without one). Prints nothing. (Ours also lists every test with its
--- status in `tests = {{name, suite, status}, ...}`.)
---@return table results
function M.run_tests()
  local results = {passed = 0, failed = 0, pending = 0, errors = {}, tests = {}}
  for _, test in ipairs(tests) do
    local outcome = {name = test.name, suite = suite_path(test.suite)}
    insert(results.tests, outcome)
    if test.is_pending then
      results.pending = results.pending + 1
      outcome.status = "pending"
    else
      local passed, err = run_one(test)
      outcome.status = passed and "passed" or "failed"
      if passed then
        results.passed = results.passed + 1
      else
        results.failed = results.failed + 1
        local text = tostring(err or "Unknown error")
        local file, line, message = match(text, "^(.-):(%d+): (.*)$")
        insert(results.errors, {
          name = test.name, suite = suite_path(test.suite), error = file and message or text,
          file = file, line = line,
        })
      end
    end
  end
  return results
end

return M
