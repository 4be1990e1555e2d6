-- get, trace, job and allowed_agents; which token goes where. What a job
-- holds is asked of the fake's control API, which renders it as the API does.
local fake = require("fake")

describe("client:get", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("returns the job as a table shaped like GitLab's JSON", function()
    local job = assert(c:get(1, 1009))
    local want = fake.job(1009).job
    assert.are.same(want, job)
    assert.are.equal(1009, job.id)
    assert.are.equal(want.name, job.name)
    assert.are.equal(want.stage, job.stage)
    assert.are.equal("failed", job.status)
    assert.are.equal(want.failure_reason, job.failure_reason)
    assert.is_string(job.failure_reason)
    assert.are.equal(want.ref, job.ref)
    assert.is_false(job.tag)
    assert.are.same(want.tag_list, job.tag_list)
    assert.are.equal(fake.job(1009).pipeline_id, job.pipeline.id)
    assert.is_table(job.runner)
    assert.is_string(job.finished_at)
    assert.is_nil(job.coverage) -- null
    assert.is_nil(job.erased_at) -- null
    assert.are.equal(want.artifacts[1].file_type, job.artifacts[1].file_type)
  end)

  it("has no failure_reason unless the job failed", function()
    local job = assert(c:get(1, 1008))
    assert.are.equal("success", fake.job(1008).job.status)
    assert.are.equal("success", job.status)
    assert.is_nil(job.failure_reason)
  end)

  it("takes a project path and an integral float id", function()
    local job = assert(c:get("acme/platform/api", 1009.0))
    assert.are.equal(1009, job.id)
    assert.are.equal("/api/v4/projects/acme%2Fplatform%2Fapi/jobs/1009", fake.requests()[1].path)
  end)

  it("gives 404 Not found for an unknown job or one of another project", function()
    assert.is_nil(fake.job(999999))
    assert.are_not.equal(1, fake.job(20001).project_id)
    for _, id in ipairs({ 999999, 20001 }) do
      local err = fake.failed(c:get(1, id))
      assert.are.equal("http", err.kind)
      assert.are.equal(404, err.status)
      assert.are.equal("404 Not found", err.message)
      assert.are.equal(("GET /projects/1/jobs/%d: 404 Not found"):format(id), tostring(err))
      assert.are.equal(1, err.attempts)
    end
  end)

  it("keeps one connection alive across calls", function()
    for _ = 1, 5 do assert(c:get(1, 1009)) end
    assert.are.equal(1, fake.stats().api_connections)
    local reqs = fake.requests()
    assert.are.equal(5, #reqs)
    for i = 2, 5 do assert.are.equal(reqs[1].connection, reqs[i].connection) end
  end)
end)

describe("client:trace", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("returns the whole log with colours and section markers", function()
    local log = assert(c:trace(1, 1008))
    assert.is_string(log)
    assert.are.equal(fake.job(1008).log_size, #log)
    assert.truthy(log:find("\27[", 1, true))
    assert.truthy(log:find("section_start:%d+:[%w_]+"))
    assert.truthy(log:find("section_end:%d+:[%w_]+"))
  end)

  it("passes bytes that are not UTF-8 through untouched", function()
    local log = assert(c:trace(1, 1014))
    assert.are.equal(fake.job(1014).log_size, #log)
    assert.truthy(log:find("\255\254\0garbage\128\129", 1, true))
    assert.truthy(log:find("caf\233 na\239ve", 1, true))
  end)

  it("returns an empty string for a job without a log", function()
    assert.are.equal(0, fake.job(1005).log_size)
    assert.are.equal("", assert(c:trace(1, 1005)))
  end)

  it("returns the log so far of a running job", function()
    local log = assert(c:trace(1, 1012))
    assert.are.equal(fake.job(1012).log_size, #log)
    assert.truthy(log:find("test_case_12", 1, true))
    fake.set_job(1012, { append_log = "[13/40] test_case_13 ... ok\n" })
    local longer = assert(c:trace(1, 1012))
    assert.are.equal(log .. "[13/40] test_case_13 ... ok\n", longer)
  end)

  it("streams to a sink and returns the byte count", function()
    local whole = assert(c:trace(1, 1008))
    local n, err, got = fake.stream(c, 1, 1008)
    assert.is_nil(err)
    assert.are.equal(#whole, n)
    assert.are.equal(whole, got)
  end)

  it("streams a large log in pieces without holding it", function()
    fake.set_job(1012, { log_size = 3 * 1024 * 1024 })
    local n, err, got, chunks = fake.stream(c, 1, 1012)
    assert.is_nil(err)
    assert.are.equal(3 * 1024 * 1024, n)
    assert.is_true(#chunks > 1)
    assert.are.equal(assert(c:trace(1, 1012)), got)
  end)

  it("skips the first offset bytes", function()
    local whole = assert(c:trace(1, 1009))
    assert.are.equal(whole:sub(101), assert(c:trace(1, 1009, { offset = 100 })))
    local got = {}
    assert.are.equal(#whole - 100, c:trace(1, 1009, { offset = 100, sink = function(s) got[#got + 1] = s end }))
    assert.are.equal(whole:sub(101), table.concat(got))
    assert.are.equal("", assert(c:trace(1, 1009, { offset = #whole })))
    assert.are.equal("", assert(c:trace(1, 1009, { offset = #whole + 1000 })))
    assert.are.equal(0, c:trace(1, 1009, { offset = #whole + 1, sink = function() error("no bytes expected") end }))
  end)

  it("raises the sink's own error after the request, and stays usable", function()
    local ok, err = pcall(c.trace, c, 1, 1008, { sink = function() error("disk full") end })
    assert.is_false(ok)
    assert.matches("disk full", tostring(err))
    assert(c:get(1, 1008))
  end)

  it("does not feed an error answer to the sink", function()
    local called = false
    assert.is_true(fake.job(1015).log_size > 0) -- a log there is, but its trace route is forbidden
    local err = fake.failed(c:trace(1, 1015, { sink = function() called = true end }))
    assert.are.equal(403, err.status)
    assert.are.equal("403 Forbidden", err.message)
    assert.is_false(called)
  end)

  it("gives 404 for an unknown job", function()
    local err = fake.failed(c:trace(1, 999999))
    assert.are.equal("GET /projects/1/jobs/999999/trace: 404 Not found", tostring(err))
  end)

  it("refuses to be re-entered from its own sink", function()
    local inner
    assert(c:trace(1, 1008, { sink = function()
      if not inner then inner = select(2, pcall(c.get, c, 1, 1009)) end
    end }))
    assert.matches("busy", tostring(inner))
  end)

  it("can be closed from its own sink", function()
    local n = assert(c:trace(1, 1008, { sink = function() c:close() end }))
    assert.is_true(n > 0)
    fake.raises(function() c:get(1, 1008) end, "closed")
  end)
end)

-- The job whose token fake.JOB_TOKEN is, as the control API tells.
local function token_job()
  local view = fake.job(1012)
  assert.are.equal(fake.JOB_TOKEN, view.token)
  return view.job
end

describe("the job token", function()
  fake.each_spec()

  it("job() returns the token's job and sends the job token alone", function()
    local c = fake.client{ job_token = fake.JOB_TOKEN }
    local job = assert(c:job())
    local want = token_job()
    assert.are.equal(want.id, job.id)
    assert.are.equal(want.status, job.status)
    assert.are.equal("running", job.status)
    local req = fake.requests()[1]
    assert.are.equal("/api/v4/job", req.path)
    assert.are.equal(fake.JOB_TOKEN, req.headers["job-token"])
    assert.is_nil(req.headers["private-token"])
    assert.is_nil(req.headers["authorization"])
  end)

  it("allowed_agents() returns the agents table", function()
    local c = fake.client{ token = false, job_token = fake.JOB_TOKEN }
    local t = assert(c:allowed_agents())
    assert.are.equal(2, #t.allowed_agents)
    assert.are.equal("acme/platform/api", t.allowed_agents[1].config_project.path_with_namespace)
    assert.are.equal(token_job().id, t.job.id)
    assert.are.equal("/api/v4/job/allowed_agents", fake.requests()[1].path)
  end)

  it("an unknown job token gets 401", function()
    local c = fake.client{ job_token = "job-token-bogus" }
    local err = fake.failed(c:job())
    assert.are.equal(401, err.status)
    assert.are.equal("GET /job: 401 Unauthorized", tostring(err))
  end)

  it("is sent on project calls when it is the only credential", function()
    local c = fake.client{ token = false, job_token = fake.JOB_TOKEN }
    assert(c:get(1, 1009))
    local req = fake.requests()[1]
    assert.are.equal(fake.JOB_TOKEN, req.headers["job-token"])
    assert.is_nil(req.headers["private-token"])
  end)
end)

describe("credentials", function()
  fake.each_spec()

  it("sends an OAuth token as a bearer token", function()
    local c = fake.client{ token = false, oauth_token = fake.OAUTH }
    assert(c:get(1, 1009))
    assert.are.equal("Bearer " .. fake.OAUTH, fake.requests()[1].headers["authorization"])
  end)

  it("prefers the personal token over the others", function()
    local c = fake.client{ oauth_token = fake.OAUTH, job_token = fake.JOB_TOKEN }
    assert(c:get(1, 1009))
    local h = fake.requests()[1].headers
    assert.are.equal(fake.TOKEN, h["private-token"])
    assert.is_nil(h["authorization"])
    assert.is_nil(h["job-token"])
  end)

  it("gives 401 Unauthorized without a token", function()
    local c = fake.client{ token = false }
    local err = fake.failed(c:get(1, 1009))
    assert.are.equal(401, err.status)
    assert.are.equal("401 Unauthorized", err.message)
  end)

  it("reports an expired token with GitLab's description", function()
    local c = fake.client{ token = fake.EXPIRED }
    local err = fake.failed(c:list(1))
    assert.are.equal(401, err.status)
    assert.matches("^invalid_token: Token is expired", err.message)
    assert.are.equal("GET /projects/1/jobs: 401 Unauthorized - " .. err.message, tostring(err))
  end)

  it("takes the url and token from the environment", function()
    local out = fake.run_lua("io.write(assert(require('gitlab.jobs').new():get(1, 1009)).name)",
      ("GITLAB_URL=%s/ GITLAB_TOKEN=%s"):format(fake.url, fake.TOKEN))
    assert.are.equal(fake.job(1009).job.name, out)
  end)
end)
