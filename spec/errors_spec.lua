-- The error object for every answer GitLab (or what stands in front of it)
-- can give, and for network failures.
local fake = require("fake")

local failed = fake.failed
local unpack = table.unpack or unpack

describe("errors", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("reads {\"message\": ...}", function()
    fake.fault{ path = "/jobs/1009$", kind = "status", status = 500, body = '{"message":"500 Internal Server Error"}' }
    local err = failed(c:get(1, 1009))
    assert.are.equal("http", err.kind)
    assert.are.equal(500, err.status)
    assert.are.equal("500 Internal Server Error", err.message)
    assert.are.equal('{"message":"500 Internal Server Error"}', err.body)
    assert.are.equal("GET /projects/1/jobs/1009: 500 Internal Server Error", tostring(err))
  end)

  it("reads {\"error\": ...}", function()
    fake.fault{ path = "/jobs/1009$", kind = "status", status = 404, body = '{"error":"404 Not Found"}' }
    local err = failed(c:get(1, 1009))
    assert.are.equal("404 Not Found", err.message)
  end)

  it("reads a validation message table", function()
    fake.fault{ path = "/play$", kind = "status", status = 400,
                body = '{"message":{"job_variables_attributes":["is invalid"]}}' }
    local err = failed(c:play(1, 1021))
    assert.are.equal("job_variables_attributes is invalid", err.message)
    assert.are.equal("POST /projects/1/jobs/1021/play: 400 Bad Request - job_variables_attributes is invalid",
      tostring(err))
  end)

  it("reads the endpoint limiter's nested 429 and its Retry-After", function()
    fake.fault{ path = "/jobs$", kind = "status", status = 429, headers = { ["Retry-After"] = "60" } }
    local err = failed(c:list(1))
    assert.are.equal(429, err.status)
    assert.are.equal("This endpoint has been requested too many times. Try again later.", err.message)
    assert.are.equal(60, err.retry_after)
    assert.are.equal(1, err.attempts)
  end)

  it("reads the global throttle's plain-text 429 and its RateLimit-Reset", function()
    local reset = os.time() + 30
    fake.fault{ path = "/jobs$", kind = "status", status = 429, body = "Retry later\n",
                headers = { ["Content-Type"] = "text/plain", ["RateLimit-Limit"] = "600",
                            ["RateLimit-Remaining"] = "0", ["RateLimit-Reset"] = tostring(reset) } }
    local err = failed(c:list(1))
    assert.are.equal("Retry later", err.message)
    -- counted from when the answer was read: after the fake got the request, before it got the next
    fake.assert_between(err.retry_after, reset - fake.now(), reset - fake.requests()[1].time, "retry_after")
  end)

  it("reads Retry-After given as an HTTP date", function()
    local when = os.time() + 120
    local at = os.date("!%a, %d %b %Y %H:%M:%S GMT", when)
    fake.fault{ path = "/jobs$", kind = "status", status = 503, headers = { ["Retry-After"] = at } }
    local err = failed(c:list(1))
    assert.are.equal(503, err.status)
    fake.assert_between(err.retry_after, when - fake.now(), when - fake.requests()[1].time, "retry_after")
  end)

  it("reads a proxy's HTML error page", function()
    fake.fault{ path = "/jobs/1009$", kind = "html", status = 502 }
    local err = failed(c:get(1, 1009))
    assert.are.equal("http", err.kind)
    assert.are.equal(502, err.status)
    assert.are.equal("502 Bad Gateway", err.message)
    assert.matches("<html>", err.body)
    assert.are.equal("GET /projects/1/jobs/1009: 502 Bad Gateway", tostring(err))
  end)

  it("says a POST answered with a 5xx may have been done", function()
    fake.fault{ path = "/retry$", kind = "status", status = 502, apply = true }
    local err = failed(c:retry(1, 1009))
    assert.are.equal(502, err.status)
    assert.is_true(err.maybe_done)
    assert.matches("may have happened", tostring(err))
  end)

  it("gives kind decode for malformed JSON, with the body", function()
    fake.fault{ path = "/jobs/1009$", kind = "bad_json" }
    local err = failed(c:get(1, 1009))
    assert.are.equal("decode", err.kind)
    assert.is_string(err.body)
    assert.is_nil(err.status)
  end)

  it("gives kind decode for a 2xx that is not JSON", function()
    fake.fault{ path = "/jobs$", kind = "not_json" }
    local err = failed(c:list(1))
    assert.are.equal("decode", err.kind)
    assert.matches("Sign in", err.body)
  end)

  it("survives very deep JSON", function()
    fake.fault{ path = "/jobs$", kind = "deep_json", depth = 200000 }
    local err = failed(c:list(1))
    assert.are.equal("decode", err.kind)
  end)

  it("refuses a JSON body larger than max_body", function()
    local small = fake.client{ max_body = 100000 }
    fake.fault{ path = "/jobs$", kind = "big_body", size = 500000 }
    local err = failed(small:list(1))
    assert.are.equal("decode", err.kind)
    assert.matches("max_body", err.message)
  end)

  it("reads an answer with enormous headers", function()
    fake.fault{ path = "/jobs/1009$", kind = "huge_headers", size = 200000 }
    assert.are.equal(1009, assert(c:get(1, 1009)).id)
  end)

  it("gives kind network for a body cut short of its length", function()
    fake.fault{ path = "/jobs/1009$", kind = "truncate" }
    local err = failed(c:get(1, 1009))
    assert.are.equal("network", err.kind)
    assert.are.equal("GET", err.method)
  end)

  it("gives kind network for a reset connection", function()
    fake.fault{ path = "/jobs/1009$", kind = "reset" }
    local err = failed(c:get(1, 1009))
    assert.are.equal("network", err.kind)
    assert.are.equal("/projects/1/jobs/1009", err.path)
  end)

  it("gives kind timeout for a stalled server", function()
    local quick = fake.client{ timeout = 0.3 }
    fake.fault{ path = "/jobs/1009$", kind = "stall", delay = 3 }
    local err = failed(quick:get(1, 1009))
    assert.are.equal("timeout", err.kind)
  end)

  it("waits for a slow answer as long as it takes with timeout = 0", function()
    -- an answer dripped out over about a second: longer than the quick client waits
    local drip = { path = "/jobs/1009$", kind = "drip", chunk = 256, delay = 0.1 }
    fake.fault(drip)
    assert.are.equal("timeout", failed(fake.client{ timeout = 0.5 }:get(1, 1009)).kind)
    fake.fault(drip)
    local job, err = fake.client{ timeout = 0 }:get(1, 1009)
    assert.is_nil(err)
    assert.are.equal(1009, job.id)
    local reqs = fake.requests()
    assert.are.equal(2, #reqs)
    assert.are.equal("drip", reqs[2].fault)
  end)

  it("gives kind timeout when no connection is accepted within connect_timeout", function()
    local port, free = fake.silent_port()
    finally(free)
    local slow = fake.client{ url = "http://127.0.0.1:" .. port, connect_timeout = 0.5, timeout = 20 }
    local err = failed(slow:get(1, 1009))
    assert.are.equal("timeout", err.kind)
    assert.is_nil(err.status)
    assert.are.equal(1, err.attempts)
    -- libcurl's own account: connecting gave up after connect_timeout, not the request's timeout
    assert.matches("[Cc]onnect", err.message)
    local ms = tonumber(err.message:match("after (%d+) m"))
    assert.is_number(ms, err.message)
    assert.is_true(ms >= 500 and ms < 20000, err.message)
  end)

  it("gives kind network when nothing listens", function()
    local dead = fake.client{ url = "http://127.0.0.1:" .. fake.closed_port() }
    local err = failed(dead:get(1, 1009))
    assert.are.equal("network", err.kind)
    assert.are.equal(1, err.attempts)
    assert.is_nil(err.maybe_done)
  end)

  it("says a POST that timed out may have been done", function()
    local quick = fake.client{ timeout = 0.3 }
    fake.fault{ path = "/cancel$", kind = "stall", delay = 2, apply = true }
    local err = failed(quick:cancel(1, 1012))
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.maybe_done)
  end)

  it("is recognised by gitlab.is_error", function()
    local gitlab = require("gitlab.jobs")
    local _, err = c:get(1, 999999)
    assert.is_true(gitlab.is_error(err))
    assert.is_false(gitlab.is_error({ kind = "http" }))
    assert.is_false(gitlab.is_error("x"))
  end)

  it("never carries a token, whichever the client sent", function()
    local credentials = { { token = fake.READONLY }, { token = fake.EXPIRED }, unpack(fake.CREDENTIALS) }
    local faults = {
      { kind = "status", status = 500 }, { kind = "html", status = 502 }, { kind = "reset_mid_body" },
      { kind = "truncate" }, { kind = "bad_json" }, { kind = "status", status = 429 },
    }
    local looked = 0
    for _, credential in ipairs(credentials) do
      local t = fake.client(credential)
      for _, f in ipairs(faults) do
        fake.fault{ path = "/jobs/1009$", kind = f.kind, status = f.status }
        failed(t:get(1, 1009))
        looked = looked + 1
      end
      failed(t:retry(1, 1012)) -- refused, for one reason or another
      failed(t:get(1, 999999))
      looked = looked + 2
    end
    assert.are.equal(#credentials * (#faults + 2), looked)
  end)
end)
