-- gitlab.filter: predicates over jobs, on jobs from the fake and on plain tables.
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local filter = gitlab.filter

local ids = fake.ids

-- Project 1's jobs as the client lists them (one page), and the fake's own
-- view of each (GET /__control/jobs/<id>) by id: what a predicate should pick
-- is read from there, not written here.
local jobs, truth

-- The ids of the jobs, in their order, whose view by the fake satisfies f;
-- asserts that f picks some and not all of them, so that a predicate that
-- always or never holds cannot pass.
local function expect(f)
  local out = {}
  for _, job in ipairs(jobs) do
    if f(truth[job.id]) then out[#out + 1] = job.id end
  end
  assert.is_true(#out > 0 and #out < #jobs, "the fake's jobs must tell the predicate from a constant")
  return out
end

local function picked(p)
  return ids(filter.apply(jobs, p))
end

local function has_tag(j, tag)
  for _, t in ipairs(j.tag_list or {}) do
    if t == tag then return true end
  end
  return false
end

describe("gitlab.filter", function()
  setup(function()
    fake.reset()
    local page
    jobs, page = assert(fake.client():list(1, { per_page = 100 }))
    assert.is_nil(page.next_page, "project 1's jobs fit on one page")
    truth = {}
    for _, job in ipairs(jobs) do
      truth[job.id] = fake.control("GET", ("/jobs/%d"):format(job.id)).job
    end
  end)

  it("status: any of the statuses given", function()
    assert.are.same(expect(function(j) return j.status == "failed" end), picked(filter.status("failed")))
    assert.are.same(expect(function(j) return j.status == "running" or j.status == "canceling" end),
      picked(filter.status("running", "canceling")))
  end)

  it("name: a Lua pattern, unanchored", function()
    assert.are.same(expect(function(j) return j.name:find("deploy", 1, true) ~= nil end),
      picked(filter.name("deploy")))
    assert.are.same(expect(function(j) return j.name == "compile" end), picked(filter.name("^compile$")))
    -- magic characters are the pattern's: "deploy:%a+$"
    assert.are.same(expect(function(j)
      local rest = j.name:match("deploy:(.*)$")
      return rest ~= nil and rest ~= "" and not rest:find("%A")
    end), picked(filter.name("deploy:%a+$")))
    assert.is_false(filter.name("x")({ id = 1 }))
  end)

  it("stage and ref", function()
    local tag = jobs[#jobs].ref   -- the ref of the oldest job
    assert.are.same(expect(function(j) return j.stage == "deploy" and j.ref == tag end),
      picked(filter.all(filter.stage("deploy"), filter.ref(tag))))
    assert.are.same(expect(function(j) return j.ref == tag end), picked(filter.ref(tag)))
    assert.are.same(expect(function(j) return j.stage == "build" end), picked(filter.stage("build")))
  end)

  it("tag: the tag_list holds any of them", function()
    assert.are.same(expect(function(j) return has_tag(j, "perf") end), picked(filter.tag("perf")))
    assert.are.same(expect(function(j) return has_tag(j, "perf") or has_tag(j, "windows") end),
      picked(filter.tag("perf", "windows")))
    assert.is_false(filter.tag("docker")({ id = 1 }))
    assert.is_false(filter.tag("docker")({ id = 1, tag_list = {} }))
  end)

  it("failure_reason: any string, new ones too", function()
    assert.are.same(expect(function(j) return j.failure_reason == "runner_system_failure" end),
      picked(filter.failure_reason("runner_system_failure")))
    assert.are.same(expect(function(j) return j.failure_reason == "stuck_or_timeout_failure" end),
      picked(filter.failure_reason("stuck_or_timeout_failure")))
    assert.is_true(filter.failure_reason("a_reason_from_gitlab_19")({ failure_reason = "a_reason_from_gitlab_19" }))
    assert.is_false(filter.failure_reason("script_failure")({ status = "success" }))
  end)

  describe("created_after and created_before", function()
    -- the fake writes every time in UTC, one format: such strings sort as the instants do
    it("are strict", function()
      local t = jobs[math.floor(#jobs / 2)].created_at
      assert.are.same(expect(function(j) return j.created_at > t end), picked(filter.created_after(t)))
      assert.are.same(expect(function(j) return j.created_at < t end), picked(filter.created_before(t)))
      local job = { created_at = "2026-11-18T08:14:03.307Z" }
      assert.is_false(filter.created_after("2026-11-18T08:14:03.307Z")(job))
      assert.is_false(filter.created_before("2026-11-18T08:14:03.307Z")(job))
    end)
    it("compare instants, whatever the offset", function()
      local job = { created_at = "2026-11-18T08:14:03.307Z" }
      assert.is_false(filter.created_after("2026-11-18T09:14:03.307+01:00")(job)) -- the same instant
      assert.is_false(filter.created_before("2026-11-18T09:14:03.307+01:00")(job))
      assert.is_true(filter.created_after("2026-11-18T09:14:03.306+01:00")(job))
      assert.is_true(filter.created_before("2026-11-18T03:14:03.308-05:00")(job))
      assert.is_true(filter.created_after("2026-11-17T23:59:59+09:30")(job))
      -- a job written with an offset, across a day and a year
      local j2 = { created_at = "2027-01-01T01:30:00.000+02:00" } -- 2026-12-31T23:30Z
      assert.is_true(filter.created_before("2026-12-31T23:30:00.001Z")(j2))
      assert.is_true(filter.created_after("2026-12-31T23:29:59.999Z")(j2))
      assert.is_false(filter.created_after("2026-12-31T23:30:00Z")(j2))
    end)

    it("compare fractions exactly, of any length", function()
      local job = { created_at = "2026-11-18T08:14:03.25Z" }
      assert.is_false(filter.created_after("2026-11-18T08:14:03.250000Z")(job))
      assert.is_true(filter.created_after("2026-11-18T08:14:03.2499999999Z")(job))
      assert.is_true(filter.created_before("2026-11-18T08:14:03.2500000001Z")(job))
      assert.is_true(filter.created_after("2026-11-18T08:14:03Z")(job))
    end)

    it("take a date alone as midnight UTC, leap days included", function()
      assert.is_true(filter.created_after("2024-02-29")({ created_at = "2024-02-29T00:00:00.001Z" }))
      assert.is_false(filter.created_after("2024-02-29")({ created_at = "2024-02-28T23:59:59Z" }))
      assert.is_true(filter.created_before("2000-03-01")({ created_at = "2000-02-29T23:59:59.999Z" }))
      assert.is_true(filter.created_after("1969-12-31T23:59:59Z")({ created_at = "1970-01-01T00:00:00Z" }))
    end)

    it("do not match a job without a readable created_at", function()
      assert.is_false(filter.created_after("2020-01-01")({ id = 1 }))
      assert.is_false(filter.created_before("2030-01-01")({ created_at = "soon" }))
    end)

    it("give the same answers when the server writes times with an offset", function()
      finally(fake.reset)
      local t = jobs[math.floor(#jobs / 3)].created_at
      local want = expect(function(j) return j.created_at > t end)
      fake.config({ utc_offset = "-05:30" })
      local shifted = assert(fake.client():list(1, { per_page = 100 }))
      assert.are.same(ids(jobs), ids(shifted))
      for _, job in ipairs(shifted) do assert.matches("%-05:30$", job.created_at) end
      assert.are.same(want, ids(filter.apply(shifted, filter.created_after(t))))
    end)
  end)

  it("all, any and negate combine predicates", function()
    local failed, flaky = filter.status("failed"), filter.failure_reason("runner_system_failure")
    assert.are.same(expect(function(j) return j.status == "failed" and j.failure_reason ~= "runner_system_failure" end),
      picked(filter.all(failed, filter.negate(flaky))))
    assert.are.same(expect(function(j)
      return j.failure_reason == "runner_system_failure" or has_tag(j, "windows") or has_tag(j, "perf")
    end), picked(filter.any(flaky, filter.tag("windows", "perf"))))
    assert.is_true(filter.all()({}))
    assert.is_false(filter.any()({}))
    assert.are.same({}, picked(filter.negate(filter.name(""))))
  end)

  it("predicates return booleans", function()
    -- a failed job with tags, and predicates built from its own fields
    local job
    for _, j in ipairs(jobs) do
      if not job and j.status == "failed" and j.failure_reason and j.tag_list and j.tag_list[1] then job = j end
    end
    assert.is_not_nil(job)
    for _, p in ipairs({ filter.status(job.status), filter.name((job.name:gsub("%p", "%%%0"))),
                         filter.stage(job.stage), filter.ref(job.ref), filter.tag(job.tag_list[1]),
                         filter.failure_reason(job.failure_reason), filter.created_after("2020-01-01"),
                         filter.all(), filter.negate(filter.any()) }) do
      assert.are.equal(true, p(job))
    end
    for _, p in ipairs({ filter.status("success"), filter.stage("no such stage"), filter.tag("no such tag"),
                         filter.created_before("2020-01-01"), filter.any(), filter.negate(filter.all()) }) do
      assert.are.equal(false, p(job))
    end
  end)

  it("apply returns a new array, leaving the given one alone", function()
    local items = { { id = 1, status = "failed" }, { id = 2, status = "success" } }
    local out = filter.apply(items, filter.status("success"))
    assert.are.same({ { id = 2, status = "success" } }, out)
    assert.are_not.equal(items, out)
    assert.are.equal(2, #items)
  end)

  it("works as where in client:all", function()
    local want = expect(function(j) return j.stage == "build" and j.status == "failed" end)
    local where = filter.all(filter.stage("build"), filter.status("failed"))
    local got = assert(fake.client():all("list", 1, { where = where }))
    assert.are.same(want, ids(got))
  end)

  it("raise on bad arguments, naming them", function()
    fake.raises(function() filter.status() end, "filter.status", "status")
    fake.raises(function() filter.status("failed", 3) end, "#2", "status: string expected, got number")
    fake.raises(function() filter.status("sucess") end, "unknown status 'sucess'")
    fake.raises(function() filter.name(nil) end, "filter.name", "pattern")
    fake.raises(function() filter.name("[a") end, "filter.name", "pattern")
    fake.raises(function() filter.stage({}) end, "filter.stage", "stage: string expected")
    fake.raises(function() filter.ref() end, "filter.ref")
    fake.raises(function() filter.tag(true) end, "filter.tag", "tag")
    fake.raises(function() filter.failure_reason(nil) end, "filter.failure_reason")
    fake.raises(function() filter.created_after("yesterday") end, "filter.created_after", "'yesterday'")
    fake.raises(function() filter.created_after("2026-11-18T08:14:03") end, "filter.created_after")
    fake.raises(function() filter.created_before("2026-02-30T00:00:00Z") end, "filter.created_before")
    fake.raises(function() filter.created_before("2026-11-18T24:00:00Z") end, "filter.created_before")
    fake.raises(function() filter.created_before("2026-11-18T08:14:03.Z") end, "filter.created_before")
    fake.raises(function() filter.created_before("2026-11-18T08:14:03+1:00") end, "filter.created_before")
    fake.raises(function() filter.created_before(1700000000) end, "filter.created_before", "number")
    fake.raises(function() filter.all(filter.status("failed"), "x") end, "filter.all", "#2", "predicate")
    fake.raises(function() filter.any(42) end, "filter.any", "predicate")
    fake.raises(function() filter.negate() end, "filter.negate", "predicate")
    fake.raises(function() filter.apply(nil, filter.all()) end, "filter.apply", "items")
    fake.raises(function() filter.apply({}, "failed") end, "filter.apply", "predicate")
  end)
end)
