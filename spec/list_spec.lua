-- list, pipeline_jobs and bridges: jobs as tables, the page table, scope,
-- paths, keyset pages, and the errors GitLab gives for each.
local fake = require("fake")

local function ids(jobs)
  local out = {}
  for i, job in ipairs(jobs) do out[i] = job.id end
  return out
end

local function last_request()
  local reqs = fake.requests()
  return reqs[#reqs], #reqs
end

describe("client:list", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("returns a project's jobs newest first, with the page table", function()
    local jobs, page = c:list(1)
    assert.are.equal(20, #jobs)
    assert.are.equal(1022, jobs[1].id)
    for i = 2, #jobs do assert.is_true(jobs[i].id < jobs[i - 1].id) end
    assert.are.equal(1, page.page)
    assert.are.equal(20, page.per_page)
    assert.are.equal(2, page.next_page)
    assert.is_nil(page.prev_page)
    -- GitLab leaves the totals out on the project job list
    assert.is_nil(page.total)
    assert.is_nil(page.total_pages)
    assert.matches("^" .. fake.url:gsub("%p", "%%%0") .. "/api/v4/projects/1/jobs%?.*page=2", page.next_url)
  end)

  it("sends the token and the request GitLab documents", function()
    c:list(1)
    local req, n = last_request()
    assert.are.equal(1, n)
    assert.are.equal("GET", req.method)
    assert.are.equal("/api/v4/projects/1/jobs", req.path)
    assert.are.equal(fake.TOKEN, req.headers["private-token"])
    assert.are.equal("application/json", req.headers["accept"])
  end)

  it("encodes a nested project path as one segment", function()
    local by_path = assert(c:list("acme/platform/api"))
    assert.are.same(ids(assert(c:list(1))), ids(by_path))
    assert.are.equal("/api/v4/projects/acme%2Fplatform%2Fapi/jobs", fake.requests()[1].path)
  end)

  it("filters by one scope", function()
    local jobs = assert(c:list(1, { scope = "failed" }))
    assert.is_true(#jobs >= 3)
    for _, job in ipairs(jobs) do
      assert.are.equal("failed", job.status)
      assert.is_string(job.failure_reason)
    end
    assert.are.same({ "failed" }, last_request().params["scope[]"])
  end)

  it("filters by several scopes, sent as scope[]", function()
    local jobs = assert(c:list(1, { scope = { "running", "pending" } }))
    local seen = {}
    for _, job in ipairs(jobs) do seen[job.id] = job.status end
    assert.are.equal("running", seen[1012])
    assert.are.equal("pending", seen[1016])
    for _, status in pairs(seen) do assert.is_true(status == "running" or status == "pending") end
    assert.are.same({ "running", "pending" }, last_request().params["scope[]"])
  end)

  it("pages with page and per_page", function()
    local jobs, page = assert(c:list(1, { page = 2, per_page = 5 }))
    assert.are.same({ 1017, 1016, 1015, 1014, 1013 }, ids(jobs))
    assert.are.equal(2, page.page)
    assert.are.equal(5, page.per_page)
    assert.are.equal(3, page.next_page)
    assert.are.equal(1, page.prev_page)
  end)

  it("says there is no next page on the last one", function()
    local jobs, page = assert(c:list(1, { page = 2, per_page = 20 }))
    assert.are.same({ 1002, 1001 }, ids(jobs))
    assert.is_nil(page.next_page)
    assert.is_nil(page.next_url)
    assert.are.equal(1, page.prev_page)
  end)

  it("returns an empty array past the end", function()
    local jobs, page = assert(c:list(1, { page = 50 }))
    assert.are.same({}, jobs)
    assert.is_nil(page.next_page)
  end)

  it("follows keyset pages through next_url", function()
    local first, page = assert(c:list(1, { pagination = "keyset", per_page = 10 }))
    assert.are.equal(10, #first)
    assert.matches("cursor=", page.next_url)
    local second, page2 = assert(c:list(1, { next_url = page.next_url }))
    assert.are.equal(10, #second)
    assert.is_true(second[1].id < first[10].id)
    local third, page3 = assert(c:list(1, { next_url = page2.next_url }))
    assert.are.same({ 1002, 1001 }, ids(third))
    assert.is_nil(page3.next_url)
    local reqs = fake.requests()
    assert.are.same({ "keyset" }, reqs[1].params.pagination)
    assert.are.equal(fake.TOKEN, reqs[3].headers["private-token"])
  end)

  it("reads a project of more than 10,000 jobs without totals", function()
    local jobs, page = assert(c:list(4, { page = 100, per_page = 100 }))
    assert.are.equal(100, #jobs)
    assert.are.equal(101, page.next_page)
    assert.is_nil(page.total)
    jobs, page = assert(c:list(4, { page = 101, per_page = 100 }))
    assert.are.equal(50, #jobs)
    assert.is_nil(page.next_page)
    assert.is_nil(page.total_pages)
  end)

  it("gives the totals when the server sends them", function()
    fake.config{ list_totals = true }
    local _, page = assert(c:list(1, { per_page = 5 }))
    assert.are.equal(22, page.total)
    assert.are.equal(5, page.total_pages)
  end)

  it("returns 404 Project Not Found for an unknown or invisible project", function()
    for _, project in ipairs({ 999, "acme/nope", "nosuchproject", "other/secret" }) do
      local err = fake.failed(c:list(project))
      assert.are.equal("http", err.kind)
      assert.are.equal(404, err.status)
      assert.are.equal("404 Project Not Found", err.message)
      assert.are.equal("GET", err.method)
    end
  end)

  it("names what was asked in the error, without the query", function()
    local err = fake.failed(c:list("acme/nope", { scope = "failed" }))
    assert.are.equal("/projects/acme%2Fnope/jobs", err.path)
    assert.are.equal("GET /projects/acme%2Fnope/jobs: 404 Project Not Found", tostring(err))
  end)

  it("gives integers for ids on every Lua", function()
    local jobs = assert(c:list(1, { per_page = 1 }))
    assert.are.equal("1022", tostring(jobs[1].id))
    if math.type then assert.are.equal("integer", math.type(jobs[1].id)) end
  end)
end)

describe("client:pipeline_jobs", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("returns the pipeline's jobs with totals", function()
    local jobs, page = assert(c:pipeline_jobs(1, 101, { per_page = 100 }))
    assert.are.equal("/api/v4/projects/1/pipelines/101/jobs", last_request().path)
    local found = {}
    for _, job in ipairs(jobs) do
      found[job.id] = true
      assert.are.equal(101, job.pipeline.id)
    end
    assert.is_true(found[1009] and found[1021] and found[1012])
    assert.is_nil(found[1004], "a retried job is left out by default")
    assert.are.equal(#jobs, page.total)
    assert.are.equal(1, page.total_pages)
  end)

  it("includes retried jobs when asked", function()
    local jobs = assert(c:pipeline_jobs("acme/platform/api", 101, { include_retried = true, per_page = 100 }))
    local found = false
    for _, job in ipairs(jobs) do found = found or job.id == 1004 end
    assert.is_true(found)
    assert.are.same({ "true" }, last_request().params.include_retried)
  end)

  it("filters by scope", function()
    local jobs = assert(c:pipeline_jobs(1, 101, { scope = "manual" }))
    assert.is_true(#jobs >= 1)
    for _, job in ipairs(jobs) do assert.are.equal("manual", job.status) end
  end)

  it("pages through a pipeline", function()
    local jobs, page = assert(c:pipeline_jobs(2, 201, { per_page = 10, page = 3 }))
    assert.are.equal(5, #jobs)
    assert.are.equal(25, page.total)
    assert.are.equal(3, page.total_pages)
    assert.is_nil(page.next_page)
  end)

  it("gives 404 Not found for an unknown pipeline", function()
    local err = fake.failed(c:pipeline_jobs(1, 999999))
    assert.are.equal(404, err.status)
    assert.are.equal("404 Not found", err.message)
    assert.are.equal("/projects/1/pipelines/999999/jobs", err.path)
  end)
end)

describe("client:bridges", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("returns bridge jobs with their downstream pipeline", function()
    local bridges, page = assert(c:bridges(1, 101))
    assert.are.same({ 1024, 1023 }, ids(bridges))
    assert.are.equal(2, page.total)
    local docs = bridges[2]
    assert.are.equal("trigger:docs", docs.name)
    assert.are.equal(9001, docs.downstream_pipeline.id)
    assert.are.equal("success", docs.downstream_pipeline.status)
    -- JSON null reads as nil
    assert.is_nil(bridges[1].downstream_pipeline)
    assert.are.equal("manual", bridges[1].status)
  end)

  it("filters bridges by scope", function()
    local bridges = assert(c:bridges(1, 101, { scope = { "success" } }))
    assert.are.same({ 1023 }, ids(bridges))
  end)

  it("gives 404 Not found for an unknown pipeline", function()
    local err = fake.failed(c:bridges(1, 424242))
    assert.are.equal(404, err.status)
    assert.are.equal("GET /projects/1/pipelines/424242/bridges: 404 Not found", tostring(err))
  end)
end)
