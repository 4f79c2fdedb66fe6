-- cru.http (also the global `http` and crucible.http): an HTTP client.
--
-- Every function sends one request and returns a response table; a network failure never raises,
-- it returns {status = 0, ok = false, body = "", headers = {}, error = <message>}. The options
-- are read and coerced here, as the reference does (headers as string pairs with numbers
-- coerced; body a string or number; timeout in seconds, default 30), then one native call
-- (`fetch`, on a shared httpx client) returns the status, the decoded body and the headers.
--
-- Beyond the reference, none of which changes what a plugin written for it sees:
--   * `timeout` keeps its fraction (the reference truncates to whole seconds, so 0.5 means 0);
--   * `query`: a table encoded into the URL's query string (keys sorted; array values repeat);
--   * `json`: a value encoded with cru.json.encode as the body, with
--     `Content-Type: application/json` unless the headers name a content type;
--   * a body that is not valid UTF-8 is sent as it is (the reference silently sends no body).
--
-- Example (a JSON API; decode the body with cru.json.decode, as resp:json() would elsewhere):
--
--   local resp = cru.http.get("https://api.example.com/users", {query = {page = 2}, timeout = 5})
--   if resp.ok then
--     local users = cru.json.decode(resp.body)
--   else
--     cru.log("warn", "HTTP " .. resp.status .. ": " .. (resp.error or resp.body))
--   end
--   cru.http.post("https://api.example.com/users", {json = {name = "Alice"}})

local engine, native = ...
local await, raise, bad_argument = engine.await, engine.raise, engine.bad_argument
local as_string, seconds_or = engine.as_string, engine.seconds_or
local fetch, json_encode = native.fetch, native.json_encode
local type, tostring, tonumber, pairs, ipairs = type, tostring, tonumber, pairs, ipairs
local unpack, sort = table.unpack, table.sort
local lower = string.lower
local utf8len = utf8.len
local isyieldable = coroutine.isyieldable

local DEFAULT_TIMEOUT = 30.0
local JSON_TYPE = "application/json"

local M = {}

-- Appends the header pairs to `out` (from index n + 1); returns the new count and whether a
-- Content-Type was among them. A key or value that is not a string or number raises.
local function add_headers(fname, argn, headers, out, n)
  local has_type = false
  for k, v in pairs(headers) do
    local name, value = as_string(k), as_string(v)
    if name == nil or value == nil then
      local bad = name == nil and k or v
      raise(("bad argument #%d to '%s' (header %s must be a string or number, got %s)")
        :format(argn, fname, name == nil and "name" or ("'" .. name .. "'"), type(bad)))
    end
    if not has_type and lower(name) == "content-type" then has_type = true end
    out[n + 1], out[n + 2] = name, value
    n = n + 2
  end
  return n, has_type
end

local function query_value(fname, argn, key, value)
  local t = type(value)
  if t == "string" then return value end
  if t == "number" or t == "boolean" then return tostring(value) end
  raise(("bad argument #%d to '%s' (query value '%s' must be a string, number or boolean, got %s)")
    :format(argn, fname, key, t))
end

-- `query` as a flat array {name, value, name, value, ...}, names sorted.
local function query_pairs(fname, argn, query)
  if type(query) ~= "table" then
    raise(("bad argument #%d to '%s' (query must be a table, got %s)"):format(argn, fname, type(query)))
  end
  local names = {}
  for k in pairs(query) do
    local name = as_string(k)
    if name == nil then
      raise(("bad argument #%d to '%s' (query names must be strings, got %s)"):format(argn, fname, type(k)))
    end
    names[#names + 1] = k
  end
  sort(names, function(a, b) return tostring(a) < tostring(b) end)
  local flat, n = {}, 0
  for _, k in ipairs(names) do
    local name, value = as_string(k), query[k]
    if type(value) == "table" then
      for _, item in ipairs(value) do
        flat[n + 1], flat[n + 2] = name, query_value(fname, argn, name, item)
        n = n + 2
      end
    else
      flat[n + 1], flat[n + 2] = name, query_value(fname, argn, name, value)
      n = n + 2
    end
  end
  return flat
end

local function response(status, body, headers)
  if status == 0 then
    return {status = 0, ok = false, body = "", headers = {}, error = body}
  end
  return {status = status, ok = status >= 200 and status < 300, headers = headers, body = body}
end

-- Sends `method` (nil for GET) to `url` with the options in `opts` (argument `argn` of `fname`).
local function send(fname, argn, method, url, opts)
  if not isyieldable() then raise("attempt to yield from outside a coroutine") end
  if opts == nil then
    return response(await(fetch(method, url, nil, DEFAULT_TIMEOUT, nil)))
  end
  local body = as_string(opts.body)
  local timeout = seconds_or(opts.timeout, DEFAULT_TIMEOUT)
  local query = opts.query
  if query ~= nil then query = query_pairs(fname, argn, query) end
  local headers = opts.headers
  local json = opts.json
  if type(headers) ~= "table" then
    if json == nil then return response(await(fetch(method, url, body, timeout, query))) end
    headers = nil
  end
  local list, n, has_type = {}, 0, false
  if headers ~= nil then n, has_type = add_headers(fname, argn, headers, list, 0) end
  if json ~= nil then
    if opts.body ~= nil then
      raise(("bad argument #%d to '%s' (give body or json, not both)"):format(argn, fname))
    end
    body = json_encode(json)
    if not has_type then
      list[n + 1], list[n + 2] = "Content-Type", JSON_TYPE
      n = n + 2
    end
  end
  return response(await(fetch(method, url, body, timeout, query, unpack(list, 1, n))))
end

local function url_of(fname, url)
  local u = as_string(url)
  if u == nil then bad_argument(1, fname, "string", type(url)) end
  if not utf8len(u) then raise(("bad argument #1 to '%s' (url is not valid UTF-8)"):format(fname)) end
  return u
end

local function options(fname, opts)
  if opts ~= nil and type(opts) ~= "table" then bad_argument(2, fname, "table", type(opts)) end
  return opts
end

--- Sends a GET request. Never raises for a network failure: the response then has status 0 and
--- an `error` message.
---@async
---@param url string the URL (a number is converted to a string)
---@param opts? {headers?: table<string, string|number>, body?: string, timeout?: number, query?: table, json?: any} request options; timeout in seconds (default 30)
---@return {status: integer, ok: boolean, headers: table<string, string>, body: string, error?: string} response
function M.get(url, opts)
  return send("get", 2, nil, url_of("get", url), options("get", opts))
end

--- Sends a POST request with `opts.body` (or `opts.json`) as the body.
---@async
---@param url string the URL
---@param opts? {headers?: table<string, string|number>, body?: string, timeout?: number, query?: table, json?: any} request options
---@return {status: integer, ok: boolean, headers: table<string, string>, body: string, error?: string} response
function M.post(url, opts)
  return send("post", 2, "POST", url_of("post", url), options("post", opts))
end

--- Sends a PUT request.
---@async
---@param url string the URL
---@param opts? {headers?: table<string, string|number>, body?: string, timeout?: number, query?: table, json?: any} request options
---@return {status: integer, ok: boolean, headers: table<string, string>, body: string, error?: string} response
function M.put(url, opts)
  return send("put", 2, "PUT", url_of("put", url), options("put", opts))
end

--- Sends a PATCH request.
---@async
---@param url string the URL
---@param opts? {headers?: table<string, string|number>, body?: string, timeout?: number, query?: table, json?: any} request options
---@return {status: integer, ok: boolean, headers: table<string, string>, body: string, error?: string} response
function M.patch(url, opts)
  return send("patch", 2, "PATCH", url_of("patch", url), options("patch", opts))
end

--- Sends a DELETE request.
---@async
---@param url string the URL
---@param opts? {headers?: table<string, string|number>, body?: string, timeout?: number, query?: table, json?: any} request options
---@return {status: integer, ok: boolean, headers: table<string, string>, body: string, error?: string} response
function M.delete(url, opts)
  return send("delete", 2, "DELETE", url_of("delete", url), options("delete", opts))
end

--- Sends a request described by `opts`: `url` (required) and `method`, matched exactly against
--- "POST"/"post", "PUT"/"put", "PATCH"/"patch", "DELETE"/"delete", "HEAD"/"head" and
--- "OPTIONS"/"options" (anything else, or none, is GET), plus the options of `get`.
---@async
---@param opts {url: string, method?: string, headers?: table<string, string|number>, body?: string, timeout?: number, query?: table, json?: any} the request
---@return {status: integer, ok: boolean, headers: table<string, string>, body: string, error?: string} response
function M.request(opts)
  if type(opts) ~= "table" then bad_argument(1, "request", "table", type(opts)) end
  local url = as_string(opts.url)
  if url == nil then
    raise(("bad argument #1 to 'request' (field 'url' must be a string, got %s)"):format(type(opts.url)))
  end
  if not utf8len(url) then raise("bad argument #1 to 'request' (field 'url' is not valid UTF-8)") end
  local method = opts.method
  if type(method) ~= "string" then method = nil end
  return send("request", 1, method, url, opts)
end

-- Safe mode: every request needs the 'network' capability.
engine.needs("network", M, {"get", "post", "put", "patch", "delete", "request"}, "cru.http.")

return M
