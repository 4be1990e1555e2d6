-- TLS: certificates are checked unless the user says otherwise, a private CA
-- can be given, and an https client never falls back to http.
-- These run against the fake's TLS instance ($GITLAB_FAKE_TLS_URL, its CA in
-- $GITLAB_FAKE_CA), which spec/run.sh starts: without it they fail.
local fake = require("fake")
local cjson = require("cjson").new()

local function setting(name, what)
  local v = os.getenv(name)
  assert(v and v ~= "", ("%s is not set: spec/run.sh %s"):format(name, what))
  return v
end
local TLS = setting("GITLAB_FAKE_TLS_URL", "starts the TLS fake")
local CA = setting("GITLAB_FAKE_CA", "makes the TLS fake's CA")

local failed = fake.failed

local quote = fake.shell_quote

-- The control API of the TLS instance, reached with Python's standard library
-- (the fake's own requirement) and the private CA. One run sends a list of
-- [method, path, body] calls in order and prints the answer to the last.
local CONTROL = [[
import json, ssl, sys, urllib.error, urllib.request
base, calls, ca = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
for method, path, body in calls:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + "/__control" + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            out = r.read().decode()
    except urllib.error.HTTPError as e:
        sys.stdout.write("FAILED %s %s: %d %s" % (method, path, e.code, e.read().decode()))
        sys.exit(1)
sys.stdout.write("OK " + out)
]]

--- Runs control calls { {method, path [, body]}, ... } on the TLS instance
-- (a fresh start first when reset is true); returns the last answer.
local function tls_control(reset, calls)
  local list = {}
  if reset then list[1] = { "POST", "/reset", {} } end
  for _, call in ipairs(calls or {}) do
    list[#list + 1] = { call[1], call[2], call[3] or cjson.null }
  end
  local cmd = table.concat({ "python3", "-c", quote(CONTROL), quote(TLS), quote(cjson.encode(list)), quote(CA) }, " ")
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  assert(out:sub(1, 3) == "OK ", "TLS control: " .. out)
  return fake.decode(out:sub(4))
end

local function tls_requests()
  return tls_control(false, { { "GET", "/requests" } })
end

local function client(...) return fake.client({ url = TLS }, ...) end

describe("TLS", function()
  fake.each_spec()

  it("refuses a certificate the system does not trust: kind tls", function()
    tls_control(true)
    local c = client()
    local err = failed(c:get(1, 1009))
    assert.are.equal("tls", err.kind)
    assert.is_nil(err.status)
    assert.are.equal("GET", err.method)
    assert.are.equal("/projects/1/jobs/1009", err.path)
    assert.is_nil(err.maybe_done)
    err = failed(c:cancel(1, 1012))
    assert.are.equal("tls", err.kind)
    assert.is_nil(err.maybe_done) -- the POST never reached the server
    -- nothing, and so no token, got through
    assert.are.same({}, tls_requests())
  end)

  it("does not try again after a refused certificate: it cannot help", function()
    local slept = {}
    local c = client{ retries = { max = 3 }, sleep = function(s) slept[#slept + 1] = s end }
    local err = failed(c:get(1, 1009))
    assert.are.equal("tls", err.kind)
    assert.are.equal(1, err.attempts)
    assert.are.same({}, slept)
  end)

  it("gives kind tls for a CA file that cannot be read", function()
    local c = client{ ca_file = "/nonexistent/gitlab-jobs-ca.pem" }
    local err = failed(c:get(1, 1009))
    assert.are.equal("tls", err.kind)
  end)

  it("works with the private CA as ca_file", function()
    tls_control(true)
    local c = client{ ca_file = CA }
    local job, err = c:get(1, 1009)
    assert.is_nil(err)
    assert.are.equal(1009, job.id)
    local reqs = tls_requests()
    assert.are.equal(1, #reqs)
    assert.are.equal(fake.TOKEN, reqs[1].headers["private-token"])
  end)

  it("works with verify_tls = false", function()
    local c = client{ verify_tls = false }
    local job, err = c:get(1, 1009)
    assert.is_nil(err)
    assert.are.equal(1009, job.id)
  end)

  it("streams a large log and runs an action", function()
    tls_control(true, { { "POST", "/jobs/1009", { log_size = 500000 } } })
    local c = client{ ca_file = CA }
    local log = assert(c:trace(1, 1009))
    assert.are.equal(500000, #log)
    local n, err, got = fake.stream(c, 1, 1009)
    assert.is_nil(err)
    assert.are.equal(500000, n)
    assert.is_true(got == log, "the streamed log differs")
    assert.are.equal("canceled", assert(c:cancel(1, 1012)).status)
  end)

  it("never falls from https to http", function()
    local statuses = { 301, 302, 307, 308 }
    local faults = {}
    for i, status in ipairs(statuses) do
      faults[i] = { "POST", "/faults", { path = "/jobs/1009$", kind = "redirect", status = status,
                                         location = fake.url .. "/api/v4/projects/1/jobs/1009" } }
    end
    tls_control(true, faults)
    local c = client{ ca_file = CA, retries = { max = 2, base_delay = 0.1 }, sleep = function() end }
    for _, status in ipairs(statuses) do
      local err = failed(c:get(1, 1009))
      assert.are.equal("http", err.kind)
      assert.are.equal(status, err.status)
    end
    assert.are.equal(#statuses, #tls_requests())
    assert.are.same({}, fake.requests()) -- the http fake heard nothing
  end)

  it("follows an https redirect with the token on the same origin, without it to another", function()
    tls_control(true, {
      { "POST", "/faults", { path = "/jobs/1008$", kind = "redirect", to = "self", status = 308 } },
      { "POST", "/faults", { path = "/jobs/1009$", kind = "redirect", to = "second", status = 302 } },
    })
    local c = client{ ca_file = CA }
    assert.are.equal(1008, assert(c:get(1, 1008)).id)
    local err = failed(c:get(1, 1009))
    assert.are.equal(401, err.status) -- the other origin wanted the token it did not get
    local reqs = tls_requests()
    assert.are.equal(4, #reqs)
    assert.are.equal("primary", reqs[2].listener)
    assert.are.equal(fake.TOKEN, reqs[2].headers["private-token"])
    assert.are.equal(fake.TOKEN, reqs[3].headers["private-token"])
    assert.are.equal("secondary", reqs[4].listener)
    for _, h in ipairs({ "private-token", "authorization", "job-token" }) do
      assert.is_nil(reqs[4].headers[h])
    end
  end)

  it("never shows a token in an error, whichever the client sent", function()
    tls_control(true, { { "POST", "/faults", { path = "/jobs/1009$", kind = "redirect", status = 302, count = 3,
                                               location = fake.url .. "/api/v4/projects/1/jobs/1009" } } })
    local looked = 0
    for _, credential in ipairs(fake.CREDENTIALS) do
      assert.are.equal("tls", failed(client(credential):get(1, 1009)).kind)
      assert.are.equal("tls", failed(client(credential):cancel(1, 1012)).kind)
      assert.are.equal("tls", failed(client(credential, { ca_file = "/nonexistent/ca.pem" }):get(1, 1009)).kind)
      -- https to http: refused, the 302 comes back
      assert.are.equal(302, failed(client(credential, { ca_file = CA }):get(1, 1009)).status)
      looked = looked + 4
    end
    assert.are.equal(4 * #fake.CREDENTIALS, looked)
  end)
end)
