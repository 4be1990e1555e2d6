-- cancel, retry, erase and play: each sent once, with GitLab's answers.
local fake = require("fake")

local function posts() return fake.requests_to("POST", "") end

describe("actions", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  describe("cancel", function()
    it("cancels a running job", function()
      local job = assert(c:cancel(1, 1012))
      assert.are.equal(1012, job.id)
      assert.are.equal("canceled", job.status)
      assert.are.equal("canceled", assert(c:get(1, 1012)).status)
      local p = posts()
      assert.are.equal(1, #p)
      assert.are.equal("/api/v4/projects/1/jobs/1012/cancel", p[1].path)
    end)

    it("leaves a finished job as it was", function()
      local job = assert(c:cancel("acme/platform/api", 1009))
      assert.are.equal("failed", job.status)
    end)

    it("gives 404 for an unknown job", function()
      local err = fake.failed(c:cancel(1, 999999))
      assert.are.equal(404, err.status)
      assert.are.equal("POST", err.method)
      assert.is_nil(err.maybe_done)
    end)
  end)

  describe("retry", function()
    it("returns the new job", function()
      local job = assert(c:retry(1, 1009))
      assert.are_not.equal(1009, job.id)
      assert.are.equal("unit-tests", job.name)
      assert.are.equal("pending", job.status)
      assert.are.equal(job.id, assert(c:get(1, job.id)).id)
      assert.are.equal(1, #posts())
    end)

    it("gives GitLab's 403 for a job that is not retryable", function()
      local err = fake.failed(c:retry(1, 1012))
      assert.are.equal("http", err.kind)
      assert.are.equal(403, err.status)
      assert.are.equal("403 Forbidden - Job is not retryable", err.message)
      assert.are.equal("POST /projects/1/jobs/1012/retry: 403 Forbidden - Job is not retryable", tostring(err))
      assert.are.equal(1, #posts())
    end)

    it("is refused to a read-only token, with GitLab's reason", function()
      local ro = fake.client{ token = fake.READONLY }
      local err = fake.failed(ro:retry(1, 1009))
      assert.are.equal(403, err.status)
      assert.are.equal("insufficient_scope: The request requires higher privileges than provided by the access token.",
        err.message)
    end)
  end)

  describe("erase", function()
    it("erases a finished job's log", function()
      assert.is_true(#assert(c:trace(1, 1009)) > 0)
      local job = assert(c:erase(1, 1009))
      assert.is_string(job.erased_at)
      assert.are.equal("", assert(c:trace(1, 1009)))
    end)

    it("gives 403 for a job that cannot be erased", function()
      assert(c:erase(1, 1009))
      local err = fake.failed(c:erase(1, 1009))
      assert.are.equal(403, err.status)
      assert.are.equal("403 Forbidden - Job is not erasable!", err.message)
      local err2 = fake.failed(c:erase(1, 1012))
      assert.are.equal(403, err2.status)
    end)
  end)

  describe("play", function()
    it("plays a manual job with variables as JSON", function()
      local job = assert(c:play(1, 1021, { variables = { DEPLOY_ENV = "staging", DRY_RUN = "1" } }))
      assert.are.equal(1021, job.id)
      assert.are.equal("pending", job.status)
      local p = posts()
      assert.are.equal(1, #p)
      assert.are.equal("/api/v4/projects/1/jobs/1021/play", p[1].path)
      assert.matches("^application/json", p[1].headers["content-type"])
      assert.are.same({ job_variables_attributes = {
        { key = "DEPLOY_ENV", value = "staging" }, { key = "DRY_RUN", value = "1" },
      } }, p[1].json)
    end)

    it("takes variables as an array of key/value tables, in order", function()
      assert(c:play(1, 1021, { variables = { { key = "Z", value = "last" }, { key = "A", value = "" } } }))
      assert.are.same({ job_variables_attributes = { { key = "Z", value = "last" }, { key = "A", value = "" } } },
        posts()[1].json)
    end)

    it("sends no body without variables", function()
      assert(c:play(1, 1021))
      assert.are.equal("", posts()[1].body)
    end)

    it("plays a manual bridge", function()
      local bridge = assert(c:play(1, 1024))
      assert.are.equal("trigger:e2e-env", bridge.name)
    end)

    it("gives GitLab's 400 for a job that is not manual", function()
      local err = fake.failed(c:play(1, 1009))
      assert.are.equal(400, err.status)
      assert.are.equal("400 Bad request - Unplayable Job", err.message)
      assert.are.equal("POST /projects/1/jobs/1009/play: 400 Bad request - Unplayable Job", tostring(err))
    end)
  end)
end)
