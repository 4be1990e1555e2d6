-- The transport hook: a host's own HTTP in place of libcurl. These specs
-- stand in for the network on purpose; everything else talks to the fake GitLab.
-- The client sends the fake's token, so that each error is checked for it.
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local socket = require("socket")

local JOB = '{"id":1002,"name":"rspec","status":"failed","runner":null,'
  .. '"duration":0.25,"tag_list":["docker","linux"],"pipeline":{"id":101,"project_id":1}}'

local function recorder(res, msg)
  local seen = {}
  local function transport(req)
    seen[#seen + 1] = req
    if type(res) == "function" then return res(req, #seen) end
    return res, msg
  end
  return transport, seen
end

local function client(transport, opts)
  local o = { url = "https://gitlab.example.com/", token = fake.TOKEN, transport = transport,
              retries = { max = 0 } }
  for k, v in pairs(opts or {}) do o[k] = v end
  return gitlab.new(o)
end

describe("a transport", function()
  it("receives the request as plain fields", function()
    local t, seen = recorder({ status = 200, headers = { ["content-type"] = "application/json" }, body = JOB })
    local c = client(t)
    local job = assert(c:get("acme/platform/api", 1002))
    assert.are.equal(1, #seen)
    local req = seen[1]
    assert.are.equal("GET", req.method)
    assert.are.equal("https://gitlab.example.com/api/v4/projects/acme%2Fplatform%2Fapi/jobs/1002", req.url)
    assert.are.equal(fake.TOKEN, req.headers["PRIVATE-TOKEN"])
    assert.are.equal("application/json", req.headers["Accept"])
    assert.are.equal("gitlab-jobs/" .. gitlab.VERSION, req.headers["User-Agent"])
    assert.is_nil(req.body)
    assert.are.equal(1002, job.id)
    assert.are.equal("failed", job.status)
  end)

  it("gets JSON null as nil and integral numbers as integers", function()
    local t = recorder({ status = 200, headers = {}, body = JOB })
    local job = assert(client(t):get(1, 1002))
    assert.is_nil(job.runner)
    assert.are.equal("1002", tostring(job.id))
    assert.are.equal("101", tostring(job.pipeline.id))
    assert.are.equal(0.25, job.duration)
    assert.are.same({ "docker", "linux" }, job.tag_list)
  end)

  it("sends play variables as a JSON body", function()
    local t, seen = recorder({ status = 200, headers = {}, body = JOB })
    assert(client(t):play(1, 7, { variables = { B = "two", A = 'quote " and \\ and \n' } }))
    local req = seen[1]
    assert.are.equal("POST", req.method)
    assert.are.equal("application/json", req.headers["Content-Type"])
    assert.are.equal('{"job_variables_attributes":[{"key":"A","value":"quote \\" and \\\\ and \\n"},'
      .. '{"key":"B","value":"two"}]}', req.body)
  end)

  it("reads the page table from headers of any case", function()
    local t = recorder({ status = 200, body = "[]", headers = {
      ["X-Page"] = "2", ["x-per-page"] = "20", ["X-NEXT-PAGE"] = "", ["x-prev-page"] = "1",
      ["x-total"] = "40", ["x-total-pages"] = "2",
      link = '<https://gitlab.example.com/api/v4/projects/1/jobs?page=1&per_page=20>; rel="prev", '
        .. '<https://gitlab.example.com/api/v4/projects/1/jobs?page=1&per_page=20>; rel="first"',
    } })
    local jobs, page = client(t):list(1, { page = 2 })
    assert.are.same({}, jobs)
    assert.are.same({ page = 2, per_page = 20, prev_page = 1, total = 40, total_pages = 2 }, page)
  end)

  it("joins a header given as a list", function()
    local t = recorder({ status = 200, body = "[]", headers = {
      link = { '<https://h/api/v4/x?cursor=a>; rel="next"', '<https://h/api/v4/x?page=1>; rel="first"' },
    } })
    local _, page = client(t):list(1)
    assert.are.equal("https://h/api/v4/x?cursor=a", page.next_url)
  end)

  it("turns nil, msg into a network error", function()
    local t = recorder(nil, "connection refused by the host")
    local err = fake.failed(client(t):get(1, 5))
    assert.are.equal("network", err.kind)
    assert.are.equal("connection refused by the host", err.message)
    assert.are.equal("GET", err.method)
    assert.are.equal("/projects/1/jobs/5", err.path)
    assert.are.equal("GET /projects/1/jobs/5: connection refused by the host", tostring(err))
  end)

  it("reports a POST that failed in the transport as maybe done", function()
    local err = fake.failed(client(recorder(nil, "reset")):retry(1, 5))
    assert.are.equal("network", err.kind)
    assert.is_true(err.maybe_done)
    assert.matches("may have happened", tostring(err))
  end)

  it("maps an error answer to an error object", function()
    local t = recorder({ status = 403, headers = { ["content-type"] = "application/json" },
                         body = '{"message":"403 Forbidden - Job is not retryable"}' })
    local err = fake.failed(client(t):retry(1, 42))
    assert.are.equal("http", err.kind)
    assert.are.equal(403, err.status)
    assert.are.equal("403 Forbidden - Job is not retryable", err.message)
    assert.are.equal("POST /projects/1/jobs/42/retry: 403 Forbidden - Job is not retryable", tostring(err))
    assert.is_nil(err.maybe_done)
  end)

  it("rejects a response without a status", function()
    local err = fake.failed(client(recorder({ body = "{}" })):get(1, 1))
    assert.are.equal("network", err.kind)
    assert.matches("status", err.message)
  end)

  it("lets the transport's own error through and leaves the client usable", function()
    local calls = 0
    local c = client(function()
      calls = calls + 1
      if calls == 1 then error("transport bug") end
      return { status = 200, body = JOB }
    end)
    assert.has_error(function() c:get(1, 1) end)
    assert.are.equal(1002, (assert(c:get(1, 1))).id)
  end)

  it("streams a trace to a sink from the offset", function()
    local t = recorder({ status = 200, headers = { ["content-type"] = "text/plain" }, body = "0123456789" })
    local got = {}
    local n = assert(client(t):trace(1, 3, { offset = 4, sink = function(s) got[#got + 1] = s end }))
    assert.are.equal(6, n)
    assert.are.equal("456789", table.concat(got))
    assert.are.equal("6789", client(t):trace(1, 3, { offset = 6 }))
    assert.are.equal("", client(t):trace(1, 3, { offset = 60 }))
  end)

  it("does not call the sink for an error answer", function()
    local t = recorder({ status = 404, body = '{"message":"404 Not found"}' })
    local called = false
    local err = fake.failed(client(t):trace(1, 3, { sink = function() called = true end }))
    assert.are.equal(404, err.status)
    assert.is_false(called)
  end)

  it("may use its own client from inside: each call has its own state", function()
    local c
    c = client(function(req)
      if req.url:find("/jobs/1$") then
        local inner = assert(c:get(1, 2))
        return { status = 200, body = ('{"id":1,"inner":%d}'):format(inner.id) }
      end
      return { status = 200, body = '{"id":2}' }
    end)
    local job = assert(c:get(1, 1))
    assert.are.equal(2, job.inner)
  end)

  it("may yield, as a host's sockets do, and so may the client's sleep", function()
    local c = client(function(req)
      return coroutine.yield("transport", req)
    end, { retries = { max = 1 }, sleep = function(s) coroutine.yield("sleep", s) end })
    local co = coroutine.create(function() return c:get(1, 1002) end)
    local ok, what, req = coroutine.resume(co)
    assert.is_true(ok)
    assert.are.equal("transport", what)
    assert.are.equal("https://gitlab.example.com/api/v4/projects/1/jobs/1002", req.url)
    local secs
    ok, what, secs = coroutine.resume(co, { status = 503, headers = { ["retry-after"] = "2" }, body = "" })
    assert.is_true(ok)
    assert.are.equal("sleep", what)
    assert.are.equal(2, secs)
    ok, what = coroutine.resume(co)
    assert.is_true(ok)
    assert.are.equal("transport", what)
    local job
    ok, job = coroutine.resume(co, { status = 200, body = JOB })
    assert.is_true(ok, tostring(job))
    assert.are.equal(1002, job.id)
    assert.are.equal("dead", coroutine.status(co))
  end)

  it("waits for RateLimit-Reset through the client's sleep before the next request", function()
    local slept = {}
    local reset = os.time() + 20
    local t, seen = recorder({ status = 200, body = JOB,
                               headers = { ["RateLimit-Remaining"] = "0", ["RateLimit-Reset"] = tostring(reset) } })
    local c = client(t, { sleep = function(s) slept[#slept + 1] = s end })
    assert(c:get(1, 1))
    assert.are.same({}, slept)
    local before = socket.gettime()
    assert(c:get(1, 1))
    local after = socket.gettime()
    assert.are.equal(1, #slept)
    -- counted when the second call began
    fake.assert_between(slept[1], reset - after, reset - before, "the wait")
    assert.are.equal(2, #seen)
  end)

  it("gets bad arguments raised as its own call would raise them, sending nothing", function()
    local t, seen = recorder({ status = 200, body = JOB })
    local c = client(t)
    local msg = select(2, pcall(function() c:get(1, "1002") end))
    assert.matches("bad argument #2 to 'get' %(job_id: positive integer expected", msg)
    msg = select(2, pcall(function() c:list(1, { scope = "nope" }) end))
    assert.matches("bad argument #2 to 'list' %(scope: unknown status 'nope'%)", msg)
    msg = select(2, pcall(function() c:start("get", 1, 0, function() end) end))
    assert.matches("bad argument #3 to 'start' %(job_id", msg)
    assert.are.equal(0, #seen)
  end)

  it("retries a GET on 503 through the client's sleep, honouring Retry-After", function()
    local slept = {}
    local t, seen = recorder(function(_, n)
      if n < 3 then return { status = 503, headers = { ["retry-after"] = "7" }, body = "busy" } end
      return { status = 200, body = JOB }
    end)
    local c = client(t, { retries = { max = 3 }, sleep = function(s) slept[#slept + 1] = s end })
    assert(c:get(1, 1))
    assert.are.equal(3, #seen)
    assert.are.same({ 7, 7 }, slept)
  end)

  it("never sends a POST again after the transport failed", function()
    local t, seen = recorder(nil, "timed out")
    local c = client(t, { retries = { max = 3 }, sleep = function() end })
    local err = fake.failed(c:cancel(1, 1))
    assert.are.equal(1, #seen)
    assert.are.equal(1, err.attempts)
    assert.is_true(err.maybe_done)
  end)
end)

describe("a response with no headers at all", function()
  -- found by the fuzzer: reading pagination headers of an answer that had none
  it("gives an empty page table", function()
    local c = client(function() return { status = 200, body = "[]" } end)
    local jobs, page = c:list(1)
    assert.are.same({}, jobs)
    assert.are.same({}, page)
  end)

  it("gives an error object without retry_after", function()
    local c = client(function() return { status = 429, body = "" } end)
    local err = fake.failed(c:list(1))
    assert.are.equal(429, err.status)
    assert.is_nil(err.retry_after)
    assert.are.equal("429 Too Many Requests", err.message)
  end)
end)
