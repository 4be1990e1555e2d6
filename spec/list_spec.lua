-- list, pipeline_jobs and bridges: jobs as tables, the page table, scope,
-- paths, keyset pages, and the errors GitLab gives for each. Which jobs a
-- list should hold is asked of the fake's control API.
local fake = require("fake")

local ids = fake.ids

local slice = fake.slice

local function last_request()
  local reqs = fake.requests()
  return reqs[#reqs], #reqs
end

--- The control API's views of the jobs from id `from` on, in id order, for as
-- long as the fake knows the id and keep(view) holds.
local function fake_jobs(from, keep)
  local out = {}
  local id = from
  while true do
    local view = fake.job(id)
    if not view or not keep(view) then return out end
    out[#out + 1] = view
    id = id + 1
  end
end

--- The ids of project 1's jobs of that kind where want(view) holds, newest
-- first (the order of GitLab's lists), and the views by id.
local function project1(kind, want)
  local views = fake_jobs(1001, function(v) return v.project_id == 1 end)
  local out, by_id = {}, {}
  for i = #views, 1, -1 do
    local v = views[i]
    if v.kind == kind and (not want or want(v)) then
      out[#out + 1] = v.job.id
      by_id[v.job.id] = v
    end
  end
  return out, by_id
end

local function status_in(...)
  local set = {}
  for _, s in ipairs({ ... }) do set[s] = true end
  return function(v) return set[v.job.status] == true end
end

-- Asserts that each job is the job the fake holds, as its API renders it
-- (but for the durations of jobs still in progress, which grow as time passes).
local function assert_as_fake(jobs, views)
  for _, job in ipairs(jobs) do
    local want = {}
    for k, v in pairs((views and views[job.id] or fake.job(job.id)).job) do want[k] = v end
    local got = {}
    for k, v in pairs(job) do got[k] = v end
    want.queued_duration, got.queued_duration, want.duration, got.duration = nil, nil, nil, nil
    assert.are.same(want, got)
  end
end

describe("client:list", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("returns a project's jobs newest first, with the page table", function()
    local want, views = project1("build")
    assert.is_true(#want > 20, "project 1 has more than one default page of jobs")
    local jobs, page = c:list(1)
    assert.are.equal(20, #jobs)
    assert.are.equal(want[1], jobs[1].id)
    assert.are.same(slice(want, 1, 20), ids(jobs))
    for i = 2, #jobs do assert.is_true(jobs[i].id < jobs[i - 1].id) end
    assert_as_fake(jobs, views)
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
    local want = project1("build", status_in("failed"))
    local jobs = assert(c:list(1, { scope = "failed" }))
    assert.is_true(#jobs >= 3)
    assert.are.same(want, ids(jobs))
    for _, job in ipairs(jobs) do
      assert.are.equal("failed", job.status)
      assert.is_string(job.failure_reason)
    end
    assert.are.same({ "failed" }, last_request().params["scope[]"])
  end)

  it("filters by several scopes, sent as scope[]", function()
    local want, views = project1("build", status_in("running", "pending"))
    local jobs = assert(c:list(1, { scope = { "running", "pending" } }))
    assert.are.same(want, ids(jobs))
    local seen = {}
    for _, job in ipairs(jobs) do
      seen[job.status] = true
      assert.are.equal(views[job.id].job.status, job.status)
      assert.is_true(job.status == "running" or job.status == "pending")
    end
    assert.is_true(seen.running, "no running job listed")
    assert.is_true(seen.pending, "no pending job listed")
    assert.are.same({ "running", "pending" }, last_request().params["scope[]"])
  end)

  it("pages with page and per_page", function()
    local want = project1("build")
    local jobs, page = assert(c:list(1, { page = 2, per_page = 5 }))
    assert.are.same(slice(want, 6, 10), ids(jobs))
    assert.are.equal(2, page.page)
    assert.are.equal(5, page.per_page)
    assert.are.equal(3, page.next_page)
    assert.are.equal(1, page.prev_page)
  end)

  it("says there is no next page on the last one", function()
    local want = project1("build")
    assert.is_true(#want > 20 and #want <= 40, "project 1's jobs end on page 2 of 20")
    local jobs, page = assert(c:list(1, { page = 2, per_page = 20 }))
    assert.are.same(slice(want, 21, 40), ids(jobs))
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
    local want = project1("build")
    local first, page = assert(c:list(1, { pagination = "keyset", per_page = 10 }))
    assert.are.equal(10, #first)
    assert.are.same(slice(want, 1, 10), ids(first))
    assert.matches("cursor=", page.next_url)
    local second, page2 = assert(c:list(1, { next_url = page.next_url }))
    assert.are.equal(10, #second)
    assert.is_true(second[1].id < first[10].id)
    assert.are.same(slice(want, 11, 20), ids(second))
    local third, page3 = assert(c:list(1, { next_url = page2.next_url }))
    assert.are.same(slice(want, 21, 30), ids(third))
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
    -- the rest, as the fake holds it: every older job of project 4
    local rest = {}
    for id = jobs[100].id - 1, 1, -1 do
      local view = fake.job(id)
      if not view or view.project_id ~= 4 then break end
      rest[#rest + 1] = id
    end
    jobs, page = assert(c:list(4, { page = 101, per_page = 100 }))
    assert.are.equal(#rest, #jobs)
    assert.are.same(rest, ids(jobs))
    assert.is_nil(page.next_page)
    assert.is_nil(page.total_pages)
  end)

  it("gives the totals when the server sends them", function()
    local want = project1("build")
    fake.config{ list_totals = true }
    local _, page = assert(c:list(1, { per_page = 5 }))
    assert.are.equal(#want, page.total)
    assert.are.equal(math.ceil(#want / 5), page.total_pages)
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
    local want = project1("build")
    local jobs = assert(c:list(1, { per_page = 1 }))
    assert.are.equal(("%d"):format(want[1]), tostring(jobs[1].id))
    if math.type then assert.are.equal("integer", math.type(jobs[1].id)) end
  end)
end)

describe("client:pipeline_jobs", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  local function in_101(extra)
    return function(v) return v.pipeline_id == 101 and (not extra or extra(v)) end
  end

  it("returns the pipeline's jobs with totals", function()
    local want, views = project1("build", in_101(function(v) return not v.retried end))
    local retried = project1("build", in_101(function(v) return v.retried end))
    assert.is_true(#retried > 0, "pipeline 101 has a retried job")
    local jobs, page = assert(c:pipeline_jobs(1, 101, { per_page = 100 }))
    assert.are.equal("/api/v4/projects/1/pipelines/101/jobs", last_request().path)
    assert.are.same(want, ids(jobs))
    assert_as_fake(jobs, views)
    local found = {}
    for _, job in ipairs(jobs) do
      found[job.id] = true
      assert.are.equal(101, job.pipeline.id)
    end
    for _, id in ipairs(retried) do assert.is_nil(found[id], "a retried job is left out by default") end
    assert.are.equal(#jobs, page.total)
    assert.are.equal(1, page.total_pages)
  end)

  it("includes retried jobs when asked", function()
    local want = project1("build", in_101())
    local retried = project1("build", in_101(function(v) return v.retried end))
    local jobs = assert(c:pipeline_jobs("acme/platform/api", 101, { include_retried = true, per_page = 100 }))
    assert.are.same(want, ids(jobs))
    local found = {}
    for _, job in ipairs(jobs) do found[job.id] = true end
    assert.is_true(#retried > 0)
    for _, id in ipairs(retried) do assert.is_true(found[id]) end
    assert.are.same({ "true" }, last_request().params.include_retried)
  end)

  it("filters by scope", function()
    local want = project1("build", in_101(function(v) return not v.retried and v.job.status == "manual" end))
    local jobs = assert(c:pipeline_jobs(1, 101, { scope = "manual" }))
    assert.is_true(#jobs >= 1)
    assert.are.same(want, ids(jobs))
    for _, job in ipairs(jobs) do assert.are.equal("manual", job.status) end
  end)

  it("pages through a pipeline", function()
    local first = assert(c:pipeline_jobs(2, 201, { per_page = 1 }))
    local views = fake_jobs(20001, function(v) return v.pipeline_id == 201 end)
    assert.are.equal(first[1].id, views[#views].job.id)
    local want = {}
    for i = #views, 1, -1 do want[#want + 1] = views[i].job.id end
    local jobs, page = assert(c:pipeline_jobs(2, 201, { per_page = 10, page = 3 }))
    assert.are.equal(#want - 20, #jobs)
    assert.are.same(slice(want, 21, 30), ids(jobs))
    assert.are.equal(#want, page.total)
    assert.are.equal(math.ceil(#want / 10), page.total_pages)
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
    local want, views = project1("bridge", function(v) return v.pipeline_id == 101 end)
    local bridges, page = assert(c:bridges(1, 101))
    assert.are.same(want, ids(bridges))
    assert_as_fake(bridges, views)
    assert.are.equal(#want, page.total)
    local docs, manual
    for _, b in ipairs(bridges) do
      if b.downstream_pipeline then docs = b else manual = b end
    end
    local wdocs = views[docs.id].job
    assert.are.equal(wdocs.name, docs.name)
    assert.are.equal(wdocs.downstream_pipeline.id, docs.downstream_pipeline.id)
    assert.are.equal(wdocs.downstream_pipeline.status, docs.downstream_pipeline.status)
    -- JSON null reads as nil
    assert.is_nil(views[manual.id].job.downstream_pipeline)
    assert.is_nil(manual.downstream_pipeline)
    assert.are.equal("manual", manual.status)
  end)

  it("filters bridges by scope", function()
    local want = project1("bridge", function(v) return v.pipeline_id == 101 and v.job.status == "success" end)
    assert.is_true(#want > 0)
    local bridges = assert(c:bridges(1, 101, { scope = { "success" } }))
    assert.are.same(want, ids(bridges))
  end)

  it("gives 404 Not found for an unknown pipeline", function()
    local err = fake.failed(c:bridges(1, 424242))
    assert.are.equal(404, err.status)
    assert.are.equal("GET /projects/1/pipelines/424242/bridges: 404 Not found", tostring(err))
  end)
end)
