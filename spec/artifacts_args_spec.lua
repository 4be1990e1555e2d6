-- The artifact calls, cancel's force and list's order: bad input raises
-- before anything is sent, naming the argument; good input goes out as
-- GitLab documents it.
local fake = require("fake")

describe("the artifact calls refuse", function()
  local c
  fake.each_spec(function() c = fake.client() end)
  after_each(function() assert.are.same({}, fake.requests(), "a refused call sent something") end)

  local download = {
    { "artifacts", { 1, 1001 } },
    { "artifacts_by_ref", { 1, "main", "compile" } },
    { "artifact", { 1, 1001, "reports/junit.xml" } },
    { "artifact_by_ref", { 1, "main", "compile", "reports/junit.xml" } },
  }

  it("a ref, job name or artifact path that is not a non-empty string, or holds a NUL", function()
    local cases = {
      { "artifacts_by_ref", { 1, "", "compile" }, "#2", "ref:" },
      { "artifacts_by_ref", { 1, 7, "compile" }, "#2", "ref: non-empty string expected, got number '7'" },
      { "artifacts_by_ref", { 1, "main" }, "#3", "job_name: non-empty string expected, got nil" },
      { "artifacts_by_ref", { 1, "main", "" }, "#3", "job_name:" },
      { "artifacts_by_ref", { 1, "ma\0in", "compile" }, "#2", "ref: holds a NUL" },
      { "artifact", { 1, 1001 }, "#3", "artifact_path:" },
      { "artifact", { 1, 1001, "" }, "#3", "artifact_path:" },
      { "artifact", { 1, 1001, {} }, "#3", "artifact_path: non-empty string expected, got table" },
      { "artifact", { 1, "1001", "x" }, "#2", "job_id:" },
      { "artifact_by_ref", { 1, "main", "compile", "a\0b" }, "#4", "artifact_path: holds a NUL" },
      { "artifact_by_ref", { 1, "main", false, "a" }, "#3", "job_name:" },
      { "keep_artifacts", { 1 }, "#2", "job_id:" },
      { "delete_artifacts", { "", 1001 }, "#1", "project:" },
      { "delete_project_artifacts", { ".." }, "#1", "project:" },
    }
    for _, case in ipairs(cases) do
      local name, args, n, what = case[1], case[2], case[3], case[4]
      fake.raises(function() c[name](c, (table.unpack or unpack)(args, 1, 4)) end,
        ("bad argument %s to '%s'"):format(n, name), what)
    end
  end)

  it("an artifact path with an empty, '.' or '..' segment, which would change the route", function()
    for _, p in ipairs({ "/reports/junit.xml", "reports//junit.xml", "reports/", "../secret", "a/./b", "..", "." }) do
      fake.raises(function() c:artifact(1, 1001, p) end, "bad argument #3 to 'artifact'", "artifact_path:")
      fake.raises(function() c:artifact_by_ref(1, "main", "compile", p) end, "bad argument #4", "artifact_path:")
    end
  end)

  it("sink with path, a bad sink, path or on_progress, and an unknown option", function()
    for _, d in ipairs(download) do
      local name, args = d[1], d[2]
      local at = #args + 1
      local function call(opts)
        local a = { (table.unpack or unpack)(args) }
        a[at] = opts
        return function() c[name](c, (table.unpack or unpack)(a, 1, at)) end
      end
      local blame = ("bad argument #%d to '%s'"):format(at, name)
      fake.raises(call({ sink = print, path = "/tmp/x" }), blame, "sink and path exclude each other")
      fake.raises(call({ sink = "x" }), blame, "sink: function expected, got string")
      fake.raises(call({ path = "" }), blame, "path: non-empty string expected")
      fake.raises(call({ path = 1 }), blame, "path: non-empty string expected, got number")
      fake.raises(call({ path = "a\0b" }), blame, "path: holds a NUL")
      fake.raises(call({ on_progress = true }), blame, "on_progress: function expected, got boolean")
      fake.raises(call({ offset = 3 }), blame, "unknown option 'offset'")
      fake.raises(call("x"), blame, "options: table expected")
    end
  end)

  it("the same through start and batch, blamed on them", function()
    fake.raises(function() c:start("artifact", 1, 1001, "../x", function() end) end,
      "bad argument #4 to 'start'", "artifact_path:")
    fake.raises(function() c:batch({ { "get", 1, 1001 }, { "artifacts_by_ref", 1, "", "x" } }) end,
      "bad argument #1 to 'batch' (calls[2]: ref:")
  end)

  it("a bad force for cancel, a bad order_by or sort for list", function()
    fake.raises(function() c:cancel(1, 1016, { force = "yes" }) end, "bad argument #3 to 'cancel'", "force: boolean")
    fake.raises(function() c:cancel(1, 1016, { forced = true }) end, "unknown option 'forced'")
    fake.raises(function() c:list(1, { order_by = "created_at" }) end, "bad argument #2 to 'list'", "order_by")
    fake.raises(function() c:list(1, { sort = "up" }) end, "bad argument #2 to 'list'", "sort")
    fake.raises(function() c:list(1, { sort = "asc\0" }) end, "sort")
    fake.raises(function() c:pipeline_jobs(1, 101, { sort = "asc" }) end, "unknown option 'sort'")
    fake.raises(function() c:list(1, { next_url = fake.url .. "/api/v4/projects/1/jobs", sort = "asc" }) end,
      "next_url: cannot be combined with 'sort'")
  end)
end)

describe("sent as GitLab documents", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("cancel with force = true sends force=true; without, nothing more", function()
    assert.is_table((c:cancel(1, 1016, { force = true })))
    assert.is_table((c:cancel(1, 1012)))
    assert.is_table((c:cancel(1, 1017, { force = false })))
    local reqs = fake.requests_to("POST", "/cancel$")
    assert.are.equal(3, #reqs)
    assert.are.same({ "true" }, reqs[1].params.force)
    assert.is_nil(reqs[2].params.force)
    assert.is_nil(reqs[3].params.force)
  end)

  it("list with order_by and sort sends them as query parameters", function()
    c:list(1, { order_by = "id", sort = "asc", per_page = 3 })
    local r = fake.requests()[1]
    assert.are.same({ "id" }, r.params.order_by)
    assert.are.same({ "asc" }, r.params.sort)
  end)

  it("an artifact path and a ref each segment escaped, the job name in the query", function()
    c:artifact(1, 1001, "dir with space/a+b.txt")
    c:artifact_by_ref("acme/platform/api", "release/1.2", "unit tests", "reports/junit.xml")
    c:artifacts_by_ref(1, "feature/x#1", "compile")
    local reqs = fake.requests()
    assert.are.equal("/api/v4/projects/1/jobs/1001/artifacts/dir%20with%20space/a%2Bb.txt", reqs[1].path)
    assert.are.equal("/api/v4/projects/acme%2Fplatform%2Fapi/jobs/artifacts/release%2F1.2/raw/reports/junit.xml",
      reqs[2].path)
    assert.are.same({ "unit tests" }, reqs[2].params.job)
    assert.are.equal("/api/v4/projects/1/jobs/artifacts/feature%2Fx%231/download", reqs[3].path)
    assert.are.same({ "compile" }, reqs[3].params.job)
    for _, r in ipairs(reqs) do assert.are.equal("GET", r.method) end
  end)

  it("keep is a POST; the deletes are DELETEs", function()
    c:keep_artifacts(1, 1001)
    c:delete_artifacts(1, 1001)
    c:delete_project_artifacts(1)
    local reqs = fake.requests()
    assert.are.equal("POST", reqs[1].method)
    assert.are.equal("/api/v4/projects/1/jobs/1001/artifacts/keep", reqs[1].path)
    assert.are.equal("DELETE", reqs[2].method)
    assert.are.equal("/api/v4/projects/1/jobs/1001/artifacts", reqs[2].path)
    assert.are.equal("DELETE", reqs[3].method)
    assert.are.equal("/api/v4/projects/1/artifacts", reqs[3].path)
  end)
end)
