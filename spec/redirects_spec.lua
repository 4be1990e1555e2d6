-- Redirects: followed for GET only, at most 10 hops, and a token never goes
-- to another origin. (https to http is in tls_spec.lua.)
local fake = require("fake")

local failed, client = fake.failed, fake.client

local STATUSES = { 301, 302, 303, 307, 308 }

-- The headers that carry a credential, lower-cased as the request log has them.
local CREDENTIAL_HEADERS = { "private-token", "authorization", "job-token" }

local function assert_no_credentials(r)
  for _, h in ipairs(CREDENTIAL_HEADERS) do
    assert.is_nil(r.headers[h], ("%s went to %s"):format(h, r.listener))
  end
  for _, secret in ipairs(fake.SECRETS) do
    assert.is_nil(r.query:find(secret, 1, true), "a token went in the query")
  end
end

local function job_count(c)
  return #assert(c:list(1, { per_page = 100 }))
end

describe("redirects", function()
  fake.each_spec()

  describe("of a GET", function()
    it("lead a moved project to its new place, with the token", function()
      local c = client()
      for _, project in ipairs({ 3, "acme/platform/old-api" }) do
        fake.reset()
        local job, err = c:get(project, 1009)
        assert.is_nil(err)
        assert.are.equal(1009, job.id)
        local reqs = fake.requests()
        assert.are.equal(2, #reqs)
        assert.are.equal(301, reqs[1].status)
        assert.are.equal("/api/v4/projects/1/jobs/1009", reqs[2].path)
        assert.are.equal(200, reqs[2].status)
        assert.are.equal(fake.TOKEN, reqs[2].headers["private-token"])
      end
    end)

    it("keep the query when a moved project's jobs are listed", function()
      local c = client()
      local jobs, page = c:list(3, { scope = "failed", per_page = 50 })
      assert.is_table(page)
      assert.is_true(#jobs > 0)
      for _, job in ipairs(jobs) do assert.are.equal("failed", job.status) end
      local reqs = fake.requests()
      assert.are.equal(2, #reqs)
      assert.are.equal("/api/v4/projects/1/jobs", reqs[2].path)
      assert.are.same({ "failed" }, reqs[2].params["scope[]"])
    end)

    it("stream a moved project's log, not the redirect's body", function()
      local c = client()
      local log = assert(c:trace(1, 1009))
      local n, err, got = fake.stream(c, 3, 1009)
      assert.is_nil(err)
      assert.are.equal(#log, n)
      assert.are.equal(log, got)
    end)

    for _, status in ipairs(STATUSES) do
      it("follow a " .. status .. " on the same origin, keeping the token", function()
        local c = client()
        fake.fault{ path = "/jobs/1009$", kind = "redirect", to = "self", status = status }
        local job, err = c:get(1, 1009)
        assert.is_nil(err)
        assert.are.equal(1009, job.id)
        local reqs = fake.requests()
        assert.are.equal(2, #reqs)
        assert.are.equal(status, reqs[1].status)
        for _, r in ipairs(reqs) do
          assert.are.equal("primary", r.listener)
          assert.are.equal(fake.TOKEN, r.headers["private-token"])
        end
      end)
    end

    it("follow a Location that is a path on the same origin, keeping the token", function()
      local c = client()
      fake.fault{ path = "/jobs/1009$", kind = "redirect", status = 302, location = "/api/v4/projects/1/jobs/1008" }
      assert.are.equal(1008, assert(c:get(1, 1009)).id)
      local reqs = fake.requests()
      assert.are.equal("/api/v4/projects/1/jobs/1008", reqs[2].path)
      assert.are.equal(fake.TOKEN, reqs[2].headers["private-token"])
    end)

    it("keep an OAuth token and a job token on the same origin", function()
      local oauth = client{ token = false, oauth_token = fake.OAUTH }
      fake.fault{ path = "/jobs/1009$", kind = "redirect", to = "self", status = 307 }
      assert(oauth:get(1, 1009))
      assert.are.equal("Bearer " .. fake.OAUTH, fake.requests()[2].headers.authorization)

      fake.reset()
      local job = client{ token = false, job_token = fake.JOB_TOKEN }
      fake.fault{ path = "/job$", kind = "redirect", to = "self", status = 302 }
      assert.are.equal(1012, assert(job:job()).id)
      assert.are.equal(fake.JOB_TOKEN, fake.requests()[2].headers["job-token"])
    end)

    for _, status in ipairs(STATUSES) do
      it("go to another origin after a " .. status .. " without any token", function()
        local c = client()
        fake.fault{ path = "/jobs/1009$", kind = "redirect", to = "second", status = status }
        local err = failed(c:get(1, 1009))
        -- the other origin wants a token it did not get
        assert.are.equal("http", err.kind)
        assert.are.equal(401, err.status)
        local reqs = fake.requests()
        assert.are.equal(2, #reqs)
        assert.are.equal("primary", reqs[1].listener)
        assert.are.equal(fake.TOKEN, reqs[1].headers["private-token"])
        assert.are.equal("secondary", reqs[2].listener)
        assert.are.equal("/api/v4/projects/1/jobs/1009", reqs[2].path)
        assert_no_credentials(reqs[2])
      end)
    end

    it("send no OAuth token and no job token to another origin", function()
      local cases = {
        { opts = { token = false, oauth_token = fake.OAUTH }, path = "/jobs/1009$",
          call = function(c) return c:get(1, 1009) end },
        { opts = { token = false, job_token = fake.JOB_TOKEN }, path = "/jobs/1009$",
          call = function(c) return c:get(1, 1009) end },
        { opts = { token = false, job_token = fake.JOB_TOKEN }, path = "/job$",
          call = function(c) return c:job() end },
        { opts = { token = false, job_token = fake.JOB_TOKEN }, path = "/allowed_agents$",
          call = function(c) return c:allowed_agents() end },
      }
      for _, case in ipairs(cases) do
        fake.reset()
        local c = client(case.opts)
        fake.fault{ path = case.path, kind = "redirect", to = "second", status = 302 }
        local err = failed(case.call(c))
        assert.are.equal(401, err.status)
        local reqs = fake.requests()
        assert.are.equal(2, #reqs)
        assert.is_not_nil(reqs[1].headers.authorization or reqs[1].headers["job-token"])
        assert.are.equal("secondary", reqs[2].listener)
        assert_no_credentials(reqs[2])
      end
    end)

    it("send no token to another origin for a list or a log either", function()
      local c = client()
      fake.fault{ path = "/jobs$", kind = "redirect", to = "second", status = 301 }
      failed(c:list(1, { per_page = 5 }))
      fake.fault{ path = "/trace$", kind = "redirect", to = "second", status = 302 }
      local got = {}
      failed(c:trace(1, 1009, { sink = function(s) got[#got + 1] = s end }))
      assert.are.same({}, got)
      local reqs = fake.requests()
      assert.are.equal(4, #reqs)
      assert_no_credentials(reqs[2])
      assert_no_credentials(reqs[4])
      assert.are.same({ "5" }, reqs[2].params.per_page)
    end)

    it("go 10 hops at most", function()
      local c = client{ retries = { max = 3, base_delay = 0.1 }, sleep = function() end }
      fake.fault{ path = "/jobs/1009$", kind = "redirect", to = "self", count = 10 }
      assert.are.equal(1009, assert(c:get(1, 1009)).id)
      local reqs = fake.requests()
      assert.are.equal(11, #reqs)
      for _, r in ipairs(reqs) do assert.are.equal(fake.TOKEN, r.headers["private-token"]) end

      fake.reset()
      fake.fault{ path = "/jobs/1009$", kind = "redirect", to = "self", count = 11 }
      local err = failed(c:get(1, 1009))
      assert.are.equal("http", err.kind)
      assert.are.equal(302, err.status)
      assert.are.equal("/projects/1/jobs/1009", err.path)
      assert.are.equal(11, #fake.requests())
    end)
  end)

  describe("of a POST", function()
    for _, status in ipairs(STATUSES) do
      it("are never followed (" .. status .. "): the 3xx comes back, the Location is not asked", function()
        local c = client()
        local before = job_count(c)
        fake.clear_requests()
        for _, to in ipairs({ "second", "self" }) do
          fake.fault{ path = "/retry$", kind = "redirect", to = to, status = status }
          local err = failed(c:retry(1, 1009))
          assert.are.equal("http", err.kind)
          assert.are.equal(status, err.status)
          assert.are.equal("POST", err.method)
          assert.is_nil(err.maybe_done)
        end
        local reqs = fake.requests()
        assert.are.equal(2, #reqs)
        for _, r in ipairs(reqs) do
          assert.are.equal("POST", r.method)
          assert.are.equal("primary", r.listener)
        end
        assert.are.equal(before, job_count(c))
      end)
    end

    it("to a moved project gets GitLab's 405, and is not sent again", function()
      local c = client()
      local err = failed(c:cancel(3, 1012))
      assert.are.equal(405, err.status)
      assert.are.equal(1, #fake.requests())
      assert.are.equal("running", assert(c:get(1, 1012)).status)
    end)
  end)

  it("never show a token in an error, whichever the client sent", function()
    local looked = 0
    for _, credential in ipairs(fake.CREDENTIALS) do
      local c = client(credential)
      -- too many hops, to a Location with a query: the error names the path alone
      fake.fault{ path = "/jobs/1009$", kind = "redirect", status = 302, count = 11,
                  location = fake.url .. "/api/v4/projects/1/jobs/1009?hop=1" }
      local err = failed(c:get(1, 1009))
      assert.are.equal("/projects/1/jobs/1009", err.path)
      -- to another origin, which wants the token it did not get
      fake.fault{ path = "/jobs/1009$", kind = "redirect", to = "second", status = 307 }
      assert.are.equal(401, failed(c:get(1, 1009)).status)
      -- a POST's 3xx, not followed
      fake.fault{ path = "/retry$", kind = "redirect", to = "self", status = 308 }
      failed(c:retry(1, 1009))
      looked = looked + 3
    end
    assert.are.equal(3 * #fake.CREDENTIALS, looked)
  end)
end)
