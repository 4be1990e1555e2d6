-- Retries: which failures are tried again, how many times, how long the
-- client waits in between, and the POSTs that must never go twice.
-- Every wait goes through a fake clock: nothing really waits.
local fake = require("fake")
local gitlab = require("gitlab.jobs")

local failed = fake.failed

local function merged(...)
  local out = {}
  for i = 1, select("#", ...) do
    for k, v in pairs(select(i, ...) or {}) do out[k] = v end
  end
  return out
end

--- A client on the fake with retries on and a fake clock: client, the waits it made.
local function client(...)
  local c, clk = fake.timed_client({ retries = { max = 3, base_delay = 0.1, max_delay = 5 } }, ...)
  return c, clk.sleeps
end

local function job_count(c)
  return #assert(c:list(1, { per_page = 100 }))
end

-- A wait for the n-th retry (n from 1) is within [d/2, d], d = base * 2^(n-1) capped by max.
local function assert_backoff(slept, base, max)
  for n, s in ipairs(slept) do
    local d = math.min(base * 2 ^ (n - 1), max)
    assert.is_true(s >= d / 2 - 1e-9 and s <= d + 1e-9,
      ("wait #%d is %s, expected between %s and %s"):format(n, tostring(s), d / 2, d))
  end
end

-- Asserts that the one wait before the second try of the job list lasted until
-- the Unix time `moment`, counted from when the first answer was read: after
-- the fake got the first try, before it got the second.
local function assert_waited_until(slept, moment)
  assert.are.equal(1, #slept)
  local tries = fake.requests_to("GET", "/jobs$")
  assert.are.equal(2, #tries)
  fake.assert_between(slept[1], moment - tries[2].time, moment - tries[1].time, "the wait")
end

-- The failures a GET is tried again after, as the fake produces them.
local GET_FAILURES = {
  { what = "a reset connection", fault = { kind = "reset" }, kind = "network" },
  { what = "a reset in the middle of the body", fault = { kind = "reset_mid_body" }, kind = "network" },
  { what = "a body cut short", fault = { kind = "truncate" }, kind = "network" },
  { what = "a timeout", fault = { kind = "stall", delay = 2 }, kind = "timeout", timeout = 0.4 },
  { what = "429", fault = { kind = "status", status = 429 }, kind = "http", status = 429 },
  { what = "500", fault = { kind = "status", status = 500 }, kind = "http", status = 500 },
  { what = "502", fault = { kind = "html", status = 502 }, kind = "http", status = 502 },
  { what = "503", fault = { kind = "status", status = 503 }, kind = "http", status = 503 },
  { what = "504", fault = { kind = "html", status = 504 }, kind = "http", status = 504 },
}

-- The failures after which a POST may have reached the server; each runs the
-- real action first (apply), as a server that fails after doing the work.
local POST_FAILURES = {
  { what = "500", fault = { kind = "status", status = 500 }, kind = "http", status = 500 },
  { what = "502", fault = { kind = "html", status = 502 }, kind = "http", status = 502 },
  { what = "503 even with a Retry-After",
    fault = { kind = "status", status = 503, headers = { ["Retry-After"] = "1" } }, kind = "http", status = 503 },
  { what = "504", fault = { kind = "html", status = 504 }, kind = "http", status = 504 },
  { what = "a reset connection", fault = { kind = "reset" }, kind = "network" },
  { what = "a reset in the middle of the answer", fault = { kind = "reset_mid_body" }, kind = "network" },
  { what = "an answer cut short", fault = { kind = "truncate" }, kind = "network" },
  { what = "a timeout", fault = { kind = "stall", delay = 2 }, kind = "timeout", timeout = 0.4 },
}

describe("retries", function()
  fake.each_spec()

  describe("of a GET", function()
    for _, f in ipairs(GET_FAILURES) do
      it("happen after " .. f.what .. ", until it succeeds", function()
        local c, slept = client{ timeout = f.timeout }
        fake.fault(merged(f.fault, { path = "/jobs/1009$", count = 2 }))
        local job, err = c:get(1, 1009)
        assert.is_nil(err)
        assert.are.equal(1009, job.id)
        local tries = fake.requests_to("GET", "/jobs/1009$")
        assert.are.equal(3, #tries)
        assert.are.equal(f.fault.kind, tries[1].fault)
        assert.are.equal(f.fault.kind, tries[2].fault)
        assert.is_nil(tries[3].fault)
        assert.are.equal(2, #slept)
      end)

      it("stop after max retries on " .. f.what .. ": max + 1 tries", function()
        local c, slept = client{ timeout = f.timeout, retries = { max = 2, base_delay = 0.1 } }
        fake.fault(merged(f.fault, { path = "/jobs/1009$", count = -1 }))
        local err = failed(c:get(1, 1009))
        assert.are.equal(f.kind, err.kind)
        assert.are.equal(f.status, err.status)
        assert.are.equal(3, err.attempts)
        assert.is_nil(err.maybe_done)
        assert.are.equal(3, #fake.requests_to("GET", "/jobs/1009$"))
        assert.are.equal(2, #slept)
      end)
    end

    it("happen when the connection is refused", function()
      local c, slept = client{ url = "http://127.0.0.1:" .. fake.closed_port(),
                                 retries = { max = 2, base_delay = 0.1 } }
      local err = failed(c:get(1, 1009))
      assert.are.equal("network", err.kind)
      assert.are.equal(3, err.attempts)
      assert.is_nil(err.maybe_done)
      assert.are.equal(2, #slept)
    end)

    it("count the client's tries, though libcurl re-sends once on a kept-alive connection found dead",
      function()
        local c = client{ retries = { max = 2, base_delay = 0.1 } }
        assert(c:get(1, 1009)) -- leaves a kept-alive connection behind
        fake.clear_requests()
        fake.fault{ path = "/jobs/1009$", kind = "reset", count = -1 }
        local err = failed(c:get(1, 1009))
        assert.are.equal(3, err.attempts)
        -- the first try went out twice: on the old connection, then on a new one
        local got = fake.requests_to("GET", "/jobs/1009$")
        assert.are.equal(4, #got)
        assert.are_not.equal(got[1].connection, got[2].connection)
      end)

    it("are off with max = 0, and with retries = false", function()
      for _, retries in ipairs({ { max = 0 }, false }) do
        fake.reset()
        local c, slept = client{ retries = retries }
        fake.fault{ path = "/jobs/1009$", kind = "status", status = 503, count = -1 }
        local err = failed(c:get(1, 1009))
        assert.are.equal(503, err.status)
        assert.are.equal(1, err.attempts)
        assert.are.equal(1, #fake.requests_to("GET", "/jobs/1009$"))
        assert.are.same({}, slept)
      end
    end)

    it("are three by default, waiting from 0.5 s up", function()
      local slept = {}
      local c = gitlab.new{ url = fake.url, token = fake.TOKEN, sleep = function(s) slept[#slept + 1] = s end }
      fake.track(c)
      fake.fault{ path = "/jobs/1009$", kind = "status", status = 500, count = -1 }
      local err = failed(c:get(1, 1009))
      assert.are.equal(4, err.attempts)
      assert.are.equal(4, #fake.requests_to("GET", "/jobs/1009$"))
      assert.are.equal(3, #slept)
      assert_backoff(slept, 0.5, 30)
    end)

    it("do not happen for a body that is not the JSON promised", function()
      local c, slept = client()
      for _, kind in ipairs({ "bad_json", "not_json" }) do
        fake.reset()
        fake.fault{ path = "/jobs/1009$", kind = kind, count = -1 }
        local err = failed(c:get(1, 1009))
        assert.are.equal("decode", err.kind)
        assert.are.equal(1, err.attempts)
        assert.are.equal(1, #fake.requests_to("GET", "/jobs/1009$"))
      end
      assert.are.same({}, slept)
    end)

    it("do not happen for other error statuses", function()
      local c, slept = client()
      for _, status in ipairs({ 400, 401, 403, 404, 409, 501 }) do
        fake.reset()
        fake.fault{ path = "/jobs/1009$", kind = "status", status = status, count = -1 }
        local err = failed(c:get(1, 1009))
        assert.are.equal(status, err.status)
        assert.are.equal(1, err.attempts)
        assert.are.equal(1, #fake.requests_to("GET", "/jobs/1009$"))
      end
      assert.are.same({}, slept)
    end)
  end)

  describe("of a POST", function()
    -- each action, a failure that comes after the server did it, and how to see it was done
    local ACTIONS = {
      { name = "cancel", job = 1012, after = { kind = "stall", delay = 2 },
        check = function(c) assert.are.equal("canceled", assert(c:get(1, 1012)).status) end },
      { name = "erase", job = 1009, after = { kind = "status", status = 502 },
        check = function(c) assert.is_string(assert(c:get(1, 1009)).erased_at) end },
      { name = "play", job = 1021, after = { kind = "reset" },
        check = function(c) assert.are.equal("pending", assert(c:get(1, 1021)).status) end },
    }

    it("happen after a 429, and the action is done once", function()
      local c, slept = client()
      local before = job_count(c)
      fake.fault{ path = "/retry$", kind = "status", status = 429, headers = { ["Retry-After"] = "2" } }
      local job, err = c:retry(1, 1009)
      assert.is_nil(err)
      assert.are.equal("unit-tests", job.name)
      local tries = fake.requests_to("POST", "/retry$")
      assert.are.equal(2, #tries)
      assert.are.equal(429, tries[1].status)
      assert.are.equal(201, tries[2].status)
      assert.are.same({ 2 }, slept)
      assert.are.equal(before + 1, job_count(c))
    end)

    for _, a in ipairs(ACTIONS) do
      it("happen after a 429 for " .. a.name, function()
        local c, slept = client()
        fake.fault{ path = "/" .. a.name .. "$", kind = "status", status = 429 }
        assert(c[a.name](c, 1, a.job))
        assert.are.equal(2, #fake.requests_to("POST", "/" .. a.name .. "$"))
        assert.are.equal(1, #slept)
        a.check(c)
      end)
    end

    it("stop after max retries on 429s, which did nothing", function()
      local c, slept = client{ retries = { max = 2, base_delay = 0.1 } }
      local before = job_count(c)
      fake.fault{ path = "/retry$", kind = "status", status = 429, count = -1 }
      local err = failed(c:retry(1, 1009))
      assert.are.equal(429, err.status)
      assert.are.equal(3, err.attempts)
      assert.is_nil(err.maybe_done)
      assert.is_nil(tostring(err):find("may have", 1, true))
      assert.are.equal(3, #fake.requests_to("POST", "/retry$"))
      assert.are.equal(2, #slept)
      assert.are.equal(before, job_count(c))
    end)

    it("happen when the connection is refused, which proves nothing was sent", function()
      local c, slept = client{ url = "http://127.0.0.1:" .. fake.closed_port(),
                                 retries = { max = 2, base_delay = 0.1 } }
      for _, name in ipairs({ "cancel", "retry", "erase", "play" }) do
        for i = #slept, 1, -1 do slept[i] = nil end
        local err = failed(c[name](c, 1, 1012))
        assert.are.equal("network", err.kind)
        assert.are.equal("POST", err.method)
        assert.are.equal(3, err.attempts)
        assert.is_nil(err.maybe_done)
        assert.is_nil(tostring(err):find("may have", 1, true))
        assert.are.equal(2, #slept)
      end
    end)

    it("happen when the host name does not resolve", function()
      local c, slept = client{ url = "http://gitlab.invalid", retries = { max = 2, base_delay = 0.1 } }
      local err = failed(c:cancel(1, 1012))
      assert.are.equal("network", err.kind)
      -- every try failed the same way: the handle is fit for another try after one that failed early
      assert.matches("resolve", err.message)
      assert.are.equal(3, err.attempts)
      assert.is_nil(err.maybe_done)
      assert.are.equal(2, #slept)
    end)

    for _, f in ipairs(POST_FAILURES) do
      it("never happen after " .. f.what .. ": sent once, done once, maybe_done", function()
        local c, slept = client{ timeout = f.timeout }
        local before = job_count(c)
        fake.clear_requests()
        fake.fault(merged(f.fault, { path = "/retry$", count = -1, apply = true }))
        local err = failed(c:retry(1, 1009))
        assert.are.equal(f.kind, err.kind)
        assert.are.equal(f.status, err.status)
        assert.is_true(err.maybe_done)
        assert.matches("may have reached the server", tostring(err), 1, true)
        assert.are.equal(1, err.attempts)
        assert.are.same({}, slept)
        local tries = fake.requests_to("POST", "/retry$")
        assert.are.equal(1, #tries)
        assert.are.equal(f.fault.kind, tries[1].fault)
        -- the retry really happened, exactly once: one new job, the newest
        local jobs = assert(c:list(1, { per_page = 100 }))
        assert.are.equal(before + 1, #jobs)
        assert.are.equal("unit-tests", jobs[1].name)
        assert.are.equal("pending", jobs[1].status)
      end)
    end

    for _, a in ipairs(ACTIONS) do
      it("never happen for " .. a.name .. " after a " .. a.after.kind .. " that came after the action", function()
        local c, slept = client{ timeout = 0.4 }
        fake.fault(merged(a.after, { path = "/" .. a.name .. "$", count = -1, apply = true }))
        local err = failed(c[a.name](c, 1, a.job))
        assert.is_true(err.maybe_done)
        assert.are.equal(1, err.attempts)
        assert.are.equal(1, #fake.requests_to("POST", "/" .. a.name .. "$"))
        assert.are.same({}, slept)
        a.check(c)
      end)
    end

    it("stop after a 429 once a later try may have been done", function()
      local c, slept = client()
      local before = job_count(c)
      fake.fault{ { path = "/retry$", kind = "status", status = 429 },
                  { path = "/retry$", kind = "status", status = 500, apply = true, count = -1 } }
      local err = failed(c:retry(1, 1009))
      assert.are.equal(500, err.status)
      assert.are.equal(2, err.attempts)
      assert.is_true(err.maybe_done)
      assert.are.equal(2, #fake.requests_to("POST", "/retry$"))
      assert.are.equal(1, #slept)
      assert.are.equal(before + 1, job_count(c))
    end)

    it("go on a fresh connection, so a reset kept-alive one cannot send it twice", function()
      local c = client()
      assert(c:get(1, 1009)) -- a kept-alive connection now waits in the client
      fake.fault{ path = "/retry$", kind = "reset", count = -1, apply = true }
      local err = failed(c:retry(1, 1009))
      assert.is_true(err.maybe_done)
      local tries = fake.requests_to("POST", "/retry$")
      assert.are.equal(1, #tries)
      assert.are_not.equal(fake.requests_to("GET", "/jobs/1009$")[1].connection, tries[1].connection)
    end)
  end)

  describe("wait", function()
    it("as long as Retry-After says in seconds", function()
      local c, slept = client()
      fake.fault{ path = "/jobs$", kind = "status", status = 429, headers = { ["Retry-After"] = "7" } }
      assert(c:list(1))
      assert.are.same({ 7 }, slept)
    end)

    it("until the HTTP date of Retry-After", function()
      local c, slept = client()
      local when = os.time() + 20
      local at = os.date("!%a, %d %b %Y %H:%M:%S GMT", when)
      fake.fault{ path = "/jobs$", kind = "status", status = 503, headers = { ["Retry-After"] = at } }
      assert(c:list(1))
      assert_waited_until(slept, when)
    end)

    it("until RateLimit-Reset when there is no Retry-After", function()
      local c, slept = client()
      local reset = os.time() + 15
      fake.fault{ path = "/jobs$", kind = "status", status = 429, body = "Retry later\n",
                  headers = { ["Content-Type"] = "text/plain", ["RateLimit-Reset"] = tostring(reset) } }
      assert(c:list(1))
      assert_waited_until(slept, reset)
    end)

    it("as Retry-After says rather than RateLimit-Reset", function()
      local c, slept = client()
      fake.fault{ path = "/jobs$", kind = "status", status = 429,
                  headers = { ["Retry-After"] = "5", ["RateLimit-Reset"] = tostring(os.time() + 100) } }
      assert(c:list(1))
      assert.are.same({ 5 }, slept)
    end)

    it("as long as the server asks even beyond max_delay, for a POST too", function()
      local c, slept = client{ retries = { max = 1, base_delay = 0.1, max_delay = 1 } }
      fake.fault{ path = "/cancel$", kind = "status", status = 429, headers = { ["Retry-After"] = "42" } }
      assert(c:cancel(1, 1012))
      assert.are.same({ 42 }, slept)
    end)

    it("base_delay * 2^n with jitter, without server advice", function()
      local c, slept = client{ retries = { max = 6, base_delay = 0.2, max_delay = 100 } }
      fake.fault{ path = "/jobs/1009$", kind = "status", status = 500, count = -1 }
      local err = failed(c:get(1, 1009))
      assert.are.equal(7, err.attempts)
      assert.are.equal(6, #slept)
      assert_backoff(slept, 0.2, 100)
    end)

    it("base_delay * 2^n after network failures too", function()
      local c, slept = client{ retries = { max = 4, base_delay = 0.3, max_delay = 100 } }
      fake.fault{ path = "/jobs/1009$", kind = "reset", count = -1 }
      failed(c:get(1, 1009))
      assert.are.equal(4, #slept)
      assert_backoff(slept, 0.3, 100)
    end)

    it("never more than max_delay", function()
      local c, slept = client{ retries = { max = 8, base_delay = 1, max_delay = 3 } }
      fake.fault{ path = "/jobs/1009$", kind = "status", status = 502, count = -1 }
      failed(c:get(1, 1009))
      assert.are.equal(8, #slept)
      assert_backoff(slept, 1, 3)
      for _, s in ipairs(slept) do assert.is_true(s <= 3, tostring(s)) end
    end)

    it("with jitter: the same retry does not always wait the same", function()
      local c, slept = client{ retries = { max = 1, base_delay = 1, max_delay = 10 } }
      local distinct, first = false, nil
      for _ = 1, 8 do
        fake.fault{ path = "/jobs/1009$", kind = "status", status = 503 }
        assert(c:get(1, 1009))
        local s = slept[#slept]
        assert.is_true(s >= 0.5 and s <= 1, tostring(s))
        if first == nil then first = s elseif s ~= first then distinct = true end
      end
      assert.are.equal(8, #slept)
      assert.is_true(distinct, "eight waits all equal: no jitter")
    end)

    it("only through the client's sleep", function()
      local c, slept = client{ retries = { max = 2, base_delay = 10, max_delay = 60 } }
      fake.fault{ path = "/jobs/1009$", kind = "status", status = 429, headers = { ["Retry-After"] = "30" } }
      fake.fault{ path = "/jobs/1009$", kind = "status", status = 500 }
      assert(c:get(1, 1009))
      assert.are.equal(2, #slept)
      assert.are.equal(30, slept[1])
      assert.is_true(slept[1] + slept[2] >= 35)
      -- by the fake's clock, the three tries came sooner than the waits asked for
      local tries = fake.requests_to("GET", "/jobs/1009$")
      assert.are.equal(3, #tries)
      assert.is_true(tries[3].time - tries[1].time < slept[1] + slept[2], "the client waited for real")
    end)

    it("before the next request when RateLimit-Remaining says 0, instead of spending a 429", function()
      local throttle = { rate_limit = { limit = 1, period = 60 } }
      fake.config(throttle)
      local waits = {}
      local c = client{ sleep = function(s)
        waits[#waits + 1] = { seconds = s, received = #fake.requests(), at = fake.now() }
        fake.config(throttle) -- the throttle's window passes while the client waits
      end }
      assert(c:get(1, 1009))
      assert.are.same({}, waits)
      assert(c:get(1, 1009))
      assert.are.equal(1, #waits)
      assert.are.equal(1, waits[1].received) -- it waited before sending the second request
      -- the window of 60 s began with the first request; the wait was counted between its
      -- arrival and the sleep (the reset is a whole second, rounded up)
      local first, at = fake.requests()[1].time, waits[1].at
      fake.assert_between(waits[1].seconds, first + 60 - at, at + 61 - first, "the wait")
      local reqs = fake.requests()
      assert.are.equal(2, #reqs)
      for _, r in ipairs(reqs) do
        assert.are.equal(200, r.status)
        assert.is_nil(r.fault)
      end
    end)
  end)

  describe("of a streamed trace", function()
    local LOG_SIZE = 300000

    local function whole_log(c)
      fake.set_job(1009, { log_size = LOG_SIZE })
      local log = assert(c:trace(1, 1009))
      assert.are.equal(LOG_SIZE, #log)
      fake.clear_requests()
      return log
    end

    local function stream(c, opts) return fake.stream(c, 1, 1009, opts) end

    it("give the sink every byte exactly once after a reset mid-body", function()
      local c, slept = client()
      local log = whole_log(c)
      fake.fault{ path = "/trace$", kind = "reset_mid_body", bytes = 100000 }
      local n, err, got = stream(c)
      assert.is_nil(err)
      assert.are.equal(LOG_SIZE, n)
      assert.are.equal(#log, #got)
      assert.is_true(got == log, "the streamed log differs from the log")
      assert.are.equal(2, #fake.requests_to("GET", "/trace$"))
      assert.are.equal(1, #slept)
    end)

    it("give every byte exactly once across failures at different points", function()
      local c = client()
      local log = whole_log(c)
      fake.fault{ { path = "/trace$", kind = "reset_mid_body", bytes = 50000 },
                  { path = "/trace$", kind = "truncate", bytes = 200000 },
                  { path = "/trace$", kind = "status", status = 503 } }
      local n, err, got = stream(c)
      assert.is_nil(err)
      assert.are.equal(LOG_SIZE, n)
      assert.is_true(got == log, "the streamed log differs from the log")
      assert.are.equal(4, #fake.requests_to("GET", "/trace$"))
    end)

    it("give every byte exactly once after a timeout midway", function()
      local chunks, before_retry = {}, nil
      local c = client{ timeout = 0.5, sleep = function() before_retry = #table.concat(chunks) end }
      local log = whole_log(c)
      -- 20 KB every tenth of a second: part of the log comes before the timeout
      fake.fault{ path = "/trace$", kind = "drip", chunk = 20000, delay = 0.1 }
      local n, err = c:trace(1, 1009, { sink = function(s) chunks[#chunks + 1] = s end })
      assert.is_nil(err)
      assert.are.equal(LOG_SIZE, n)
      assert.is_true(before_retry > 0 and before_retry < LOG_SIZE, tostring(before_retry))
      assert.is_true(table.concat(chunks) == log, "the streamed log differs from the log")
      local tries = fake.requests_to("GET", "/trace$")
      assert.are.equal(2, #tries)
      assert.are.equal("drip", tries[1].fault)
    end)

    it("keep the offset asked for", function()
      local c = client()
      local log = whole_log(c)
      fake.fault{ path = "/trace$", kind = "reset_mid_body", bytes = 120000 }
      local n, err, got = stream(c, { offset = 1000 })
      assert.is_nil(err)
      assert.are.equal(LOG_SIZE - 1000, n)
      assert.is_true(got == log:sub(1001), "the streamed log differs from the log after the offset")
    end)

    it("give the whole log once when it is not streamed", function()
      local c = client()
      local log = whole_log(c)
      fake.fault{ path = "/trace$", kind = "reset_mid_body", bytes = 100000 }
      local got = assert(c:trace(1, 1009))
      assert.is_true(got == log, "the log differs")
    end)
  end)

  it("never show a token in an error, whichever the client sent", function()
    local looked = 0
    for _, credential in ipairs(fake.CREDENTIALS) do
      local c = client(credential, { retries = { max = 2, base_delay = 0.1 } })
      for _, f in ipairs({ { kind = "status", status = 503 }, { kind = "reset" }, { kind = "truncate" } }) do
        fake.fault(merged(f, { path = "/jobs/1009$", count = -1 }))
        assert.are.equal(3, failed(c:get(1, 1009)).attempts)
        assert(fake.control("DELETE", "/faults"))
        looked = looked + 1
      end
      fake.fault{ path = "/cancel$", kind = "status", status = 500, count = -1 }
      failed(c:cancel(1, 1012)) -- a POST not sent again
      local dead = client(credential, { url = "http://127.0.0.1:" .. fake.closed_port() })
      assert.are.equal(4, failed(dead:get(1, 1009)).attempts)
      looked = looked + 2
    end
    assert.are.equal(5 * #fake.CREDENTIALS, looked)
  end)
end)
