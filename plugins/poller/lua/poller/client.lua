-- poller.client: one polite GET of a JSON endpoint.
--
-- Each attempt takes a token from the rate limiter first (so nothing, not even a burst of manual
-- polls, goes faster than the limit), and cru.retry tries again with exponential backoff when
-- the server failed (5xx, 429) or could not be reached. A client error (4xx) is not retried:
-- asking again will not help.

local client = {}

--- What went wrong with a response, or nil when it is a success: {message, status, retryable,
--- after} (`after`: the server's Retry-After, which cru.retry honours).
---@param resp table a cru.http response
---@return table|nil failure
function client.classify(resp)
  if resp.status == 0 then
    return {message = resp.error or "no response", retryable = true}
  end
  if resp.status == 429 or resp.status >= 500 then
    local headers = resp.headers or {}
    return {message = "HTTP " .. resp.status, status = resp.status, retryable = true,
            after = tonumber(headers["retry-after"])}
  end
  if not resp.ok then
    return {message = "HTTP " .. resp.status, status = resp.status, retryable = false}
  end
  return nil
end

--- A retry predicate: tables say whether they may be retried; anything else (a string error
--- from a library, a decoding failure) is worth another try. cru.retry hands it whatever was
--- raised, so it must not assume a table.
---@param err any
---@return boolean
function client.retryable(err)
  return type(err) ~= "table" or err.retryable == true
end

--- GETs `url` and decodes its JSON body, retrying failures. Returns the body and the number of
--- attempts; raises the last failure (a table from `classify`, or a string) when retries run out.
---@param url string
---@param opts? {limiter?: userdata, retries?: integer, base_delay?: number, timeout?: number, on_failure?: fun(attempt: integer, failure: any)}
---@return any body
---@return integer attempts
function client.fetch(url, opts)
  opts = opts or {}
  local attempts = 0
  local body = cru.retry(function()
    attempts = attempts + 1
    if opts.limiter then opts.limiter:acquire() end
    local resp = cru.http.get(url, {timeout = opts.timeout or 5})
    local failure = client.classify(resp)
    if failure then
      if opts.on_failure then opts.on_failure(attempts, failure) end
      error(failure)
    end
    return cru.json.decode(resp.body)
  end, {
    max_retries = opts.retries or 3,
    base_delay = opts.base_delay or 0.5,
    max_delay = 5,
    retryable = client.retryable,
  })
  return body, attempts
end

return client
