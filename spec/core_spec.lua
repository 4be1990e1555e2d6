-- The core's functions for the Lua helpers: one argument check, one escaping,
-- one date arithmetic and one backoff, shared with the C calls.
local fake = require("fake")
local core = require("gitlab.jobs.core")

describe("core helpers", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("check raises as the call would, blamed on the caller's argument, and sends nothing", function()
    local err = fake.raises(function() core.check(c, { name = "each", shift = 1 }, "list", 1, { scope = "bogus" }) end,
      "bad argument #3 to 'each'", "scope: unknown status 'bogus'")
    assert.is_nil(err:find("'?'", 1, true))
    fake.raises(function() core.check(c, { name = "batch", arg = 1, prefix = "calls[2]: " }, "get", 1, "7") end,
      "bad argument #1 to 'batch' (calls[2]: job_id: positive integer expected, got string '7')")
    fake.raises(function() core.check(c, { name = "each", shift = 1 }, "nope", 1) end,
      "bad argument #1 to 'each' (method: no call named 'nope')")
    fake.raises(function() core.check(c, { name = "batch", arg = 1, prefix = "calls[4]: " }, "nope", 1) end,
      "bad argument #1 to 'batch' (calls[4]: method: no call named 'nope')")
    core.check(c, { name = "each", shift = 1 }, "pipeline_jobs", 1, 101, { scope = { "failed" } })
    assert.are.same({}, fake.requests())
  end)

  it("escape writes a path as one segment, as the calls send projects", function()
    assert.are.equal("acme%2Fplatform%2Fapi", core.escape("acme/platform/api"))
    assert.are.equal("a%20b%25c-d._~", core.escape("a b%c-d._~"))
    assert.are.equal("", core.escape(""))
  end)

  it("timegm counts UTC seconds since the epoch, before it too", function()
    assert.are.equal(1794989643, core.timegm(2026, 11, 18, 8, 14, 3))
    assert.are.equal(0, core.timegm(1970, 1, 1))
    assert.are.equal(951782400, core.timegm(2000, 2, 29))
    assert.are.equal(-86400, core.timegm(1969, 12, 31))
  end)

  it("backoff waits between half and all of base * 2^(n-1), never past max", function()
    for n = 1, 8 do
      local d = math.min(2 * 2 ^ (n - 1), 60)
      local w = core.backoff(c, n, 2, 60)
      assert.is_true(w >= d / 2 and w <= d, ("wait %g for n = %d"):format(w, n))
    end
  end)
end)
