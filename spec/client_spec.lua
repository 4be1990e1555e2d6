-- The client: options, the url, closing, and the JSON decoder it uses.
local fake = require("fake")
local gitlab = require("gitlab.jobs")

local run_lua = fake.run_lua

local function recording_transport()
  local urls = {}
  return function(req)
    urls[#urls + 1] = req.url
    return { status = 200, body = '{"id":1}' }
  end, urls
end

describe("gitlab.new", function()
  fake.each_spec()

  it("has a version", function()
    assert.matches("^%d+%.%d+%.%d+$", gitlab.VERSION)
  end)

  it("ignores a trailing slash and keeps a path prefix", function()
    local t, urls = recording_transport()
    gitlab.new{ url = "https://git.example.com/gitlab/", token = "x", transport = t }:get(1, 2)
    gitlab.new{ url = "https://git.example.com", token = "x", transport = t }:get(1, 2)
    gitlab.new{ url = "https://git.example.com/api/v4/", token = "x", transport = t }:get(1, 2)
    assert.are.same({
      "https://git.example.com/gitlab/api/v4/projects/1/jobs/2",
      "https://git.example.com/api/v4/projects/1/jobs/2",
      "https://git.example.com/api/v4/projects/1/jobs/2",
    }, urls)
  end)

  it("sends its user agent", function()
    local c = fake.client{ user_agent = "housekeeper/2.0" }
    assert(c:get(1, 1009))
    assert.are.equal("housekeeper/2.0", fake.requests()[1].headers["user-agent"])
  end)

  it("reads GITLAB_URL, GITLAB_TOKEN and CI_JOB_TOKEN from the environment", function()
    local out = run_lua("local c = require('gitlab.jobs').new(); local a = assert(c:get(1, 1009));"
      .. "local b = assert(c:job()); io.write(a.name, ' ', b.id)",
      ("GITLAB_URL=%s GITLAB_TOKEN=%s CI_JOB_TOKEN=%s"):format(fake.url, fake.TOKEN, fake.JOB_TOKEN))
    local token_job = fake.job(1012)
    assert.are.equal(fake.JOB_TOKEN, token_job.token)
    assert.are.equal(("%s %d"):format(fake.job(1009).job.name, token_job.job.id), out)
  end)

  it("falls back to CI_SERVER_URL", function()
    local out = run_lua("local c = require('gitlab.jobs').new(); io.write(assert(c:get(1, 1009)).name)",
      ("CI_SERVER_URL=%s GITLAB_TOKEN=%s"):format(fake.url, fake.TOKEN))
    assert.are.equal(fake.job(1009).job.name, out)
  end)

  it("reads no environment variable for a token given as false", function()
    local out = run_lua("local c = require('gitlab.jobs').new{token = false};"
      .. "local _, e = c:get(1, 1009); io.write(e.status)",
      ("GITLAB_URL=%s GITLAB_TOKEN=%s"):format(fake.url, fake.TOKEN))
    assert.are.equal("401", out)
  end)

  -- <close> exists on Lua 5.4 only
  if _VERSION == "Lua 5.4" then
    it("is closed by <close>", function()
      local f = assert(load([[
        local fake = ...
        local c <close> = fake.client()
        assert(c:get(1, 1009))
        return c
      ]]))
      local c = f(fake)
      fake.raises(function() c:get(1, 1009) end, "closed")
    end)
  end

  it("is freed by the garbage collector, with a request's connection", function()
    collectgarbage() -- what earlier specs left behind goes first
    collectgarbage()
    local before = fake.open_sockets()
    local gone = setmetatable({}, { __mode = "v" })
    local function use_and_forget()
      local c = fake.client()
      assert(c:get(1, 1009))
      gone[1] = c
    end
    use_and_forget()
    assert.is_not_nil(gone[1])
    assert.is_true(fake.open_sockets() > before, "the kept-alive connection is not open")
    collectgarbage()
    collectgarbage()
    assert.is_nil(gone[1], "the client was not collected")
    assert.are.equal(before, fake.open_sockets(), "the collected client's connection is still open")
    local c = fake.client()
    assert(c:get(1, 1009))
  end)

  it("sleeps through its sleep option, else for real", function()
    local slept = {}
    local c = fake.client{ sleep = function(s) slept[#slept + 1] = s end }
    c:sleep(2.5)
    c:sleep(0)
    assert.are.same({ 2.5, 0 }, slept)
    fake.raises(function() c:sleep("1") end, "sleep", "number expected")
    assert.are.same({ 2.5, 0 }, slept)
    -- without the option it waits: the fake's clock says so
    local plain = fake.client()
    assert(plain:get(1, 1009))
    local t0 = plain:now()
    plain:sleep(1)
    assert.is_true(plain:now() - t0 >= 1)
    assert(plain:get(1, 1008))
    local reqs = fake.requests()
    assert.are.equal(2, #reqs)
    assert.is_true(reqs[2].time - reqs[1].time >= 1, tostring(reqs[2].time - reqs[1].time))
  end)

  it("tells time by its clock option", function()
    local c, clk = fake.timed_client()
    assert.are.equal(0, c:now())
    c:sleep(3)
    assert.are.equal(3, c:now())
    assert.are.same({ 3 }, clk.sleeps)
    clk.t = 42.5
    assert.are.equal(42.5, c:now())
  end)

  it("keeps two clients apart", function()
    local a = fake.client()
    local b = fake.client{ token = fake.READONLY }
    assert(a:get(1, 1009))
    assert(b:get(1, 1009))
    a:close()
    assert(b:get(1, 1009))
    local reqs = fake.requests()
    assert.are.equal(fake.TOKEN, reqs[1].headers["private-token"])
    assert.are.equal(fake.READONLY, reqs[2].headers["private-token"])
    assert.are_not.equal(reqs[1].connection, reqs[2].connection)
  end)

  it("says what it is", function()
    local c = fake.client()
    assert.matches("gitlab.jobs.client", tostring(c))
    c:close()
    assert.matches("closed", tostring(c))
  end)

  it("uses its own cjson instance, whatever the host set", function()
    local cjson = require("cjson")
    cjson.decode_max_depth(2)
    local c = fake.client()
    local job, err = c:get(1, 1009)
    cjson.decode_max_depth(1000)
    assert(job, tostring(err))
    assert.are.equal(fake.job(1009).pipeline_id, job.pipeline.id)
  end)

  it("decodes with vim.json where cjson is absent", function()
    local out = run_lua([[
      local real = require("cjson")
      package.loaded.cjson = nil
      package.preload.cjson = function() error("no cjson here") end
      local decoded = 0
      vim = { json = { decode = function(s) decoded = decoded + 1; return real.decode(s) end }, NIL = real.null }
      local c = require("gitlab.jobs").new{ url = os.getenv("U"), token = os.getenv("T") }
      local job = assert(c:get(1, 1009))
      io.write(decoded, " ", tostring(job.coverage), " ", job.pipeline.id)
    ]], ("U=%s T=%s"):format(fake.url, fake.TOKEN))
    assert.are.equal("1 nil 101", out)
  end)

  it("sets no globals when loaded", function()
    local out = run_lua([[
      local before = {}
      for k in pairs(_G) do before[k] = true end
      require("gitlab.jobs")
      local added = {}
      for k in pairs(_G) do if not before[k] then added[#added + 1] = k end end
      io.write("added:", table.concat(added, ","))
    ]])
    assert.are.equal("added:", out)
  end)
end)
