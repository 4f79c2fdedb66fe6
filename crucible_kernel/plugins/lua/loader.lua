-- The Lua half of loading a plugin, as Crucible's daemon runs one in its plugin VM.
--
-- `execute(info)` runs in a task of the plugin's own (its owner is the plugin, so what it
-- registers is the plugin's): package.path entries, the plugin's modules cleared from
-- package.loaded, the loading marker, the main chunk (async calls allowed at top level), then
-- `setup(cfg)`. It never raises for the plugin's failures: it returns what happened, and the
-- Python side (loader.py) words the error.
--
-- info = {name, main, dir, root, search_path, source, cfg, policy}: `source` is the main file's
-- Lua source (a Fennel main is compiled here), `cfg` the table setup receives, `policy` (safe
-- mode only) the capabilities granted: the plugin then runs in an environment of its own
-- (confined.lua) instead of the shared globals, and adds nothing to the shared package.path.

local engine, native = ...
local confined = native.confined
local type, pairs, tostring, load, xpcall, pcall, rawget = type, pairs, tostring, load, xpcall, pcall, rawget
local traceback, find, sub, gsub = debug.traceback, string.find, string.sub, string.gsub

local loader = {}

local SPEC_FIELDS = {"name", "version", "tools", "commands", "handlers", "views", "setup"}

--- Prepends `entry` to package.path unless it is there already (compared entry by entry).
---@param entry string
function loader.add_path(entry)
  if not find(";" .. package.path .. ";", ";" .. entry .. ";", 1, true) then
    package.path = entry .. ";" .. package.path
  end
end

-- Whether `path` lies inside `root` (a folder, or for a single-file plugin the file).
local function inside(path, root)
  return path == root or sub(path, 1, #root + 1) == root .. "/"
end

--- Removes from package.loaded every module whose file lies in the plugin (found as require
--- would find it now), and the plugin's own name. Returns how many were removed.
---@param name string the plugin's name
---@param root string the plugin's folder (or its one file)
---@return integer removed
function loader.forget_modules(name, root)
  local doomed = {}
  for module in pairs(package.loaded) do
    if type(module) == "string" then
      local file = package.searchpath(module, package.path)
      if file and inside(file, root) then
        doomed[#doomed + 1] = module
      end
    end
  end
  if package.loaded[name] ~= nil then doomed[#doomed + 1] = name end
  for _, module in pairs(doomed) do package.loaded[module] = nil end
  return #doomed
end

local function is_spec(value)
  if type(value) ~= "table" then return false end
  for _, field in pairs(SPEC_FIELDS) do
    if rawget(value, field) ~= nil then return true end
  end
  return false
end

local function failed(phase, err, tb)
  return {phase = phase, error = tostring(err), traceback = tb}
end

local function fennel_compiler()
  local compiler = rawget(_G, "fennel")
  if type(compiler) == "table" and type(compiler.compileString) == "function" then return compiler end
  local ok, found = pcall(require, "fennel")
  if ok and type(found) == "table" and type(found.compileString) == "function" then
    fennel = found
    return found
  end
  return nil
end

--- Loads and runs the plugin described by `info`; returns
--- {phase = "done" | "read" | "exec" | "nospec" | "setup", spec?, error?, traceback?}.
---@async
---@param info table
---@return table outcome
function loader.execute(info)
  if info.policy == nil then
    loader.add_path(info.search_path .. "/?.lua")
    loader.add_path(info.search_path .. "/?/init.lua")
    if info.kind ~= "file" then loader.add_path(info.dir .. "/lua/?.lua") end
  end
  loader.forget_modules(info.name, info.root)
  cru._current_plugin = info.name
  local env = info.policy ~= nil and confined.environment(info.policy, info) or nil

  local source = info.source
  if sub(info.main, -4) == ".fnl" then
    local compiler = fennel_compiler()
    if not compiler then
      return failed("read", "Fennel compilation failed for " .. info.main .. ": no Fennel compiler found"
        .. " (put fennel.lua on package.path, e.g. in the plugin's lua/ folder)")
    end
    local ok, out = pcall(compiler.compileString, source)
    if not ok then return failed("read", "Fennel compilation failed for " .. info.main .. ": " .. tostring(out)) end
    source = out
  end
  local chunk, syntax
  if env then
    chunk, syntax = load(source, "@" .. info.main, "t", env)
  else
    chunk, syntax = load(source, "@" .. info.main)
  end
  if not chunk then return failed("exec", syntax) end

  local tb
  local function trace(e)
    tb = traceback(tostring(e), 2)
    return e
  end
  local function marker(value)
    __crucible_loading_plugin__ = value
    if env then env.__crucible_loading_plugin__ = value end
  end
  marker(info.name)
  local ok, result = xpcall(chunk, trace)
  if not ok then
    marker(nil)
    return failed("exec", result, tb)
  end
  if not is_spec(result) then
    marker(nil)
    return {phase = "nospec"}
  end
  if info.policy ~= nil then confined.grant(info.policy, result.capabilities) end
  if type(result.setup) == "function" then
    local set_up, err = xpcall(result.setup, trace, info.cfg)
    if not set_up then
      marker(nil)
      return {phase = "setup", error = tostring(err), traceback = tb, spec = result}
    end
  end
  marker(nil)
  return {phase = "done", spec = result}
end

-- A string field as mlua reads it (numbers become strings), else nil.
local function str(value)
  local t = type(value)
  if t == "string" then return value end
  if t == "number" then return tostring(value) end
  return nil
end

local function params_of(def)
  local out = {}
  if type(def.params) ~= "table" then return out end
  for i = 1, #def.params do
    local p = def.params[i]
    if type(p) == "table" then
      out[#out + 1] = {name = str(p.name) or "", type = str(p.type) or "string", desc = str(p.desc) or "",
                       optional = p.optional == true}
    end
  end
  return out
end

local function callables(tbl, with_hint)
  local out = {}
  if type(tbl) ~= "table" then return out end
  for name, def in pairs(tbl) do
    if type(name) == "string" and type(def) == "table" then
      out[#out + 1] = {name = name, desc = str(def.desc) or "", params = params_of(def),
                       hint = with_hint and str(def.hint) or nil,
                       fn = type(def.fn) == "function" and def.fn or nil}
    end
  end
  return out
end

--- What a spec table declares, as plain data plus the functions: {name, version, description,
--- capabilities, tools, commands, services, handlers, views}.
---@param spec table
---@return table description
function loader.describe(spec)
  local caps = {}
  if type(spec.capabilities) == "table" then
    for i = 1, #spec.capabilities do
      local c = str(spec.capabilities[i])
      if c then caps[#caps + 1] = c end
    end
  end
  local services = {}
  if type(spec.services) == "table" then
    for name, def in pairs(spec.services) do
      if type(name) == "string" and type(def) == "table" and type(def.fn) == "function" then
        services[#services + 1] = {name = name, desc = str(def.desc) or "", fn = def.fn}
      end
    end
  end
  local handlers = 0
  if type(spec.handlers) == "table" then
    for i = 1, #spec.handlers do
      local h = spec.handlers[i]
      if type(h) == "table" and str(h.event) and str(h.event) ~= "" then handlers = handlers + 1 end
    end
  end
  local views = 0
  if type(spec.views) == "table" then
    for _ in pairs(spec.views) do views = views + 1 end
  end
  return {
    name = str(spec.name), version = str(spec.version), description = str(spec.description),
    capabilities = caps, tools = callables(spec.tools, false), commands = callables(spec.commands, true),
    services = services, handlers = handlers, views = views,
  }
end

--- Runs a tool or command function with arguments decoded from JSON (the null sentinel, array
--- marks), and returns its first result encoded as JSON: the daemon's round trip.
---@async
---@param fn function
---@param args_json string
---@return string result_json
function loader.invoke(fn, args_json)
  local args = cru.json.decode(args_json)
  local result = fn(args)
  local ok, encoded = pcall(cru.json.encode, result)
  if not ok then error("result conversion: " .. gsub(tostring(encoded), "^.-:%d+: ", ""), 0) end
  return encoded
end

return loader
