-- gitlab.filter: predicates over jobs, on jobs from the fake and on plain tables.
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local filter = gitlab.filter

local function ids(jobs)
  local out = {}
  for i, job in ipairs(jobs) do out[i] = job.id end
  return out
end

-- Project 1's build jobs, newest first: 1022 down to 1001.
local jobs
local function project1()
  if not jobs then jobs = assert(fake.client():all("list", 1)) end
  return jobs
end

local function by_id(id)
  for _, job in ipairs(project1()) do
    if job.id == id then return job end
  end
end

describe("gitlab.filter", function()
  setup(function()
    fake.reset()
    jobs = nil
  end)

  it("status: any of the statuses given", function()
    assert.are.same({ 1010, 1009, 1006, 1004 }, ids(filter.apply(project1(), filter.status("failed"))))
    assert.are.same({ 1013, 1012 },
      ids(filter.apply(project1(), filter.status("running", "canceling"))))
  end)

  it("name: a Lua pattern, unanchored", function()
    assert.are.same({ 1022, 1021, 1020, 1019 }, ids(filter.apply(project1(), filter.name("deploy"))))
    assert.are.same({ 1008, 1004, 1001 }, ids(filter.apply(project1(), filter.name("^compile$"))))
    -- magic characters are the pattern's: "deploy:%a+$"
    assert.are.same({ 1022, 1021, 1020, 1019 }, ids(filter.apply(project1(), filter.name("deploy:%a+$"))))
    assert.is_false(filter.name("x")({ id = 1 }))
  end)

  it("stage and ref", function()
    assert.are.same({ 1003 }, ids(filter.apply(project1(), filter.all(filter.stage("deploy"), filter.ref("v1.2.0")))))
    assert.are.equal(3, #filter.apply(project1(), filter.ref("v1.2.0")))
    assert.are.same({ 1008, 1007, 1006, 1005, 1004, 1001 }, ids(filter.apply(project1(), filter.stage("build"))))
  end)

  it("tag: the tag_list holds any of them", function()
    assert.are.same({ 1013 }, ids(filter.apply(project1(), filter.tag("perf"))))
    assert.are.same({ 1013, 1006 }, ids(filter.apply(project1(), filter.tag("perf", "windows"))))
    assert.is_false(filter.tag("docker")({ id = 1 }))
    assert.is_false(filter.tag("docker")({ id = 1, tag_list = {} }))
  end)

  it("failure_reason: any string, new ones too", function()
    assert.are.same({ 1010, 1004 },
      ids(filter.apply(project1(), filter.failure_reason("runner_system_failure"))))
    assert.are.same({ 1006 }, ids(filter.apply(project1(), filter.failure_reason("stuck_or_timeout_failure"))))
    assert.is_true(filter.failure_reason("a_reason_from_gitlab_19")({ failure_reason = "a_reason_from_gitlab_19" }))
    assert.is_false(filter.failure_reason("script_failure")({ status = "success" }))
  end)

  describe("created_after and created_before", function()
    it("are strict", function()
      local t = by_id(1008).created_at
      assert.are.same({ 1022, 1021, 1020, 1019, 1018, 1017, 1016, 1015, 1014, 1013, 1012, 1011, 1010, 1009 },
        ids(filter.apply(project1(), filter.created_after(t))))
      assert.are.same({ 1004, 1003, 1002, 1001 },
        ids(filter.apply(project1(), filter.created_before(by_id(1005).created_at))))
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
      local t = by_id(1012).created_at
      local want = ids(filter.apply(project1(), filter.created_after(t)))
      assert.are.equal(10, #want)
      fake.config({ utc_offset = "-05:30" })
      local shifted = assert(fake.client():all("list", 1))
      assert.matches("%-05:30$", shifted[1].created_at)
      assert.are.same(want, ids(filter.apply(shifted, filter.created_after(t))))
      fake.reset()
    end)
  end)

  it("all, any and negate combine predicates", function()
    local failed, flaky = filter.status("failed"), filter.failure_reason("runner_system_failure")
    assert.are.same({ 1009, 1006 }, ids(filter.apply(project1(), filter.all(failed, filter.negate(flaky)))))
    assert.are.same({ 1013, 1010, 1006, 1004 },
      ids(filter.apply(project1(), filter.any(flaky, filter.tag("windows", "perf")))))
    assert.is_true(filter.all()({}))
    assert.is_false(filter.any()({}))
    assert.are.equal(0, #filter.apply(project1(), filter.negate(filter.name(""))))
  end)

  it("predicates return booleans", function()
    local job = by_id(1009)
    for _, p in ipairs({ filter.status("failed"), filter.name("unit"), filter.stage("test"), filter.ref("main"),
                         filter.tag("linux"), filter.failure_reason("script_failure"),
                         filter.created_after("2020-01-01"), filter.all(), filter.negate(filter.any()) }) do
      assert.are.equal(true, p(job))
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
    local c = fake.client()
    local got = assert(c:all("list", 2, { where = filter.all(filter.ref("feature/cache"), filter.status("failed")) }))
    assert.is_true(#got > 0)
    for _, job in ipairs(got) do
      assert.are.equal("feature/cache", job.ref)
      assert.are.equal("failed", job.status)
    end
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
