-- cru.ws: a WebSocket client.
--
-- cru.ws.connect returns a connection userdata whose methods work as `ws:send(x)` and as
-- `ws.send(ws, x)` (the Discord gateway calls `pcall(ws.receive, ws, t)`). The Python side of a
-- connection sits in a private table keyed by the userdata; Lua code never reaches it.
--
-- Beyond the reference, none of which changes what a plugin written for it sees:
--   * connect's `timeout` keeps its fraction (the reference truncates to whole seconds);
--   * connect takes `headers` (extra handshake headers) and `subprotocols` (offered in order;
--     `ws:subprotocol()` tells which one the server chose);
--   * the close message carries the server's `code` and `reason`;
--   * `ws:close(code, reason)` picks the close code and reason (default 1000, "closed by client").

local engine, native = ...
local await, raise, bad_argument = engine.await, engine.raise, engine.bad_argument
local new_object = engine.new_object
local as_string, seconds_or = engine.as_string, engine.seconds_or
local native_connect, native_send, native_send_binary = native.connect, native.send, native.send_binary
local native_receive, native_close, native_subprotocol = native.receive, native.close, native.subprotocol
local native_close_soon, in_background = native.close_soon, native.in_background
local type, tostring, tonumber, pairs, ipairs = type, tostring, tonumber, pairs, ipairs
local setmetatable, unpack = setmetatable, table.unpack
local isyieldable, can_wait = coroutine.isyieldable, engine.can_wait
local mtype, tointeger = math.type, math.tointeger
local utf8len = utf8.len

local DEFAULT_TIMEOUT = 30.0
-- How a native's work went: done (results follow), failed (a message follows) or pending (an
-- awaitable follows). The values are fixed in ws.py.
local DONE, FAILED, PENDING = 1, 2, 3
local CLOSE_CODE, CLOSE_REASON = 1000, "closed by client"
local MAX_REASON = 123 -- bytes: a close frame's payload is at most 125, two of them the code

local M = {}

--- A WebSocket connection made by cru.ws.connect.
---@class WebSocket
local WebSocket = {}
local conns = setmetatable({}, {__mode = "k"}) -- userdata -> Python connection
local numbers = setmetatable({}, {__mode = "k"}) -- userdata -> its number, for tostring
local count = 0

local MT = {
  __index = WebSocket,
  __name = "WebSocket",
  __tostring = function(ws) return ("WebSocket %d"):format(numbers[ws] or 0) end,
}

local function conn_of(ws, method)
  local c = conns[ws]
  if c == nil then
    raise(("calling '%s' on bad self (WebSocket expected, got %s)"):format(method, type(ws)))
  end
  return c
end

-- The results of a native that ran its work as far as it could without waiting.
local function finish(status, ...)
  if status == DONE then return ... end
  if status == FAILED then raise((...)) end
  if isyieldable() then return await((...)) end
  in_background((...)) -- a synchronous caller: the rest of a send completes in the background
end

local function must_wait()
  if not isyieldable() then raise("attempt to yield from outside a coroutine") end
end

--- Opens a WebSocket connection (ws:// or wss://). Raises `WebSocket connection timed out` or
--- `WebSocket error: <what went wrong>` when it cannot.
---@async
---@param url string the ws:// or wss:// URL
---@param opts? {timeout?: number, headers?: table<string, string|number>, subprotocols?: string[]} timeout in seconds (default 30)
---@return WebSocket ws the connection
function M.connect(url, opts)
  local u = as_string(url)
  if u == nil then bad_argument(1, "connect", "string", type(url)) end
  if opts ~= nil and type(opts) ~= "table" then bad_argument(2, "connect", "table", type(opts)) end
  must_wait()
  local timeout, protocols, list, n = DEFAULT_TIMEOUT, nil, {}, 0
  if opts ~= nil then
    timeout = seconds_or(opts.timeout, DEFAULT_TIMEOUT)
    local headers = opts.headers
    if type(headers) == "table" then
      for k, v in pairs(headers) do
        local name, value = as_string(k), as_string(v)
        if name == nil or value == nil then
          raise(("bad argument #2 to 'connect' (header names and values must be strings or numbers, got %s)")
            :format(type(name == nil and k or v)))
        end
        list[n + 1], list[n + 2] = name, value
        n = n + 2
      end
    end
    local subprotocols = opts.subprotocols
    if subprotocols ~= nil then
      if type(subprotocols) ~= "table" then
        raise(("bad argument #2 to 'connect' (subprotocols must be a list of strings, got %s)")
          :format(type(subprotocols)))
      end
      protocols = {}
      for i, p in ipairs(subprotocols) do
        if type(p) ~= "string" then
          raise(("bad argument #2 to 'connect' (subprotocols[%d] must be a string, got %s)"):format(i, type(p)))
        end
        protocols[i] = p
      end
      if #protocols == 0 then protocols = nil end
    end
  end
  local c = await(native_connect(u, timeout, protocols, unpack(list, 1, n)))
  local ws = new_object(MT)
  count = count + 1
  conns[ws], numbers[ws] = c, count
  return ws
end

--- Sends a text message. Raises `WebSocket connection is closed` after a close.
---@async
---@param text string the message (valid UTF-8; a number is converted to a string)
function WebSocket:send(text)
  local c = conns[self] or conn_of(self, "send")
  local s = as_string(text)
  if s == nil then bad_argument(1, "send", "string", type(text)) end
  finish(native_send(c, s))
end

--- Sends a binary message given as standard base64 (with padding). Raises
--- `Base64 decode error: <why>` for bad base64, `WebSocket connection is closed` after a close.
---@async
---@param data string the payload, base64-encoded
function WebSocket:send_binary(data)
  local c = conn_of(self, "send_binary")
  local s = as_string(data)
  if s == nil then bad_argument(1, "send_binary", "string", type(data)) end
  finish(native_send_binary(c, s))
end

--- Waits for the next message: {type = "text", data = <string>}, {type = "binary", data =
--- <base64>} or, when the server closes the connection, {type = "close", code = <integer>,
--- reason = <string>} (later calls then raise `WebSocket connection is closed`). Returns nil when
--- `timeout` seconds pass first. Pings are answered and pongs skipped on the way. Raises
--- `WebSocket error: <why>` if the connection breaks.
---@async
---@param timeout? number seconds to wait at most (default: no limit)
---@return {type: "text"|"binary"|"close", data?: string, code?: integer, reason?: string}|nil message
function WebSocket:receive(timeout)
  local c = conns[self] or conn_of(self, "receive")
  if timeout ~= nil then
    local t = type(timeout)
    local s = (t == "number" or t == "string") and tonumber(timeout) or nil
    if s == nil then bad_argument(1, "receive", "number", t) end
    if s ~= s or s < 0 then s = 0 end -- the reference panics on these; we poll
    timeout = s
  end
  if not isyieldable() then must_wait() end
  local status, kind, data, code, reason = native_receive(c, timeout)
  if status == PENDING then
    kind, data, code, reason = await(kind)
  elseif status == FAILED then
    raise(kind)
  end
  if kind == nil then return nil end
  if data == nil then return {type = kind, code = code, reason = reason} end
  return {type = kind, data = data}
end

--- Closes the connection with a close frame (code 1000, reason "closed by client", unless
--- given) and waits for the closing handshake. Safe to call again: a closed connection stays
--- closed and nothing is raised.
---@async
---@param code? integer the close code: 1000-1003, 1007-1014 or 3000-4999
---@param reason? string the close reason, at most 123 bytes
function WebSocket:close(code, reason)
  local c = conn_of(self, "close")
  if code == nil then
    code = CLOSE_CODE
  else
    local n = type(code) == "number" and tointeger(code) or nil
    if n == nil then bad_argument(1, "close", "integer", mtype(code) or type(code)) end
    code = n
    if not ((code >= 1000 and code <= 1003) or (code >= 1007 and code <= 1014)
        or (code >= 3000 and code <= 4999)) then
      raise(("bad argument #1 to 'close' (invalid close code %d)"):format(code))
    end
  end
  if reason == nil then
    reason = CLOSE_REASON
  else
    local r = as_string(reason)
    if r == nil then bad_argument(2, "close", "string", type(reason)) end
    if not utf8len(r) then raise("bad argument #2 to 'close' (reason is not valid UTF-8)") end
    if #r > MAX_REASON then
      raise(("bad argument #2 to 'close' (reason is %d bytes, at most %d fit)"):format(#r, MAX_REASON))
    end
    reason = r
  end
  if can_wait() then
    await(native_close(c, code, reason))
  else -- a synchronous caller (the test runner), or a <close> handler of a cancelled task:
    native_close_soon(c, code, reason) -- the handshake finishes in the background
  end
end

--- The subprotocol the server chose among `opts.subprotocols`, or nil.
---@param self WebSocket
---@return string|nil subprotocol
function WebSocket:subprotocol()
  return native_subprotocol(conn_of(self, "subprotocol"))
end

-- Safe mode: connecting needs the 'websocket' capability (a connection's methods follow from it).
engine.needs("websocket", M, {"connect"}, "cru.ws.")

return M
