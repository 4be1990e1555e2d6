-- Waits a hostile server asks for: days long, already past, or saying
-- nothing at all. None may hang a call; none may be skipped where it counts.
local fake = require("fake")

local function http_date(t)
  return os.date("!%a, %d %b %Y %H:%M:%S GMT", t)
end

describe("a wait the server asks for", function()
  local c, clk
  fake.each_spec(function() c, clk = fake.timed_client({ retries = { max = 3 } }) end)

  local far = {
    ["Retry-After: 999999"] = { ["Retry-After"] = "999999" },
    ["Retry-After as a date in 9999"] = { ["Retry-After"] = "Fri, 31 Dec 9999 23:59:59 GMT" },
    ["a RateLimit-Reset eleven days away"] = { ["RateLimit-Reset"] = tostring(os.time() + 1000000) },
  }
  for name, headers in pairs(far) do
    it(("longer than max_wait is not waited (%s): the error comes at once"):format(name), function()
      fake.fault({ path = "/jobs/1001$", kind = "status", status = 429, headers = headers })
      local err = fake.failed(c:get(1, 1001))
      assert.are.equal(429, err.status)
      assert.are.equal(1, err.attempts)
      assert.is_true(err.retry_after > 300)
      assert.are.same({}, clk.sleeps)
      assert.are.equal(1, #fake.requests())
    end)
  end

  it("within retries.max_wait is waited, beyond it is not", function()
    c, clk = fake.timed_client({ retries = { max = 3, max_wait = 5 } })
    fake.fault({ path = "/jobs/1001$", kind = "status", status = 429, headers = { ["Retry-After"] = "3" } })
    assert.is_table((c:get(1, 1001)))
    assert.are.same({ 3 }, clk.sleeps)
    fake.fault({ path = "/jobs/1001$", kind = "status", status = 429, headers = { ["Retry-After"] = "6" } })
    local err = fake.failed(c:get(1, 1001))
    assert.are.equal(6, err.retry_after)
    assert.are.same({ 3 }, clk.sleeps)
    fake.raises(function() fake.client({ retries = { max_wait = -1 } }) end, "retries.max_wait")
  end)

  it("after RateLimit-Remaining: 0 with a reset days away, the next request is not held for days", function()
    local job = c:get(1, 1002)
    fake.fault({ path = "/jobs/1001$", kind = "status", status = 200, body = job,
      headers = { ["RateLimit-Remaining"] = "0", ["RateLimit-Reset"] = tostring(os.time() + 1000000) } })
    assert.is_table((c:get(1, 1001)))
    assert.is_table((c:get(1, 1003)))
    assert.are.same({}, clk.sleeps)
  end)

  local none = {
    ["a RateLimit-Reset already past"] = { ["RateLimit-Reset"] = tostring(os.time() - 100) },
    ["a Retry-After that is neither a number nor a date"] = { ["Retry-After"] = "soon" },
    ["a Retry-After date already past"] = { ["Retry-After"] = http_date(os.time() - 100) },
  }
  for name, headers in pairs(none) do
    it(("is no advice when it is %s: backoff applies"):format(name), function()
      fake.fault({ path = "/jobs/1001$", kind = "status", status = 429, headers = headers })
      assert.is_table((c:get(1, 1001)))
      assert.are.equal(1, #clk.sleeps)
      -- the first backoff: between half and all of base_delay (0.5 s)
      assert.is_true(clk.sleeps[1] >= 0.25 and clk.sleeps[1] <= 0.5, "waited " .. tostring(clk.sleeps[1]))
    end)
  end
end)
