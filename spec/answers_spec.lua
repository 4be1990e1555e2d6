-- Answers that break after the server acted, and transports that lie about
-- the status. (Bodies larger than max_body: downloads_spec.lua.)
local fake = require("fake")
local gitlab = require("gitlab.jobs")

describe("a POST whose action ran", function()
  fake.each_spec()

  it("answered with broken JSON is reported maybe_done", function()
    local c = fake.client()
    fake.fault({ method = "POST", path = "/retry$", kind = "bad_json", apply = true })
    local err = fake.failed(c:retry(1, 1009))
    assert.are.equal("decode", err.kind)
    assert.is_true(err.maybe_done)
    assert.matches("may have", tostring(err))
    assert.is_true(fake.control("GET", "/jobs/1009").retried) -- the action did happen
    c:close()
  end)

  it("answered with a body over max_body is reported maybe_done", function()
    local c = fake.client({ max_body = 64 })
    local err = fake.failed(c:cancel(1, 1016))
    assert.are.equal("decode", err.kind)
    assert.matches("max_body", err.message)
    assert.is_true(err.maybe_done)
    assert.are.equal("canceled", fake.control("GET", "/jobs/1016").job.status)
    c:close()
  end)
end)

describe("a transport's status", function()
  it("that is not an HTTP status (NaN, inf, 1e300, 99, 1000, 200.5) is a network error", function()
    for _, status in ipairs({ 0 / 0, math.huge, -math.huge, 1e300, 99, 1000, 200.5, -200 }) do
      local c = gitlab.new{ url = fake.url, token = "x", retries = { max = 0 },
        transport = function() return { status = status, headers = {}, body = "{}" } end }
      local err = fake.failed(c:get(1, 1001))
      assert.are.equal("network", err.kind)
      assert.matches("status", err.message)
      local got
      c:start("get", 1, 1001, function(v, e) got = { v, e } end)
      while c:poll(1) > 0 do end
      assert.is_nil(got[1])
      assert.are.equal("network", got[2].kind)
      c:close()
    end
  end)
end)
