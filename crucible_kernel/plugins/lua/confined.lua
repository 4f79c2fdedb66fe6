-- A plugin's own environment, for a plugin loaded in safe mode (`%plugin load --safe`).
--
-- The plugin's files run with `_ENV` set to a table of their own instead of the shared globals.
-- Everything in it is a copy: the standard libraries, `cru` and `crucible` with each of their
-- modules, the globals `http`, `fs`, `shell`, `oq`, `paths` and `graph`; in the copies, every
-- function the engine declared with `engine.needs` is guarded under the plugin's policy (the
-- capabilities its manifest and spec table declare). Aliases stay aliases (`http` is
-- `cru.http`, `crucible.http` too). Not in it: C modules (no `package.loadlib`, no C
-- searchers), the debug library beyond `traceback` and a `getinfo` that never hands out the
-- function of a stack level, `cru.plugins` and `cru.services` (which load and stop other code),
-- `test_mocks` and the names cells defined. `load`, `loadfile` and `dofile` compile text only
-- into the plugin's environment unless given another; `require` has a `package` of the
-- plugin's own (its `lua/` folder, its search path, then the shared package.path at load
-- time), so the modules it loads run confined too and are not shared with other code.
--
-- Run once per Lua state, before any user code: the standard functions it hands out are those
-- of that moment, so a cell that replaces `load` or `print` later changes nothing here.

local engine = ...
local G = _G
local type, next, select, pairs, ipairs, setmetatable = type, next, select, pairs, ipairs, setmetatable
local rawget, getmetatable = rawget, getmetatable
local format, concat, lower = string.format, table.concat, string.lower
local co_running = coroutine.running
local raw_load, raw_loadfile, getinfo, traceback = load, loadfile, debug.getinfo, debug.traceback
local shared_package = package
local searchpath, path_config = package.searchpath, package.config
local as_string, bad_argument, raise = engine.as_string, engine.bad_argument, engine.raise

-- The shared tables as they are now (a cell may rebind the globals later; these stay).
local CRU, CRUCIBLE = cru, crucible

-- The globals a plugin sees: the base library, the standard libraries and the reference's
-- plugin-VM globals (tables among them are copied, see `environment`).
local GLOBALS = {
  "assert", "collectgarbage", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print",
  "rawequal", "rawget", "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring",
  "type", "warn", "xpcall", "_VERSION", "inspect", "display", "clear_output",
  "coroutine", "string", "table", "math", "utf8", "io", "os", "http", "fs", "shell", "oq", "paths",
  "graph",
}
-- What `cru` and `crucible` hold that a confined plugin does not get.
local WITHHELD = {plugins = true, services = true}

local base = {}
for _, name in ipairs(GLOBALS) do base[name] = rawget(G, name) end

local ALIASES = {vault = "kiln", web_socket = "websocket", ["intercept-tools"] = "intercept_tools"}

--- Grants `policy` the capabilities a spec table lists (names as the manifest accepts them,
--- case-insensitive; unknown ones are left out, the loader warns about them).
---@param policy table
---@param capabilities any the spec table's `capabilities`
local function grant(policy, capabilities)
  if type(capabilities) ~= "table" then return end
  for i = 1, #capabilities do
    local name = as_string(capabilities[i])
    if name then
      name = lower(name)
      policy.granted[ALIASES[name] or name] = true
    end
  end
end

-- debug.getinfo without `func` for a stack level: the functions running above a plugin are the
-- runtime's own (the loader, the task driver), and calling one of those with made-up arguments
-- would run code outside the plugin's environment. Levels count from the caller, as in Lua.
local function confined_getinfo(...)
  local first = ...
  local info
  if type(first) == "thread" then
    local level = select(2, ...)
    if type(level) == "number" and first == co_running() and level > 0 then
      info = getinfo(first, level + 1, select(3, ...))
    else
      info = getinfo(...)
    end
  elseif type(first) == "number" and first > 0 then
    info = getinfo(first + 1, select(2, ...))
  else
    info = getinfo(...)
  end
  if type(info) == "table" and type(first) ~= "function" then info.func = nil end
  return info
end

--- A new environment for the plugin described by `info` ({name, dir, kind, search_path}),
--- confined under `policy`.
---@param policy table from engine.policy
---@param info table
---@return table env
local function environment(policy, info)
  local env = {}
  local copies = {} -- shared table -> its copy, so that aliases stay aliases

  local function copy_of(t)
    local c = copies[t]
    if c == nil then
      c = engine.guarded_copy(policy, t)
      local mt = getmetatable(t)
      if mt ~= nil then setmetatable(c, mt) end -- callable tables such as cru.log keep working
      copies[t] = c
    end
    return c
  end

  local function namespace(root)
    if type(root) ~= "table" then return nil end
    local c = copy_of(root)
    for key, value in next, root do
      if WITHHELD[key] then
        c[key] = nil
      elseif type(value) == "table" then
        c[key] = copy_of(value)
      end
    end
    return c
  end

  for _, name in ipairs(GLOBALS) do
    local value = base[name]
    if type(value) == "table" then value = copy_of(value) end
    env[name] = value
  end
  env.cru, env.crucible = namespace(CRU), namespace(CRUCIBLE)
  env.debug = {traceback = traceback, getinfo = confined_getinfo}
  env._G = env

  function env.load(chunk, name, mode, ...)
    if select("#", ...) == 0 then return raw_load(chunk, name, mode, env) end
    return raw_load(chunk, name, mode, ...)
  end

  function env.loadfile(filename, mode, ...)
    if select("#", ...) == 0 then return raw_loadfile(filename, mode, env) end
    return raw_loadfile(filename, mode, ...)
  end

  function env.dofile(filename)
    local fn, err = raw_loadfile(filename, "t", env)
    if fn == nil then raise(err) end
    return fn()
  end

  -- require, on a package table of the plugin's own.
  local loaded = {}
  local pkg = {
    path = "", cpath = "", config = path_config, loaded = loaded, preload = {}, searchpath = searchpath,
  }
  local dirs = {}
  if info.kind ~= "file" then dirs[#dirs + 1] = info.dir .. "/lua/?.lua" end
  dirs[#dirs + 1] = info.search_path .. "/?.lua"
  dirs[#dirs + 1] = info.search_path .. "/?/init.lua"
  dirs[#dirs + 1] = shared_package.path
  pkg.path = concat(dirs, ";")

  local function preload_searcher(name)
    local loader = pkg.preload[name]
    if loader == nil then return format("no field package.preload['%s']", name) end
    return loader, ":preload:"
  end

  local function lua_searcher(name)
    local path = pkg.path
    if type(path) ~= "string" then raise("'package.path' must be a string") end
    local filename, err = searchpath(name, path)
    if filename == nil then return err end
    local fn, msg = raw_loadfile(filename, "t", env)
    if fn == nil then
      raise(format("error loading module '%s' from file '%s':\n\t%s", name, filename, msg))
    end
    return fn, filename
  end

  pkg.searchers = {preload_searcher, lua_searcher}

  function env.require(modname)
    local name = as_string(modname)
    if name == nil then bad_argument(1, "require", "string", type(modname)) end
    local value = loaded[name]
    if value ~= nil then return value end
    local searchers = pkg.searchers
    if type(searchers) ~= "table" then raise("'package.searchers' must be a table") end
    local messages = {}
    for i = 1, #searchers do
      local loader, extra = searchers[i](name)
      if type(loader) == "function" then
        local result = loader(name, extra)
        if result ~= nil then loaded[name] = result end
        if loaded[name] == nil then loaded[name] = true end
        return loaded[name], extra
      elseif type(loader) == "string" then
        messages[#messages + 1] = "\n\t" .. loader
      end
    end
    raise(format("module '%s' not found:%s", name, concat(messages)))
  end

  env.package = pkg
  for _, lib in ipairs({"coroutine", "string", "table", "math", "utf8", "io", "os", "debug", "package"}) do
    loaded[lib] = env[lib]
  end
  loaded._G = env
  return env
end

return {environment = environment, grant = grant}
