-- Connections for real networks: a forward proxy (plain requests and CONNECT
-- tunnels), mutual TLS, and Link URLs that name another origin than the one
-- the client reaches the server by. Against the proxy, the mTLS fake and the
-- plain fake that spec/run.sh starts (tools/with-fake.sh --tls --mtls --proxy).
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local http, ltn12 = require("socket.http"), require("ltn12")
local cjson = require("cjson").new()

local function setting(name)
  local v = os.getenv(name)
  assert(v and v ~= "", name .. " is not set: spec/run.sh starts the servers it names")
  return v
end
local PROXY, PROXY_CONTROL = setting("GITLAB_FAKE_PROXY_URL"), setting("GITLAB_FAKE_PROXY_CONTROL")
local TLS, CA = setting("GITLAB_FAKE_TLS_URL"), setting("GITLAB_FAKE_CA")
local MTLS = setting("GITLAB_FAKE_MTLS_URL")
local CERT, KEY = setting("GITLAB_FAKE_CLIENT_CERT"), setting("GITLAB_FAKE_CLIENT_KEY")
local OTHER_CERT, OTHER_KEY = setting("GITLAB_FAKE_OTHER_CERT"), setting("GITLAB_FAKE_OTHER_KEY")

-- A name only the proxy resolves: a client that gets an answer went through it.
local HIDDEN = "gitlab.internal.invalid"
local PORT = assert(fake.url:match(":(%d+)$"))

local function proxy(method, path, body)
  local out, src = {}, body and cjson.encode(body) or nil
  local _, code = http.request{ url = PROXY_CONTROL .. path, method = method, sink = ltn12.sink.table(out),
    source = src and ltn12.source.string(src) or nil,
    headers = src and { ["content-type"] = "application/json", ["content-length"] = #src } or nil }
  assert(code == 200, ("proxy %s %s: %s"):format(method, path, tostring(code)))
  return cjson.decode(table.concat(out))
end

local function hidden_proxy()
  proxy("POST", "/reset", {})
  proxy("POST", "/config", { hosts = { [HIDDEN] = "127.0.0.1" } })
end

describe("a forward proxy", function()
  fake.each_spec(hidden_proxy)

  it("carries plain requests: the server is reached by a name only the proxy knows", function()
    local c = fake.client({ url = ("http://%s:%s"):format(HIDDEN, PORT), proxy = PROXY })
    assert.are.equal(1001, assert(c:get(1, 1001)).id)
    local jobs = assert(c:list(1, { per_page = 2 }))
    assert.are.equal(2, #jobs)
    local seen = proxy("GET", "/requests")
    assert.are.equal(2, #seen)
    assert.are.equal("GET", seen[1].method)
    assert.are.equal(("http://%s:%s/api/v4/projects/1/jobs/1001"):format(HIDDEN, PORT), seen[1].target)
    assert.is_nil(seen[1].headers["proxy-authorization"])
    assert.are.equal(seen[1].connection, seen[2].connection) -- kept alive through the proxy too
  end)

  it("sends the proxy's user and password, and never shows them in an error", function()
    proxy("POST", "/config", { auth = "squid:s3cret-proxy-pw" })
    local url = ("http://%s:%s"):format(HIDDEN, PORT)
    local ok = fake.client({ url = url, proxy = PROXY:gsub("^http://", "http://squid:s3cret-proxy-pw@") })
    assert.are.equal(1001, assert(ok:get(1, 1001)).id)
    local auth = proxy("GET", "/requests")[1].headers["proxy-authorization"]
    assert.are.equal("Basic " .. "c3F1aWQ6czNjcmV0LXByb3h5LXB3", auth)

    local bad = fake.client({ url = url, proxy = PROXY:gsub("^http://", "http://squid:wrong-pw-1234@"),
                              retries = false })
    local value, err = bad:get(1, 1001)
    fake.failed(value, err)
    assert.are.equal("http", err.kind)
    assert.are.equal(407, err.status)
    assert.is_nil(tostring(err):find("wrong-pw-1234", 1, true))
    assert.is_nil(tostring(bad):find("wrong-pw-1234", 1, true))
  end)

  it("tunnels https with CONNECT: the proxy sees the host and port, never the token", function()
    local c = fake.client({ url = TLS, ca_file = CA, proxy = PROXY })
    assert.are.equal(1001, assert(c:get(1, 1001)).id)
    assert.are.equal(1002, assert(c:get(1, 1002)).id)
    local seen = proxy("GET", "/requests")
    assert.are.equal(1, #seen) -- one tunnel, kept alive
    assert.are.equal("CONNECT", seen[1].method)
    assert.are.equal(TLS:match("^https://(.*)$"), seen[1].target)
    for name, v in pairs(seen[1].headers) do
      assert.is_nil(v:find(fake.TOKEN, 1, true), name)
    end
  end)

  it("proxy = false ignores the environment's proxy; without it the environment's is used", function()
    local code = ([[
      local gitlab = require("gitlab.jobs")
      local c = gitlab.new{ url = "http://%s:%s", token = "glpat-valid-token", retries = false, proxy = %s }
      local job, err = c:get(1, 1001)
      print(job and ("JOB " .. job.id) or ("ERR " .. err.kind .. " " .. err.message))
    ]])
    local env = ("http_proxy=%s HTTP_PROXY=%s no_proxy= NO_PROXY="):format(PROXY, PROXY)
    assert.matches("JOB 1001", fake.run_lua(code:format(HIDDEN, PORT, "nil"), env))
    assert.are.equal(1, #proxy("GET", "/requests"))
    local out = fake.run_lua(code:format(HIDDEN, PORT, "false"), env)
    assert.matches("ERR network", out)
    assert.matches("resolve", out)
    assert.are.equal(1, #proxy("GET", "/requests")) -- the second went nowhere near it
  end)

  it("a proxy that cannot be reached fails the call as a network error, naming no secret", function()
    local c = fake.client({ proxy = ("http://u:pw-9876@127.0.0.1:%d"):format(fake.closed_port()), retries = false })
    local value, err = c:get(1, 1001)
    fake.failed(value, err)
    assert.are.equal("network", err.kind)
    assert.is_nil(tostring(err):find("pw-9876", 1, true))
  end)

  it("refuses a bad proxy option, naming it, and one beside a transport", function()
    for _, bad in ipairs({ "", "ftp://proxy:21", 3128, true, "http://p\r\n:1" }) do
      fake.raises(function() fake.client({ proxy = bad }) end, "bad argument #1 to 'new'", "proxy")
    end
    fake.raises(function() fake.client({ proxy = PROXY, transport = fake.socket_transport }) end,
      "bad argument #1 to 'new'", "proxy: not used with a transport")
    assert.truthy(fake.client({ proxy = false, transport = fake.socket_transport }))
    for _, good in ipairs({ "127.0.0.1:3128", "socks5h://127.0.0.1:1080", "https://proxy.example:443" }) do
      assert.truthy(fake.client({ proxy = good }))
    end
  end)
end)

describe("mutual TLS", function()
  fake.each_spec()

  it("cert_file and key_file: the server that asks for a client certificate answers", function()
    local c = fake.client({ url = MTLS, ca_file = CA, cert_file = CERT, key_file = KEY })
    assert.are.equal(1001, assert(c:get(1, 1001)).id)
    local got
    c:start("get", 1, 1002, function(job) got = job.id end)
    while c:poll(1) > 0 do end
    assert.are.equal(1002, got)
  end)

  it("through the proxy too, end to end", function()
    hidden_proxy()
    local c = fake.client({ url = MTLS, ca_file = CA, cert_file = CERT, key_file = KEY, proxy = PROXY })
    assert.are.equal(1001, assert(c:get(1, 1001)).id)
    assert.are.equal("CONNECT", proxy("GET", "/requests")[1].method)
  end)

  it("without a certificate, or with one of another CA, the handshake fails: a tls error, not retried", function()
    for _, opts in ipairs({ {}, { cert_file = OTHER_CERT, key_file = OTHER_KEY } }) do
      opts.url, opts.ca_file = MTLS, CA
      local value, err = fake.client(opts):get(1, 1001)
      fake.failed(value, err)
      assert.are.equal("tls", err.kind)
      assert.are.equal(1, err.attempts)
    end
  end)

  it("a certificate file that cannot be read is a tls error naming it", function()
    local c = fake.client({ url = MTLS, ca_file = CA, cert_file = "/nonexistent/client.pem", key_file = KEY })
    local value, err = c:get(1, 1001)
    fake.failed(value, err)
    assert.are.equal("tls", err.kind)
    assert.matches("certificate", err.message)
  end)

  it("refuses bad cert_file and key_file options, naming them", function()
    fake.raises(function() fake.client({ cert_file = 5 }) end, "bad argument #1 to 'new'", "cert_file")
    fake.raises(function() fake.client({ key_file = KEY }) end, "bad argument #1 to 'new'", "key_file")
    fake.raises(function() fake.client({ cert_file = "a\0b" }) end, "bad argument #1 to 'new'", "cert_file")
    fake.raises(function() fake.client({ cert_file = CERT, transport = fake.socket_transport }) end,
      "bad argument #1 to 'new'", "cert_file: not used with a transport")
  end)
end)

describe("keep_base_url", function()
  fake.each_spec()

  local N = 23 -- project 4's jobs read, 5 a page: 5 pages

  -- A GitLab whose external_url is another host, and which knows nothing of the
  -- client's /gitlab prefix (a proxy maps it).
  local function elsewhere()
    fake.config({ link_base = "http://" .. HIDDEN, link_prefix = "" })
  end

  it("false (the default): the Link the server sent is followed as given, and fails", function()
    elsewhere()
    local c = fake.client({ url = fake.url .. "/gitlab", retries = false })
    local jobs, page = assert(c:list(4, { per_page = 5 }))
    assert.are.equal(5, #jobs)
    assert.matches("^http://" .. HIDDEN:gsub("%.", "%%.") .. "/api/v4/projects/4/jobs%?", page.next_url)
    local ok, err = pcall(function()
      for _ in c:each("list", 4, { per_page = 5, limit = N }) do end
    end)
    assert.is_false(ok)
    assert.are.equal("network", err.kind)
  end)

  it("true: every Link is moved onto the client's scheme, host, port and prefix, the token kept", function()
    elsewhere()
    local c = fake.client({ url = fake.url .. "/gitlab", keep_base_url = true })
    local _, page = assert(c:list(4, { per_page = 5 }))
    assert.are.equal(fake.url .. "/gitlab/api/v4/projects/4/jobs?", page.next_url:sub(1, #fake.url + 31))
    fake.clear_requests()
    local ids = {}
    for job in c:each("list", 4, { per_page = 5, limit = N }) do ids[#ids + 1] = job.id end
    assert.are.equal(N, #ids)
    local reqs = fake.requests()
    assert.are.equal(5, #reqs)
    for _, r in ipairs(reqs) do
      assert.are.equal("/gitlab/api/v4/projects/4/jobs", r.path)
      assert.are.equal(fake.TOKEN, r.headers["private-token"])
    end
  end)

  it("true, keyset pages and started calls too", function()
    fake.config({ link_base = fake.url2 })
    local c = fake.client({ keep_base_url = true })
    local got, next_url = 0, nil
    c:start("list", 4, { per_page = 5, pagination = "keyset", order_by = "id", sort = "desc" }, function(jobs, page)
      got, next_url = #jobs, page.next_url
    end)
    while c:poll(1) > 0 do end
    assert.are.equal(5, got)
    assert.are.equal(fake.url .. "/api/v4/", next_url:sub(1, #fake.url + 8))
    local more = assert(c:list(4, { next_url = next_url }))
    assert.are.equal(5, #more)
  end)

  it("refuses a keep_base_url that is not a boolean", function()
    fake.raises(function() fake.client({ keep_base_url = "yes" }) end, "bad argument #1 to 'new'", "keep_base_url")
    assert.truthy(gitlab.new({ url = fake.url, keep_base_url = false }))
  end)
end)
