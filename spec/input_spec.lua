-- Hostile input from the user: what would put bytes on the wire that were
-- never meant for it (a header smuggled in a token, a NUL cutting a string
-- short, a dot segment changing the route) raises before anything is sent.
local fake = require("fake")
local gitlab = require("gitlab.jobs")

local function nothing_sent()
  assert.are.same({}, fake.requests())
end

describe("new refuses", function()
  fake.each_spec()

  for _, opt in ipairs({ "token", "job_token", "oauth_token", "user_agent" }) do
    for _, case in ipairs({ { "LF", "\n" }, { "CR", "\r" }, { "CRLF", "\r\n" }, { "NUL", "\0" } }) do
      local what, bad = case[1], case[2]
      it(("a %s holding %s, naming it"):format(opt, what), function()
        local value = "glpat-valid-token" .. bad
        if bad ~= "\n" then value = "glpat-valid" .. bad .. "X-Injected: 1" end
        local err = fake.raises(function() gitlab.new{ url = fake.url, [opt] = value } end,
          "bad argument #1 to 'new'", opt .. ":", "CR, LF or NUL")
        if bad == "\n" then assert.matches("newline", err) end
        nothing_sent()
      end)
    end
  end

  it("a url with no host, or holding a NUL", function()
    for _, url in ipairs({ "http://", "https://", "http:///api/v4", "http://:8080", "http://?x", "http://#" }) do
      fake.raises(function() gitlab.new{ url = url, token = "x" } end, "bad argument #1 to 'new'", "url:")
    end
    fake.raises(function() gitlab.new{ url = fake.url .. "\0.evil", token = "x" } end, "url:", "NUL")
    fake.raises(function() gitlab.new{ url = fake.url, token = "x", ca_file = "/etc/ssl\0x" } end, "ca_file:", "NUL")
  end)

  it("nothing for a token read from a file without its newline", function()
    local c = gitlab.new{ url = fake.url, token = fake.TOKEN }
    assert.is_table((c:get(1, 1001)))
    c:close()
  end)
end)

describe("a call refuses", function()
  local c
  fake.each_spec(function() c = fake.client() end)

  it("a project of '.' or '..', which the route would read as a dot segment", function()
    for _, p in ipairs({ ".", ".." }) do
      fake.raises(function() c:cancel(p, 1011) end, "bad argument #1 to 'cancel'", "project:")
      fake.raises(function() c:get(p, 1011) end, "bad argument #1 to 'get'", "project:")
      fake.raises(function() c:list(p) end, "bad argument #1 to 'list'", "project:")
      fake.raises(function() c:start("trace", p, 1011, function() end) end, "bad argument #2 to 'start'", "project:")
    end
    nothing_sent()
    -- a path merely containing dots is a project like any other, sent as one segment
    assert.is_nil((c:get("acme/..", 1011)))
    local req = fake.requests()[1]
    assert.are.equal("/api/v4/projects/acme%2F../jobs/1011", req.path)
  end)

  it("string arguments holding a NUL byte, naming them", function()
    fake.raises(function() c:get("acme/platform/api\0/x", 1001) end, "bad argument #1 to 'get'", "project:", "NUL")
    fake.raises(function() c:list(1, { scope = "failed\0x" }) end, "bad argument #2 to 'list'", "scope:", "NUL")
    fake.raises(function() c:list(1, { scope = { "success", "failed\0" } }) end, "scope:", "NUL")
    fake.raises(function() c:list(1, { pagination = "keyset\0" }) end, "pagination:")
    fake.raises(function() c:list(1, { next_url = fake.url .. "/api/v4/projects/1/jobs\0?x" }) end,
      "next_url:", "NUL")
    fake.raises(function() c:play(1, 1021, { variables = { NAME = "a\0b" } }) end, "variables", "NUL")
    fake.raises(function() c:play(1, 1021, { variables = { ["A\0B"] = "v" } }) end, "variables", "NUL")
    fake.raises(function() c:play(1, 1021, { variables = { { key = "K\0", value = "v" } } }) end, "variables", "NUL")
    nothing_sent()
  end)

  it("ids beyond 2^53, which JSON cannot carry intact, wherever an id is taken", function()
    local big = 9007199254740993
    fake.raises(function() c:get(1, big) end, "job_id:")
    fake.raises(function() c:get(big, 1) end, "project:")
    fake.raises(function() c:pipeline_jobs(1, big) end, "pipeline_id:")
    fake.raises(function() c:list(1, { page = big }) end, "page:")
    fake.raises(function() c:start("retry", 1, big, function() end) end, "job_id:")
    fake.raises(function() c:batch({ { "get", 1, big } }) end, "job_id:")
    fake.raises(function() c:wait(1, big) end, "job_id:")
    fake.raises(function() c:all("pipeline_jobs", 1, big) end, "pipeline_id:")
    nothing_sent()
  end)

  it("no dot segment in a linked URL: its path is sent as given, not rewritten by libcurl", function()
    local jobs = c:list(1, { next_url = fake.url .. "/api/v4/projects/2/../1/jobs?per_page=2" })
    assert.is_nil(jobs) -- GitLab matches no route with a dot segment in it
    local req = fake.requests()[1]
    assert.are.equal("/api/v4/projects/2/../1/jobs", req.path)
  end)
end)

describe("tostring(client)", function()
  it("never shows the user and password of the url", function()
    local u = fake.url:gsub("^http://", "http://alice:s3cret@")
    local c = gitlab.new{ url = u, token = "x" }
    local s = tostring(c)
    assert.is_nil(s:find("s3cret", 1, true))
    assert.is_nil(s:find("alice", 1, true))
    assert.truthy(s:find(fake.url:gsub("^http://", ""), 1, true))
    c:close()
  end)
end)

describe("a tiny timeout", function()
  it("is not rounded to none: 0.0004 s still times out", function()
    fake.reset()
    local c = fake.client({ timeout = 0.0004 })
    fake.fault({ path = "/jobs/1001$", kind = "stall", delay = 2 })
    local job, err = c:get(1, 1001)
    assert.is_nil(job)
    assert.are.equal("timeout", err.kind)
    c:close()
  end)
end)
