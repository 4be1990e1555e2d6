-- Locations in every form RFC 3986 allows, resolved against the URL asked:
-- the token goes along only while the origin stays the same.
local fake = require("fake")

describe("a Location", function()
  local c
  fake.each_spec(function() c = fake.client({ retries = { max = 0 } }) end)

  local function redirect(location)
    fake.fault({ method = "GET", path = "/jobs/1001$", kind = "redirect", location = location })
  end

  it("relative to the URL asked is followed, with the token (same origin)", function()
    for target, location in pairs({ [1002] = "1002", [1003] = "./1003?x=1", [1004] = "../jobs/1004" }) do
      fake.clear_requests()
      redirect(location)
      local job = c:get(1, 1001)
      assert.are.equal(target, job.id)
      local reqs = fake.requests()
      assert.are.equal(2, #reqs)
      assert.are.equal("/api/v4/projects/1/jobs/" .. target, reqs[2].path)
      assert.are.equal("primary", reqs[2].listener)
      assert.are.equal(fake.TOKEN, reqs[2].headers["private-token"])
    end
  end)

  it("scheme-relative (//host:port/path) is another origin: followed there, without the token", function()
    local hostport = fake.url2:match("^https?:(//[^/]+)")
    redirect(hostport .. "/api/v4/projects/1/jobs/1002")
    local err = fake.failed(c:get(1, 1001))
    assert.are.equal(401, err.status) -- the other origin got no token
    local reqs = fake.requests()
    assert.are.equal(2, #reqs)
    assert.are.equal("secondary", reqs[2].listener)
    assert.are.equal("/api/v4/projects/1/jobs/1002", reqs[2].path)
    assert.is_nil(reqs[2].headers["private-token"])
  end)

  it("absolute-path on the same origin keeps the token, its query too", function()
    redirect("/api/v4/projects/1/jobs/1002?from=redirect")
    assert.are.equal(1002, c:get(1, 1001).id)
    local r = fake.requests()[2]
    assert.are.equal("from=redirect", r.query)
    assert.are.equal(fake.TOKEN, r.headers["private-token"])
  end)

  it("that is not http(s) ends the call with nil, err", function()
    for _, location in ipairs({ "ftp://127.0.0.1/x", "file:///etc/passwd", "javascript:alert(1)" }) do
      fake.clear_requests()
      redirect(location)
      local err = fake.failed(c:get(1, 1001))
      assert.are.equal(302, err.status)
      assert.are.equal(1, #fake.requests())
    end
  end)
end)
