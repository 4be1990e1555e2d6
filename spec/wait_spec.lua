-- client:wait: polls a job until it is finished, on a fake clock.
local fake = require("fake")
local gitlab = require("gitlab.jobs")

local function job_gets(id)
  return fake.requests_to("GET", "/jobs/" .. id .. "$")
end

local function statuses(list)
  local out = {}
  for i, job in ipairs(list) do out[i] = job.status end
  return out
end

describe("client:wait", function()
  before_each(fake.reset)

  it("returns a finished job at once, without sleeping", function()
    -- 1008 success, 1009 failed, 1011 canceled, 1007 skipped
    for id, status in pairs({ [1008] = "success", [1009] = "failed", [1011] = "canceled", [1007] = "skipped" }) do
      local c, clk = fake.timed_client()
      local seen = {}
      local job = assert(c:wait(1, id, { on_update = function(j) seen[#seen + 1] = j end }))
      assert.are.equal(id, job.id)
      assert.are.equal(status, job.status)
      assert.are.same({}, clk.sleeps)
      assert.are.same({ status }, statuses(seen))
      assert.are.equal(1, #job_gets(id))
    end
  end)

  it("polls a running job until it finishes, the interval growing by half while nothing changes", function()
    fake.script(1012, { steps = { {}, {}, {}, {}, {}, { status = "success" } } })
    local c, clk = fake.timed_client()
    local seen = {}
    local job = assert(c:wait(1, 1012, { on_update = function(j) seen[#seen + 1] = j end }))
    assert.are.equal("success", job.status)
    assert.are.same({ 1, 1.5, 2.25, 3.375, 5.0625 }, clk.sleeps)
    assert.are.same({ "running", "success" }, statuses(seen))
    assert.are.equal(6, #job_gets(1012))
  end)

  it("never waits longer than max_interval, and starts from interval", function()
    fake.script(1012, { steps = { {}, {}, {}, {}, {}, { status = "failed" } } })
    local c, clk = fake.timed_client()
    local job = assert(c:wait(1, 1012, { interval = 2, max_interval = 4 }))
    assert.are.equal("failed", job.status)
    assert.are.equal("script_failure", job.failure_reason)
    assert.are.same({ 2, 3, 4, 4, 4 }, clk.sleeps)
  end)

  it("goes back to interval when the status changes", function()
    fake.script(1016, { steps = { {}, {}, { status = "running" }, {}, { status = "success" } } })
    local c, clk = fake.timed_client()
    local seen = {}
    local job = assert(c:wait("acme/platform/api", 1016, { on_update = function(j) seen[#seen + 1] = j end }))
    assert.are.equal("success", job.status)
    assert.are.same({ 1, 1.5, 1, 1.5 }, clk.sleeps)
    assert.are.same({ "pending", "running", "success" }, statuses(seen))
  end)

  it("does not take canceling for finished", function()
    fake.script(1013, { steps = { {}, {}, { status = "canceled" } } })
    local c, clk = fake.timed_client()
    local seen = {}
    local job = assert(c:wait(1, 1013, { on_update = function(j) seen[#seen + 1] = j end }))
    assert.are.equal("canceled", job.status)
    assert.are.same({ "canceling", "canceled" }, statuses(seen))
    assert.are.same({ 1, 1.5 }, clk.sleeps)
  end)

  it("returns a manual or scheduled job at once", function()
    local c, clk = fake.timed_client()
    assert.are.equal("manual", assert(c:wait(1, 1021)).status)
    assert.are.equal("scheduled", assert(c:wait(1, 1022)).status)
    assert.are.same({}, clk.sleeps)
  end)

  it("waits for a manual job with blocked = \"wait\"", function()
    fake.script(1021, { steps = { {}, {}, { status = "pending" }, { status = "running" }, { status = "success" } } })
    local c, clk = fake.timed_client()
    local seen = {}
    local job = assert(c:wait(1, 1021, { blocked = "wait", on_update = function(j) seen[#seen + 1] = j end }))
    assert.are.equal("success", job.status)
    assert.are.same({ "manual", "pending", "running", "success" }, statuses(seen))
    assert.are.same({ 1, 1.5, 1, 1 }, clk.sleeps)
  end)

  it("gives up at timeout, on the client's clock, with a timeout error", function()
    local c, clk = fake.timed_client()
    local job, err = c:wait(1, 1012, { timeout = 5 })
    assert.is_nil(job)
    assert.is_true(gitlab.is_error(err))
    assert.are.equal("timeout", err.kind)
    assert.are.equal("GET", err.method)
    assert.are.equal("/projects/1/jobs/1012", err.path)
    assert.are.equal("running", err.job.status)
    assert.are.equal("GET /projects/1/jobs/1012: job 1012 is still running after 5 s", tostring(err))
    assert.are.same({ 1, 1.5, 2.25, 0.25 }, clk.sleeps) -- the last wait cut to end at the deadline
    assert.are.equal(5, clk.t)
    assert.are.equal(5, #job_gets(1012)) -- one last look at the deadline
  end)

  it("names the project path in a timeout error as the client sends it", function()
    local c = fake.timed_client()
    local _, err = c:wait("acme/platform/api", 1012, { timeout = 0 })
    assert.are.equal("timeout", err.kind)
    assert.are.equal("/projects/acme%2Fplatform%2Fapi/jobs/1012", err.path)
  end)

  it("with timeout = 0 looks once and does not sleep", function()
    local c, clk = fake.timed_client()
    local _, err = c:wait(1, 1016, { timeout = 0 })
    assert.are.equal("timeout", err.kind)
    assert.are.same({}, clk.sleeps)
    assert.are.equal(1, #job_gets(1016))
    -- a finished job is no timeout
    assert.are.equal("success", assert(c:wait(1, 1008, { timeout = 0 })).status)
  end)

  it("counts the time requests take against the timeout", function()
    local clk = fake.clock()
    local c = fake.client({ sleep = clk.sleep, clock = function()
      clk.t = clk.t + 2 -- every look at the clock: two seconds went by
      return clk.t
    end })
    local _, err = c:wait(1, 1012, { timeout = 7 })
    assert.are.equal("timeout", err.kind)
    -- the deadline is 9 (7 after the first reading, at 2); each pause is cut to what is
    -- left at the reading before it: 1 at 4, 1.5 at 7, none at 10.5. Sleeps alone
    -- would have given 1, 1.5, 2.25 and 2.25.
    assert.are.same({ 1, 1.5 }, clk.sleeps)
    assert.are.equal(3, #job_gets(1012))
  end)

  it("returns the error of a failing look", function()
    local c, clk = fake.timed_client()
    local job, err = c:wait(1, 99999)
    assert.is_nil(job)
    assert.are.equal(404, err.status)
    assert.are.equal("404 Not found", err.message)

    local first = true
    job, err = c:wait(1, 1012, { on_update = function()
      if first then
        first = false
        fake.fault({ kind = "status", status = 502, path = "/jobs/1012$", count = 1 })
      end
    end })
    assert.is_nil(job)
    assert.are.equal("http", err.kind)
    assert.are.equal(502, err.status)
    assert.are.same({ 1 }, clk.sleeps)
  end)

  it("raises on bad arguments before any request", function()
    local c = fake.timed_client()
    fake.raises(function() c:wait(1, "1012") end, "job_id")
    fake.raises(function() c:wait(nil, 1012) end, "project")
    fake.raises(function() c:wait(1, 1012, 5) end, "wait", "options")
    fake.raises(function() c:wait(1, 1012, { every = 5 }) end, "wait", "unknown option 'every'")
    fake.raises(function() c:wait(1, 1012, { interval = 0 }) end, "interval")
    fake.raises(function() c:wait(1, 1012, { interval = 0 / 0 }) end, "interval")
    fake.raises(function() c:wait(1, 1012, { interval = "1" }) end, "interval")
    fake.raises(function() c:wait(1, 1012, { interval = 5, max_interval = 2 }) end, "max_interval")
    fake.raises(function() c:wait(1, 1012, { timeout = -1 }) end, "timeout")
    fake.raises(function() c:wait(1, 1012, { blocked = "yes" }) end, "blocked")
    fake.raises(function() c:wait(1, 1012, { on_update = true }) end, "on_update")
    assert.are.equal(0, #fake.requests())
  end)
end)
