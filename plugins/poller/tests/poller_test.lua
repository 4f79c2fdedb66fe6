-- The poller's suite: `crucible-kernel test plugins/poller`. HTTP is test_mocks' (responses by
-- URL, calls recorded); retries sleep 0 s (base_delay = 0), so nothing here waits.

local poller = require("poller")
local client = require("poller.client")

local URL = "http://api.test/status"

local function respond(status, body)
  test_mocks.setup({http = {responses = {[URL] = {status = status, body = body or "", ok = status < 300}}}})
end

describe("poller.client", function()
  describe("classify", function()
    it("passes a success", function()
      assert.is_nil(client.classify({status = 200, ok = true, body = "{}"}))
    end)

    it("retries server errors and honours Retry-After", function()
      local failure = client.classify({status = 503, ok = false, headers = {["retry-after"] = "2"}})
      assert.equal(true, failure.retryable)
      assert.equal(2, failure.after)
      assert.equal("HTTP 503", failure.message)
    end)

    it("retries a request that never got an answer", function()
      local failure = client.classify({status = 0, ok = false, error = "Request timed out"})
      assert.equal(true, failure.retryable)
      assert.equal("Request timed out", failure.message)
    end)

    it("does not retry a client error", function()
      assert.equal(false, client.classify({status = 404, ok = false}).retryable)
    end)
  end)

  describe("retryable", function()
    it("accepts the string errors libraries raise", function()
      assert.truthy(client.retryable("connection reset"))
      assert.falsy(client.retryable({retryable = false}))
    end)
  end)

  describe("fetch", function()
    it("decodes the body of a success in one attempt", function()
      respond(200, '{"healthy":true,"requests":3}')
      local body, attempts = client.fetch(URL, {base_delay = 0})
      assert.equal(true, body.healthy)
      assert.equal(3, body.requests)
      assert.equal(1, attempts)
    end)

    -- Fetches from a server that always answers `status`; returns how many requests it got.
    local function requests_until_failure(status, retries)
      respond(status)
      local ok, err = pcall(client.fetch, URL, {retries = retries, base_delay = 0})
      assert.falsy(ok)
      assert.equal(status, err.status)
      return #test_mocks.get_calls("http", "get")
    end

    it("retries a server error, then raises it", function()
      assert.equal(3, requests_until_failure(503, 2))
    end)

    it("gives up at once on a client error", function()
      assert.equal(1, requests_until_failure(404, 5))
    end)

    it("succeeds once the server recovers, reporting each failure", function()
      test_mocks.setup()
      local answers = {503, 502, 200}
      cru.http.get = function()
        local status = table.remove(answers, 1)
        return {status = status, ok = status == 200, body = '{"n":1}', headers = {}}
      end
      local failures = {}
      local body, attempts = client.fetch(URL, {base_delay = 0, on_failure = function(n, f)
        failures[#failures + 1] = n .. ":" .. f.message
      end})
      assert.equal(1, body.n)
      assert.equal(3, attempts)
      assert.deep_equal({"1:HTTP 503", "2:HTTP 502"}, failures)
    end)
  end)
end)

describe("poller", function()
  before_each(function()
    respond(200, '{"healthy":true}')
    poller.setup({url = URL, burst = 100, base_delay = 0})
  end)

  it("checks its config", function()
    assert.has_error(function() poller.setup({every = 0}) end, "every: must be >= 0.05, got 0")
    assert.has_error(function() poller.setup({url = 42}) end, "url: expected string, got number")
  end)

  it("records each poll", function()
    poller.poll_once()
    respond(500)
    local result = poller.poll_once()
    assert.equal(false, result.ok)
    assert.equal("HTTP 500", result.error)
    local status = poller.tools.status.fn()
    assert.equal(2, status.polls)
    assert.equal(1, status.failures)
    assert.equal(result, status.last)
    assert.equal(2, #status.history)
  end)

  it("keeps the last ten results", function()
    for _ = 1, 12 do poller.poll_once() end
    assert.equal(10, #poller.tools.status.fn().history)
  end)

  it("reports an empty history as a JSON array", function()
    assert.equal("[]", cru.json.encode(poller.tools.status.fn().history))
  end)

  it("polls another url on command", function()
    test_mocks.setup({http = {responses = {["http://other.test/"] = {status = 200, body = '{"other":1}'}}}})
    local result = poller.commands.poll.fn({url = "http://other.test/"})
    assert.equal(1, result.body.other)
  end)

  it("does nothing without a url", function()
    poller.setup({})
    assert.has_error(function() poller.commands.poll.fn() end, "poller has no url")
    poller.services.poll.fn() -- returns at once instead of polling nothing forever
    assert.equal(0, #test_mocks.get_calls("http", "get"))
  end)

  it("is what require returns, so its file runs once", function()
    assert.equal(poller, require("poller"))
    assert.equal("poller", poller.name)
  end)
end)
