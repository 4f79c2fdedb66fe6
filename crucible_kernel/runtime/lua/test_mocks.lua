-- test_mocks: in-memory stand-ins for the daemon's modules, for plugin suites.
--
-- `test_mocks.setup(overrides?)` rebuilds the fixtures from their defaults, merges `overrides`
-- one level deep per module, forgets the recorded calls and installs the mocks as cru.kiln,
-- cru.graph, cru.http, cru.fs, cru.paths, cru.session and cru.sessions, as the globals `http`,
-- `fs` and `paths`, and under `crucible.*` when that table exists. Every call is recorded
-- (`get_calls(module, method)`), and every value handed out is a deep copy of the fixture.
-- Pure Lua; `cru` and `crucible` are looked up when `setup` runs.

local type, pairs, ipairs, error, select = type, pairs, ipairs, error, select
local find, format, lower, sub, gsub = string.find, string.format, string.lower, string.sub, string.gsub
local insert, concat = table.insert, table.concat

local test_mocks = {}

local calls = {}     -- calls[module][method] = {{arg1, arg2, ...}, ...}
local fixtures = {}  -- the current fixtures, by module

local function defaults()
  return {
    kiln = {notes = {}, outlinks = {}, backlinks = {}, neighbors = {}},
    graph = {notes = {}, outlinks = {}, backlinks = {}, neighbors = {}},
    http = {responses = {}},
    fs = {files = {}, dirs = {}},
    -- false, not nil, marks a path as unconfigured: a table cannot hold nil.
    paths = {kiln = "/mock/kiln", workspace = "/mock/workspace", session = false, state = "/mock/state"},
    session = {temperature = 0.7, model = "mock-model", mode = "act"},
    sessions = {info = {kiln = "/mock/kiln"}, messages = {}, response_parts = {}},
  }
end

local function copy(value)
  if type(value) ~= "table" then return value end
  local out = {}
  for k, v in pairs(value) do out[k] = copy(v) end
  return out
end

local function record(module, method, ...)
  local by_method = calls[module]
  if not by_method then
    by_method = {}
    calls[module] = by_method
  end
  local list = by_method[method]
  if not list then
    list = {}
    by_method[method] = list
  end
  insert(list, {...})
end

---------------------------------------------------------------------------------------------------
-- kiln and graph: notes, links and search over the fixture tables.

local function links(module, f, field)
  return function(path, ...)
    record(module, field, path, ...)
    local found = f[field] and f[field][path]
    return found and copy(found) or {}
  end
end

local function search(module, f, method, score)
  return function(query, opts)
    record(module, method, query, opts)
    local limit = (opts and opts.limit) or 100
    local needle, hits = lower(query), {}
    for _, note in ipairs(f.notes or {}) do
      if #hits >= limit then break end
      local haystack = lower((note.title or "") .. " " .. (note.content or ""))
      if find(haystack, needle, 1, true) then insert(hits, {path = note.path, score = score}) end
    end
    return hits
  end
end

local function note_at(f, path)
  for _, note in ipairs(f.notes or {}) do
    if note.path == path then return copy(note) end
  end
  return nil
end

local function kiln_mock(f)
  return {
    list = function(limit)
      record("kiln", "list", limit)
      local notes = f.notes or {}
      if limit and limit < #notes then
        local first = {}
        for i = 1, limit do first[i] = copy(notes[i]) end
        return first
      end
      return copy(notes)
    end,
    get = function(path)
      record("kiln", "get", path)
      return note_at(f, path)
    end,
    search = search("kiln", f, "search", 1.0),
    outlinks = links("kiln", f, "outlinks"),
    backlinks = links("kiln", f, "backlinks"),
    neighbors = links("kiln", f, "neighbors"),
  }
end

local function graph_mock(f)
  return {
    get_note = function(path)
      record("graph", "get_note", path)
      return note_at(f, path)
    end,
    get_outlinks = links("graph", f, "outlinks"),
    get_backlinks = links("graph", f, "backlinks"),
    get_neighbors = links("graph", f, "neighbors"),
    search_semantic = search("graph", f, "search_semantic", 0.9),
  }
end

---------------------------------------------------------------------------------------------------
-- http: canned responses by exact URL.

local function http_mock(f)
  local function respond(method, url, opts)
    record("http", method, url, opts)
    local r = (f.responses or {})[url] or {status = 200, body = "", ok = true, headers = {}}
    return {status = r.status or 200, body = r.body or "", ok = r.ok ~= false, headers = r.headers or {}}
  end
  local mock = {}
  for _, method in ipairs({"get", "post", "put", "delete"}) do
    mock[method] = function(url, opts) return respond(method, url, opts) end
  end
  mock.request = function(opts)
    return respond("request", opts and opts.url or "", opts)
  end
  return mock
end

---------------------------------------------------------------------------------------------------
-- fs: files and folders in memory.

local function fs_mock(f)
  local files, dirs = {}, {}
  for k, v in pairs(f.files or {}) do files[k] = v end
  for k, v in pairs(f.dirs or {}) do dirs[k] = v end

  local function children(prefix, set, out, skip_empty)
    for name in pairs(set) do
      if sub(name, 1, #prefix) == prefix then
        local rest = sub(name, #prefix + 1)
        if not find(rest, "/", 1, true) and not (skip_empty and rest == "") then insert(out, rest) end
      end
    end
  end

  return {
    read = function(path)
      record("fs", "read", path)
      if files[path] ~= nil then return files[path] end
      error("File not found: " .. path)
    end,
    write = function(path, content)
      record("fs", "write", path, content)
      files[path] = content
    end,
    exists = function(path)
      record("fs", "exists", path)
      return files[path] ~= nil or dirs[path] ~= nil
    end,
    mkdir = function(path)
      record("fs", "mkdir", path)
      dirs[path] = true
    end,
    list = function(path)
      record("fs", "list", path)
      local prefix = sub(path, -1) == "/" and path or path .. "/"
      local names = {}
      children(prefix, files, names, false)
      children(prefix, dirs, names, true)
      return names
    end,
  }
end

---------------------------------------------------------------------------------------------------
-- paths: accessors raise when their path is not configured, as the real module does.

local function paths_mock(f)
  local function accessor(name)
    return function()
      record("paths", name)
      local value = f[name]
      if value == nil or value == false then error(name .. " path not configured") end
      return value
    end
  end
  return {
    kiln = accessor("kiln"),
    workspace = accessor("workspace"),
    session = accessor("session"),
    state = function(plugin)
      record("paths", "state", plugin)
      if not f.state then error("state path not configured") end
      return f.state .. "/" .. plugin
    end,
    -- As Rust's PathBuf::push: an absolute part replaces what came before it.
    join = function(...)
      local parts = {}
      for i = 1, select("#", ...) do
        local part = select(i, ...)
        if type(part) == "string" and part ~= "" then
          local trimmed = gsub(part, "/+$", "")
          if sub(part, 1, 1) == "/" then
            parts = {trimmed}
          else
            insert(parts, (gsub(trimmed, "^/+", "")))
          end
        end
      end
      return concat(parts, "/")
    end,
  }
end

---------------------------------------------------------------------------------------------------
-- session (the current session's settings) and sessions (sub-sessions).

local SESSION_FIELDS = {"temperature", "max_tokens", "model", "mode", "thinking_budget"}

local function session_mock(f)
  local state = {
    temperature = f.temperature, max_tokens = f.max_tokens, model = f.model or "mock-model",
    mode = f.mode or "act", thinking_budget = f.thinking_budget,
  }
  local mock = {}
  for _, field in ipairs(SESSION_FIELDS) do
    mock["get_" .. field] = function()
      record("session", "get_" .. field)
      return state[field]
    end
    mock["set_" .. field] = function(value)
      record("session", "set_" .. field, value)
      state[field] = value
    end
  end
  return mock
end

local function sessions_mock(f)
  local created = 0
  return {
    create = function(opts)
      record("sessions", "create", opts)
      created = created + 1
      return {id = format("mock-session-%d", created)}, nil
    end,
    get = function(id)
      record("sessions", "get", id)
      return copy(f.info)
    end,
    messages = function(id, opts)
      record("sessions", "messages", id, opts)
      return copy(f.messages or {})
    end,
    configure_agent = function(id, config)
      record("sessions", "configure_agent", id, config)
    end,
    send_and_collect = function(id, prompt, opts)
      record("sessions", "send_and_collect", id, prompt, opts)
      local parts, i = f.response_parts or {}, 0
      return function()
        i = i + 1
        return copy(parts[i])
      end, nil
    end,
    end_session = function(id)
      record("sessions", "end_session", id)
    end,
  }
end

---------------------------------------------------------------------------------------------------

local INSTALLED = {"kiln", "graph", "http", "fs", "paths", "session", "sessions"}

--- Rebuilds the fixtures from their defaults, merges `overrides` one level deep per module
--- (`{http = {responses = {...}}}` replaces the whole `responses` map), forgets recorded calls
--- and installs the mocks as cru.kiln, cru.graph, cru.http, cru.fs, cru.paths, cru.session,
--- cru.sessions, the globals `http`, `fs`, `paths`, and the same under `crucible`.
---@param overrides? table<string, table>
function test_mocks.setup(overrides)
  fixtures = defaults()
  for module, config in pairs(overrides or {}) do
    if fixtures[module] then
      for k, v in pairs(config) do fixtures[module][k] = v end
    end
  end
  calls = {}
  cru = cru or {}
  cru.kiln = kiln_mock(fixtures.kiln)
  cru.graph = graph_mock(fixtures.graph)
  cru.http = http_mock(fixtures.http)
  cru.fs = fs_mock(fixtures.fs)
  cru.paths = paths_mock(fixtures.paths)
  cru.session = session_mock(fixtures.session)
  cru.sessions = sessions_mock(fixtures.sessions)
  http, fs, paths = cru.http, cru.fs, cru.paths
  if crucible then
    for _, name in ipairs(INSTALLED) do crucible[name] = cru[name] end
  end
end

--- Forgets recorded calls and installs fresh mocks with the default fixtures.
function test_mocks.reset()
  calls = {}
  fixtures = defaults()
  test_mocks.setup()
end

--- The recorded calls of `module.method`: a list of argument lists (`{}` when there were none).
---@param module string
---@param method string
---@return table[]
function test_mocks.get_calls(module, method)
  local by_method = calls[module]
  return by_method and by_method[method] or {}
end

return test_mocks
