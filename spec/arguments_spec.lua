-- Misuse raises at once, naming the argument, and sends nothing.
local fake = require("fake")

local NAN = 0 / 0
local BAD_IDS = {
  { "nil", nil }, { "a string of digits", "1002" }, { "zero", 0 }, { "a negative number", -3 },
  { "a fraction", 1.5 }, { "NaN", NAN }, { "infinity", math.huge }, { "a huge number", 2 ^ 60 },
  { "a table", {} }, { "a boolean", true },
}

-- name -> function(client, bad value) for each id argument of each call
local ID_CALLS = {
  { "get", "job_id", function(c, v) c:get(1, v) end },
  { "trace", "job_id", function(c, v) c:trace(1, v) end },
  { "cancel", "job_id", function(c, v) c:cancel(1, v) end },
  { "retry", "job_id", function(c, v) c:retry(1, v) end },
  { "erase", "job_id", function(c, v) c:erase(1, v) end },
  { "play", "job_id", function(c, v) c:play(1, v) end },
  { "pipeline_jobs", "pipeline_id", function(c, v) c:pipeline_jobs(1, v) end },
  { "bridges", "pipeline_id", function(c, v) c:bridges(1, v) end },
  { "list", "project", function(c, v) c:list(v) end },
  { "get", "project", function(c, v) c:get(v, 1) end },
  { "pipeline_jobs", "project", function(c, v) c:pipeline_jobs(v, 1) end },
  { "bridges", "project", function(c, v) c:bridges(v, 1) end },
  { "trace", "project", function(c, v) c:trace(v, 1) end },
  { "cancel", "project", function(c, v) c:cancel(v, 1) end },
  { "retry", "project", function(c, v) c:retry(v, 1) end },
  { "erase", "project", function(c, v) c:erase(v, 1) end },
  { "play", "project", function(c, v) c:play(v, 1) end },
}

-- { call, options, text the error must contain }
local BAD_OPTIONS = {
  { "list", "not a table", "options" },
  { "list", { colour = "red" }, "unknown option 'colour'" },
  { "list", { include_retried = true }, "unknown option 'include_retried'" },
  { "list", { [1] = "failed" }, "option names must be strings" },
  { "list", { scope = 7 }, "scope" },
  { "list", { scope = "broken" }, "scope: unknown status 'broken'" },
  { "list", { scope = { "failed", "exploded" } }, "scope: unknown status 'exploded'" },
  { "list", { scope = { "failed", 3 } }, "scope" },
  { "list", { scope = {} }, "scope" },
  { "list", { page = 0 }, "page" },
  { "list", { page = "2" }, "page" },
  { "list", { per_page = 101 }, "per_page" },
  { "list", { per_page = 0 }, "per_page" },
  { "list", { per_page = 2.5 }, "per_page" },
  { "list", { pagination = "offset" }, "pagination" },
  { "list", { next_url = 5 }, "next_url" },
  { "list", { next_url = "ftp://x/y" }, "next_url" },
  { "list", { next_url = "http://x/api/v4/projects/1/jobs?page=2", page = 2 }, "next_url" },
  { "pipeline_jobs", { pagination = "keyset" }, "unknown option 'pagination'" },
  { "pipeline_jobs", { include_retried = "yes" }, "include_retried" },
  { "pipeline_jobs", { scope = "nope" }, "scope" },
  { "bridges", { include_retried = true }, "unknown option 'include_retried'" },
  { "bridges", { per_page = -1 }, "per_page" },
  { "trace", { sink = "stdout" }, "sink" },
  { "trace", { offset = -1 }, "offset" },
  { "trace", { offset = 0.5 }, "offset" },
  { "trace", { follow = true }, "unknown option 'follow'" },
  { "play", { variables = "A=1" }, "variables" },
  { "play", { variables = { A = 1 } }, "variables.A" },
  { "play", { variables = { A = true } }, "variables.A" },
  { "play", { variables = { { key = "A", value = 1 } } }, "variables[1].value" },
  { "play", { variables = { { key = "", value = "1" } } }, "variables[1].key" },
  { "play", { variables = { { value = "1" } } }, "variables[1].key" },
  { "play", { variables = { { key = "A", value = "1" }, B = "2" } }, "variables" },
  { "play", { scope = "manual" }, "unknown option 'scope'" },
}

local function call_with(c, name, opts)
  if name == "list" then
    c:list(1, opts)
  elseif name == "pipeline_jobs" or name == "bridges" then
    c[name](c, 1, 101, opts)
  else
    c[name](c, 1, 1001, opts)
  end
end

describe("bad arguments", function()
  local c
  fake.each_spec(function() c = fake.client() end)
  after_each(function() assert.are.same({}, fake.requests()) end)

  for _, case in ipairs(ID_CALLS) do
    local name, arg, f = case[1], case[2], case[3]
    for _, bad in ipairs(BAD_IDS) do
      local what, value = bad[1], bad[2]
      if not (arg == "project" and type(value) == "string") then
        it(("%s raises on %s as %s"):format(name, what, arg), function()
          fake.raises(function() f(c, value) end, arg, name)
        end)
      end
    end
  end

  it("raises on an empty project path", function()
    fake.raises(function() c:get("", 1) end, "project")
  end)

  for _, case in ipairs(BAD_OPTIONS) do
    it(("%s raises on %s"):format(case[1], case[3]), function()
      fake.raises(function() call_with(c, case[1], case[2]) end, case[3])
    end)
  end

  it("job and allowed_agents raise without a job token", function()
    fake.raises(function() c:job() end, "job token")
    fake.raises(function() c:allowed_agents() end, "job token")
  end)

  it("a closed client raises on every call", function()
    c:close()
    c:close() -- twice is harmless
    fake.raises(function() c:get(1, 1001) end, "closed")
    fake.raises(function() c:list(1) end, "closed")
  end)
end)

describe("gitlab.new", function()
  local gitlab = require("gitlab.jobs")

  it("raises without any url", function()
    fake.raises(function() gitlab.new{ token = "x" } end, "url")
  end)

  it("raises on a url that is not http(s)", function()
    fake.raises(function() gitlab.new{ url = "gitlab.example.com" } end, "url")
  end)

  it("raises on an unknown option, naming it", function()
    fake.raises(function() gitlab.new{ url = fake.url, tokn = "x" } end, "unknown option 'tokn'")
  end)

  it("raises on options of the wrong type, naming them", function()
    fake.raises(function() gitlab.new{ url = fake.url, token = 5 } end, "token")
    fake.raises(function() gitlab.new{ url = fake.url, timeout = -1 } end, "timeout")
    fake.raises(function() gitlab.new{ url = fake.url, timeout = "30" } end, "timeout")
    fake.raises(function() gitlab.new{ url = fake.url, verify_tls = "no" } end, "verify_tls")
    fake.raises(function() gitlab.new{ url = fake.url, transport = "curl" } end, "transport")
    fake.raises(function() gitlab.new{ url = fake.url, sleep = 1 } end, "sleep")
    fake.raises(function() gitlab.new{ url = fake.url, retries = { max = -1 } } end, "retries.max")
    fake.raises(function() gitlab.new{ url = fake.url, retries = { tries = 1 } } end, "retries")
  end)
end)
