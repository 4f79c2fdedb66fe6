-- One run of a plugin's test files, as the reference's `cru plugin test` does it: in a fresh
-- bare VM, with three package.path entries, the mocks set up once, every file loaded (in order,
-- sharing the VM) before any test runs, and everything run synchronously (engine.run_sync), so
-- an async call that has to wait fails with "attempt to yield from outside a coroutine".
--
-- Called as a task with (engine, run), where `run` is
--   {root = <plugin folder>, parent = <its parent>, name = <folder name>,
--    files = {{path = ..., source = ... | nil, read_error = ... | nil}, ...},
--    init_fnl = {path = ..., source = ...} | nil, filter = <text> | nil,
--    fennel_env = <$CRUCIBLE_FENNEL> | nil, vendor_fennel = <root>/vendor/fennel.lua | nil}
-- Returns {passed, failed, pending, failures = {...}, load_failures = {{file, error}, ...}}.

local engine, run = ...

local tostring, tonumber, type, pcall, load, require = tostring, tonumber, type, pcall, load, require
local ipairs, loadfile = ipairs, loadfile
local find, sub = string.find, string.sub
local insert = table.insert

local NO_FENNEL = "no Fennel compiler found: put fennel.lua (Fennel 1.5) on the plugin's package.path"
  .. " (e.g. <plugin>/lua/fennel.lua), at <plugin>/vendor/fennel.lua, or name it in $CRUCIBLE_FENNEL"

local function add_path(entry)
  if not find(";" .. package.path .. ";", ";" .. entry .. ";", 1, true) then
    package.path = entry .. ";" .. package.path
  end
end

-- The Fennel compiler, looked for the first time a Fennel file needs it: $CRUCIBLE_FENNEL, then
-- require("fennel") on the run's package.path, then the plugin's vendor/fennel.lua. It becomes
-- the global `fennel`, as the reference's bundled compiler is.
local compiler, compiler_error

local function load_compiler_file(path)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, module = pcall(chunk, "fennel")
  if not ok then return nil, tostring(module) end
  return module
end

local function find_compiler()
  if compiler or compiler_error then return compiler, compiler_error end
  local module, err
  if run.fennel_env then
    module, err = load_compiler_file(run.fennel_env)
    if not module then err = "cannot load the Fennel compiler named by $CRUCIBLE_FENNEL: " .. err end
  else
    local ok, found = pcall(require, "fennel")
    if ok then
      module = found
    elseif not find(tostring(found), "module 'fennel' not found", 1, true) then
      err = "cannot load the Fennel compiler: " .. tostring(found)
    elseif run.vendor_fennel then
      module, err = load_compiler_file(run.vendor_fennel)
      if not module then err = "cannot load the Fennel compiler in vendor/fennel.lua: " .. err end
    end
  end
  if module and not (type(module) == "table" and type(module.compileString) == "function") then
    module, err = nil, "the Fennel compiler found has no compileString function"
  end
  compiler, compiler_error = module, (not module) and (err or NO_FENNEL) or nil
  if compiler then fennel = compiler end
  return compiler, compiler_error
end

-- Lua source for a file: as it is, or compiled from Fennel. nil and an error when it fails.
local function lua_source(file)
  if sub(file.path, -4) ~= ".fnl" then return file.source end
  local fnl, err = find_compiler()
  if not fnl then return nil, err end
  local ok, out = pcall(fnl.compileString, file.source)
  if not ok then return nil, "fennel compile: " .. tostring(out) end
  return out
end

local load_failures = {}

local function load_failure(path, message)
  insert(load_failures, {file = path, error = tostring(message)})
end

local function prepare()
  add_path(run.parent .. "/?.lua")
  add_path(run.parent .. "/?/init.lua")
  add_path(run.root .. "/lua/?.lua")

  -- A Fennel plugin is required by its folder name, like a Lua one through <parent>/?/init.lua.
  if run.init_fnl then
    local source, err = lua_source(run.init_fnl)
    local chunk
    if source then chunk, err = load(source, "@" .. run.init_fnl.path) end
    if chunk then
      package.preload[run.name] = chunk
    else
      load_failure(run.init_fnl.path, err)
    end
  end

  test_mocks.setup()

  if run.filter then
    local filter, it, pending = run.filter, it, pending
    _G.it = function(name, fn)
      if find(name, filter, 1, true) then return it(name, fn) end
    end
    _G.pending = function(name, fn)
      if find(name, filter, 1, true) then return pending(name, fn) end
    end
  end
end

local function load_files()
  for _, file in ipairs(run.files) do
    if file.read_error then
      load_failure(file.path, file.read_error)
    else
      local source, err = lua_source(file)
      local chunk
      if source then chunk, err = load(source, "@" .. file.path) end
      if not chunk then
        load_failure(file.path, err)
      else
        local ok, failure = pcall(chunk)
        if not ok then load_failure(file.path, failure) end
      end
    end
  end
end

local function text_or_nil(v)
  if v == nil then return nil end
  return tostring(v)
end

local function everything()
  prepare()
  load_files()
  local results = run_tests()
  local failures = {}
  for _, e in ipairs(results.errors or {}) do
    insert(failures, {
      name = tostring(e.name), suite = text_or_nil(e.suite), error = tostring(e.error),
      file = text_or_nil(e.file), line = text_or_nil(e.line),
    })
  end
  local outcomes = {}
  for _, t in ipairs(results.tests or {}) do
    insert(outcomes, {name = tostring(t.name), suite = text_or_nil(t.suite), status = tostring(t.status)})
  end
  return {
    passed = tonumber(results.passed) or 0, failed = tonumber(results.failed) or 0,
    pending = tonumber(results.pending) or 0, failures = failures, load_failures = load_failures,
    tests = outcomes,
  }
end

return engine.run_sync(everything)
