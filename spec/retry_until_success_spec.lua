-- client:retry_until_success: scripted jobs that fail, are retried (new ids) and pass.
local fake = require("fake")
local gitlab = require("gitlab.jobs")

local function retry_posts()
  return fake.requests_to("POST", "/retry$")
end

local function retried_ids()
  local out = {}
  for i, r in ipairs(retry_posts()) do out[i] = tonumber(r.path:match("/jobs/(%d+)/retry$")) end
  return out
end

-- on_attempt recorder: { {id, status, n}, ... }
local function attempts_log()
  local log = {}
  return log, function(job, n) log[#log + 1] = { job.id, job.status, n } end
end

local RUN_THEN_FAIL = { { status = "running" }, { status = "failed", failure_reason = "runner_system_failure" } }
local RUN_THEN_PASS = { { status = "running" }, { status = "success" } }

describe("client:retry_until_success", function()
  before_each(fake.reset)

  it("retries a failed job, follows each new job, and returns the one that passed", function()
    fake.script(1010, { retries = { RUN_THEN_FAIL, RUN_THEN_PASS } })
    local c = fake.timed_client()
    local log, on_attempt = attempts_log()
    local job = assert(c:retry_until_success(1, 1010, { on_attempt = on_attempt }))
    assert.are.equal("success", job.status)
    local ids = retried_ids()
    assert.are.equal(2, #ids)
    assert.are.equal(1010, ids[1])
    local second = ids[2]
    -- as the fake sees them: 1010 and the second run were retried, the passing one was not
    for id, retried in pairs({ [1010] = true, [second] = true, [job.id] = false }) do
      assert.are.equal(retried, fake.control("GET", ("/jobs/%d"):format(id)).retried, "job " .. id)
    end
    assert.are_not.equal(second, job.id)
    assert.are.same({ { 1010, "failed", 1 }, { second, "failed", 2 }, { job.id, "success", 3 } }, log)
    -- the passing job is the server's, found again by its id
    assert.are.equal("success", assert(c:get(1, job.id)).status)
  end)

  it("never retries the same job twice", function()
    fake.script(1009, { retries = { RUN_THEN_FAIL, RUN_THEN_FAIL, RUN_THEN_PASS } })
    local c = fake.timed_client()
    assert(c:retry_until_success(1, 1009, { attempts = 4 }))
    local ids, seen = retried_ids(), {}
    assert.are.equal(3, #ids)
    for _, id in ipairs(ids) do
      assert.is_nil(seen[id])
      seen[id] = true
    end
  end)

  it("gives up after attempts runs in all, 3 by default", function()
    fake.script(1010, { retries = { RUN_THEN_FAIL, RUN_THEN_FAIL, RUN_THEN_PASS } })
    local c = fake.timed_client()
    local log, on_attempt = attempts_log()
    local job, err = c:retry_until_success(1, 1010, { on_attempt = on_attempt })
    assert.is_nil(job)
    assert.is_true(gitlab.is_error(err))
    assert.are.equal("exhausted", err.kind)
    assert.are.equal(3, err.attempts)
    assert.are.equal("failed", err.job.status)
    assert.are.equal("runner_system_failure", err.job.failure_reason)
    assert.are.equal(log[3][1], err.job.id)
    assert.are.equal(2, #retry_posts())
    assert.are.equal(("job %d failed (runner_system_failure) after 3 runs"):format(err.job.id), tostring(err))

    fake.reset()
    fake.script(1010, { retries = { RUN_THEN_PASS } })
    job, err = c:retry_until_success(1, 1010, { attempts = 1 })
    assert.is_nil(job)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1010, err.job.id)
    assert.are.equal(0, #retry_posts())
  end)

  it("returns a job that already passed, retrying nothing", function()
    local c, clk = fake.timed_client()
    local log, on_attempt = attempts_log()
    local job = assert(c:retry_until_success(1, 1008, { on_attempt = on_attempt }))
    assert.are.equal(1008, job.id)
    assert.are.same({ { 1008, "success", 1 } }, log)
    assert.are.equal(0, #retry_posts())
    assert.are.same({}, clk.sleeps)
  end)

  it("waits for a running job first", function()
    fake.script(1012, { steps = { {}, { status = "failed", failure_reason = "stuck_or_timeout_failure" } },
                        retries = { RUN_THEN_PASS } })
    local c = fake.timed_client()
    local log, on_attempt = attempts_log()
    local job = assert(c:retry_until_success(1, 1012, { on_attempt = on_attempt }))
    assert.are.equal("success", job.status)
    assert.are.same({ 1012 }, retried_ids())
    assert.are.same({ { 1012, "failed", 1 }, { job.id, "success", 2 } }, log)
  end)

  it("retries a canceled job too", function()
    fake.script(1011, { retries = { RUN_THEN_PASS } })
    local c = fake.timed_client()
    local job = assert(c:retry_until_success(1, 1011))
    assert.are.equal("success", job.status)
    assert.are.same({ 1011 }, retried_ids())
  end)

  it("does not retry a skipped job", function()
    local c = fake.timed_client()
    local job, err = c:retry_until_success(1, 1007)
    assert.is_nil(job)
    assert.are.equal("exhausted", err.kind)
    assert.are.equal(1, err.attempts)
    assert.are.equal("skipped", err.job.status)
    assert.matches("skipped", tostring(err))
    assert.are.equal(0, #retry_posts())
  end)

  it("does not run a manual job: it is returned as exhausted after no run", function()
    local c = fake.timed_client()
    local log, on_attempt = attempts_log()
    local job, err = c:retry_until_success(1, 1021, { on_attempt = on_attempt })
    assert.is_nil(job)
    assert.are.equal("exhausted", err.kind)
    assert.are.equal(0, err.attempts)
    assert.are.equal("manual", err.job.status)
    assert.are.same({}, log)
  end)

  describe("opts.when", function()
    it("as a list of failure reasons retries only those", function()
      local c = fake.timed_client()
      local job, err = c:retry_until_success(1, 1009,
        { when = { "runner_system_failure", "stuck_or_timeout_failure" } })
      assert.is_nil(job)
      assert.are.equal("exhausted", err.kind)
      assert.are.equal(1, err.attempts)
      assert.are.equal("script_failure", err.job.failure_reason)
      assert.matches("when", tostring(err))
      assert.are.equal(0, #retry_posts())

      fake.script(1010, { retries = { RUN_THEN_PASS } })
      job = assert(c:retry_until_success(1, 1010, { when = { "runner_system_failure" } }))
      assert.are.equal("success", job.status)
      assert.are.same({ 1010 }, retried_ids())
    end)

    it("never lets a canceled job through a list of reasons (it has none)", function()
      local c = fake.timed_client()
      local _, err = c:retry_until_success(1, 1011, { when = { "runner_system_failure" } })
      assert.are.equal("exhausted", err.kind)
      assert.are.equal("canceled", err.job.status)
      assert.are.equal(0, #retry_posts())
    end)

    it("as a function sees each ended job and decides", function()
      fake.script(1010, { retries = { { { status = "failed", failure_reason = "script_failure" } } } })
      local c = fake.timed_client()
      local asked = {}
      local _, err = c:retry_until_success(1, 1010, { attempts = 5, when = function(job)
        asked[#asked + 1] = job.failure_reason
        return job.failure_reason ~= "script_failure"
      end })
      assert.are.same({ "runner_system_failure", "script_failure" }, asked)
      assert.are.equal("exhausted", err.kind)
      assert.are.equal(2, err.attempts)
      assert.are.equal(1, #retry_posts())
    end)
  end)

  it("backs off with jitter between runs, through the client's sleep", function()
    fake.script(1010, { retries = { { { status = "failed" } }, { { status = "failed" } }, RUN_THEN_PASS } })
    local c, clk = fake.timed_client()
    local events = clk.events
    local job = assert(c:retry_until_success(1, 1010, { attempts = 4, base_delay = 10, max_delay = 15,
      on_attempt = function(_, n) events[#events + 1] = "run " .. n end }))
    assert.are.equal("success", job.status)
    -- the wait right after each failed run is the backoff: 10 then 20 (cut to 15), each between half and all
    local backoffs = {}
    for i, e in ipairs(events) do
      if type(e) == "string" and e ~= "run 4" then backoffs[#backoffs + 1] = events[i + 1] end
    end
    assert.are.equal(3, #backoffs)
    assert.is_true(backoffs[1] >= 5 and backoffs[1] <= 10, tostring(backoffs[1]))
    assert.is_true(backoffs[2] >= 7.5 and backoffs[2] <= 15, tostring(backoffs[2]))
    assert.is_true(backoffs[3] >= 7.5 and backoffs[3] <= 15, tostring(backoffs[3]))
  end)

  it("returns the error of a retry the server refuses, sent once", function()
    -- 1004 was retried already: GitLab says it is not retryable
    local c = fake.timed_client()
    local job, err = c:retry_until_success(1, 1004)
    assert.is_nil(job)
    assert.are.equal("http", err.kind)
    assert.are.equal(403, err.status)
    assert.are.equal("POST /projects/1/jobs/1004/retry: 403 Forbidden - Job is not retryable", tostring(err))
    assert.are.same({ 1004 }, retried_ids())
  end)

  it("does not send a retry again that may have reached the server", function()
    fake.script(1010, { retries = { RUN_THEN_PASS } })
    fake.fault({ kind = "status", status = 502, method = "POST", path = "/retry$", count = 1, apply = true })
    local c = fake.timed_client({ retries = { max = 3, base_delay = 0.01 } })
    local job, err = c:retry_until_success(1, 1010)
    assert.is_nil(job)
    assert.are.equal(502, err.status)
    assert.is_true(err.maybe_done)
    assert.are.same({ 1010 }, retried_ids())
  end)

  it("returns the error of a failing look", function()
    local c = fake.timed_client()
    local job, err = c:retry_until_success(1, 424242)
    assert.is_nil(job)
    assert.are.equal(404, err.status)
  end)

  it("stops at timeout, over all runs", function()
    fake.script(1010, { retries = { { { status = "running" } } } })
    local c, clk = fake.timed_client()
    local job, err = c:retry_until_success(1, 1010, { timeout = 30, base_delay = 1 })
    assert.is_nil(job)
    assert.are.equal("timeout", err.kind)
    assert.are.equal("running", err.job.status)
    assert.is_true(math.abs(clk.t - 30) < 1e-9, tostring(clk.t))
    assert.are.equal(1, #retry_posts())
  end)

  it("raises on bad arguments before any request", function()
    local c = fake.timed_client()
    fake.raises(function() c:retry_until_success(1, 0) end, "job_id")
    fake.raises(function() c:retry_until_success(1, 1010, { attempts = 0 }) end, "attempts")
    fake.raises(function() c:retry_until_success(1, 1010, { attempts = 2.5 }) end, "attempts")
    fake.raises(function() c:retry_until_success(1, 1010, { when = "runner_system_failure" }) end, "when")
    fake.raises(function() c:retry_until_success(1, 1010, { when = { 7 } }) end, "when[1]")
    fake.raises(function() c:retry_until_success(1, 1010, { on_attempt = {} }) end, "on_attempt")
    fake.raises(function() c:retry_until_success(1, 1010, { base_delay = -1 }) end, "base_delay")
    fake.raises(function() c:retry_until_success(1, 1010, { tries = 3 }) end, "unknown option 'tries'")
    assert.are.equal(0, #fake.requests())
  end)
end)
