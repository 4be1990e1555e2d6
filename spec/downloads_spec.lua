-- Downloads of artifacts, against the fake's real zip archives: bytes exact,
-- written atomically under every fault, resumed with Range (or skipped
-- without), through object storage with no token there, with progress
-- monotone up to the total; and the keep and delete calls.
local fake = require("fake")
local http, ltn12 = require("socket.http"), require("ltn12")

-- The fake's own bytes, read past the client.
local function control_bytes(path)
  local out = {}
  local _, code = http.request{ url = fake.url .. "/__control" .. path, sink = ltn12.sink.table(out) }
  assert(code == 200, path .. ": " .. tostring(code))
  return table.concat(out)
end
local function archive(job) return control_bytes(("/jobs/%d/artifacts/archive"):format(job)) end
local function escape_path(p)
  return (p:gsub("[^/%w%-%._~]", function(ch) return ("%%%02X"):format(ch:byte()) end))
end
local function member(job, p) return control_bytes(("/jobs/%d/artifacts/file/%s"):format(job, escape_path(p))) end

local read_file = fake.read_file

local dir
-- The names in the download directory (temporary files included).
local function listing()
  local out = {}
  local p = io.popen("ls -A " .. dir)
  for name in p:lines() do out[#out + 1] = name end
  p:close()
  table.sort(out)
  return out
end

local function progress_log()
  local calls = {}
  return calls, function(done, total) calls[#calls + 1] = { done, total } end
end

-- on_progress went up, never down, and ended at the total.
local function assert_progress(calls, total)
  assert.is_true(#calls >= 2, "on_progress called " .. #calls .. " times")
  for i = 2, #calls do
    assert.is_true(calls[i][1] >= calls[i - 1][1], "progress went back at call " .. i)
  end
  assert.are.same({ total, total }, calls[#calls])
end

local function no_token(r)
  for _, h in ipairs({ "private-token", "job-token", "authorization" }) do
    assert.is_nil(r.headers[h], ("%s reached the %s listener"):format(h, r.listener))
  end
end

describe("a download", function()
  local c
  fake.each_spec(function()
    c = fake.client({ retries = { max = 3, base_delay = 0.001, max_delay = 0.001 } })
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  it("returns the archive's bytes whole, exactly the fake's", function()
    local want = archive(1008)
    assert.are.equal("PK", want:sub(1, 2))
    assert.are.equal(want, c:artifacts(1, 1008))
    assert.are.equal(archive(1001), c:artifacts("acme/platform/api", 1001))
  end)

  it("streams the archive to a sink, each byte once, and returns the count", function()
    local want = archive(1008)
    local chunks = {}
    assert.are.equal(#want, c:artifacts(1, 1008, { sink = function(s) chunks[#chunks + 1] = s end }))
    assert.are.equal(want, table.concat(chunks))
  end)

  it("writes the archive to a file, with progress up to the total, leaving nothing else", function()
    local want = archive(1008)
    local calls, on_progress = progress_log()
    local path = dir .. "/a.zip"
    assert.are.equal(#want, c:artifacts(1, 1008, { path = path, on_progress = on_progress }))
    assert.are.equal(want, read_file(path))
    assert.are.same({ "a.zip" }, listing())
    assert_progress(calls, #want)
  end)

  it("gets one file out of the archive, its path escaped segment by segment", function()
    for _, p in ipairs({ "reports/junit.xml", "reports/100% a+b #1?.txt", "docs/café menu.txt",
                         "build/lib/plugins/http/handler.so" }) do
      assert.are.equal(member(1008, p), c:artifact(1, 1008, p))
    end
  end)

  it("by ref: the job of the newest successful pipeline of that ref, the ref one segment", function()
    assert.are.equal(archive(6005), c:artifacts_by_ref(6, "release/1.2", "pages"))
    assert.are.equal(archive(6010), c:artifacts_by_ref("acme/platform/docs", "main", "pages"))
    local text = c:artifact_by_ref(6, "main", "pages", "public/build.txt")
    assert.are.equal(member(6010, "public/build.txt"), text)
    assert.truthy(text:find("6010", 1, true))
    local err = fake.failed(c:artifacts_by_ref(6, "release/1.2", "pdf"))
    assert.are.equal(404, err.status)
  end)

  it("that fails leaves no file, and an existing file untouched", function()
    local path = dir .. "/keep.zip"
    local f = assert(io.open(path, "wb"))
    f:write("old contents")
    f:close()
    for _, call in ipairs({
      function(opts) return c:artifacts(1, 1002, opts) end,                  -- no archive: 404
      function(opts) return c:artifact(1, 1008, "no/such/file", opts) end,   -- not in the archive
      function(opts) return c:artifacts_by_ref(6, "main", "linkcheck", opts) end,
    }) do
      local err = fake.failed(call({ path = path }))
      assert.are.equal(404, err.status)
      assert.are.equal("old contents", read_file(path))
      local err2 = fake.failed(call({ path = dir .. "/new.zip" }))
      assert.are.equal(404, err2.status)
      assert.are.same({ "keep.zip" }, listing())
    end
  end)

  it("cut short under every fault, retries exhausted: no file, no temporary file, a clean error", function()
    local once = fake.client({ retries = { max = 0 } })
    local path = dir .. "/a.zip"
    for _, f in ipairs({
      { kind = "reset_mid_body", bytes = 5000 }, { kind = "truncate", bytes = 5000 },
      { kind = "reset" }, { kind = "status", status = 502 }, { kind = "html", status = 503 },
      { kind = "stall", delay = 0.5 },
    }) do
      f.path = "/jobs/1008/artifacts$"
      fake.fault(f)
      local stalled = fake.client({ retries = { max = 0 }, timeout = 0.2 })
      local err = fake.failed((f.kind == "stall" and stalled or once):artifacts(1, 1008, { path = path }))
      assert.truthy(err.kind, f.kind)
      assert.are.same({}, listing(), f.kind .. " left something behind")
      stalled:close()
    end
    -- and nothing of a failed answer ever reached a sink
    fake.fault({ path = "/jobs/1008/artifacts$", kind = "status", status = 500, body = "oops" })
    local got = {}
    fake.failed(once:artifacts(1, 1008, { sink = function(s) got[#got + 1] = s end }))
    assert.are.same({}, got)
  end)

  it("a file that cannot be written is an io error, with nothing left behind", function()
    local err = fake.failed(c:artifacts(1, 1008, { path = dir .. "/no/such/dir/a.zip" }))
    assert.are.equal("io", err.kind)
    assert.matches("no/such/dir", err.message)
    local f = assert(io.open(dir .. "/plain", "wb")) -- a file where a directory should be
    f:close()
    local err2 = fake.failed(c:artifacts(1, 1008, { path = dir .. "/plain/a.zip" }))
    assert.are.equal("io", err2.kind)
    assert.are.same({ "plain" }, listing())
  end)

  for _, honoured in ipairs({ true, false }) do
    local how = honoured and "from where it stopped (Range, 206)" or "from the start, delivered bytes skipped (200)"
    it(("cut short, resumes %s: each byte once, to a sink and to a file"):format(how), function()
      fake.config({ ranges = { archive = honoured } })
      local want = archive(1008)
      for _, mode in ipairs({ "sink", "path" }) do
        fake.clear_requests()
        fake.fault({ path = "/jobs/1008/artifacts$", kind = "reset_mid_body", bytes = 20000 })
        local chunks, calls, on_progress = {}, progress_log()
        local opts = { on_progress = on_progress }
        if mode == "sink" then
          opts.sink = function(s) chunks[#chunks + 1] = s end
        else
          opts.path = dir .. "/a.zip"
        end
        assert.are.equal(#want, c:artifacts(1, 1008, opts))
        assert.are.equal(want, mode == "sink" and table.concat(chunks) or read_file(opts.path))
        assert_progress(calls, #want)
        local reqs = fake.requests_to("GET", "/artifacts$")
        assert.are.equal(2, #reqs)
        assert.is_nil(reqs[1].headers.range)
        assert.matches("^bytes=%d+%-$", reqs[2].headers.range)
        assert.are.equal(honoured and 206 or 200, reqs[2].status)
      end
    end)
  end

  it("follows GitLab.com's redirect to object storage: no token there, its signed query intact", function()
    fake.config({ object_storage = true })
    local want = archive(1008)
    local path = dir .. "/a.zip"
    assert.are.equal(#want, c:artifacts(1, 1008, { path = path }))
    assert.are.equal(want, read_file(path))
    assert.are.equal(archive(6010), c:artifacts_by_ref(6, "main", "pages"))
    local storage = 0
    for _, r in ipairs(fake.requests()) do
      if r.listener == "storage" then
        storage = storage + 1
        no_token(r)
        assert.are.equal(200, r.status) -- the signature matched: the query went as given
        assert.truthy(r.query:find("X-Amz-Signature=", 1, true))
      end
    end
    assert.are.equal(2, storage)
  end)

  it("cut short at object storage, resumes there with Range, still with no token", function()
    fake.config({ object_storage = true })
    fake.fault({ listener = "storage", kind = "reset_mid_body", bytes = 30000 })
    local want = archive(1008)
    local chunks = {}
    assert.are.equal(#want, c:artifacts(1, 1008, { sink = function(s) chunks[#chunks + 1] = s end }))
    assert.are.equal(want, table.concat(chunks))
    local ranged = 0
    for _, r in ipairs(fake.requests()) do
      if r.listener == "storage" then
        no_token(r)
        if r.headers.range then ranged = ranged + 1 end
      end
    end
    assert.are.equal(1, ranged)
  end)

  it("returned whole is held to max_body, a log's too (what is kept counts); a sink or path has no cap", function()
    fake.set_job(1009, { artifacts_size = 300000 })
    fake.set_job(1001, { log_size = 300000 })
    local small = fake.client({ max_body = 100000 })
    for _, call in ipairs({ function(o) return small:artifacts(1, 1009, o) end,
                            function(o) return small:trace(1, 1001, o) end }) do
      local err = fake.failed(call())
      assert.are.equal("decode", err.kind)
      assert.matches("max_body", err.message)
      local n = 0
      assert.are.equal(300000, call({ sink = function(s) n = n + #s end }))
      assert.are.equal(300000, n)
    end
    assert.are.equal(300000, small:artifacts(1, 1009, { path = dir .. "/big.zip" }))
    assert.are.equal(archive(1009), read_file(dir .. "/big.zip"))
    assert.are.equal(90000, #small:trace(1, 1001, { offset = 210000 }))
  end)

  it("runs started and in batch, and through a Lua transport (which gets the body whole)", function()
    local want = archive(1008)
    local got
    c:start("artifacts", 1, 1008, { path = dir .. "/s.zip" }, function(n, e) got = { n, e } end)
    while c:poll(0.5) > 0 do end
    assert.are.equal(#want, got[1])
    assert.are.equal(want, read_file(dir .. "/s.zip"))
    local out = c:batch({ { "artifact", 1, 1008, "reports/junit.xml" }, { "artifacts", 1, 1002 } })
    assert.are.equal(member(1008, "reports/junit.xml"), out[1].value)
    assert.are.equal(404, out[2].err.status)
    local t = fake.client({ transport = fake.socket_transport })
    local chunks = {}
    assert.are.equal(#want, t:artifacts(1, 1008, { sink = function(s) chunks[#chunks + 1] = s end }))
    assert.are.equal(want, table.concat(chunks))
    assert.are.equal(want, t:artifacts(1, 1008))
  end)
end)

describe("keep and delete", function()
  local c
  fake.each_spec(function() c = fake.client({ retries = { max = 2, base_delay = 0.001, max_delay = 0.001 } }) end)

  it("keep_artifacts clears the expiry and returns the job", function()
    assert.truthy(fake.job(1001).job.artifacts_expire_at)
    local job = c:keep_artifacts(1, 1001)
    assert.are.equal(1001, job.id)
    assert.is_nil(job.artifacts_expire_at)
    assert.are.equal(404, fake.failed(c:keep_artifacts(1, 1002)).status)
  end)

  it("delete_artifacts returns true, and the archive is gone", function()
    assert.is_true(c:delete_artifacts(1, 1008))
    assert.are.equal(404, fake.failed(c:artifacts(1, 1008)).status)
    assert.is_nil(fake.job(1008).job.artifacts_file)
  end)

  it("delete_project_artifacts returns true (202, the server deletes)", function()
    assert.is_true(c:delete_project_artifacts(6))
    assert.are.equal(404, fake.failed(c:artifacts(6, 6001)).status)
  end)

  it("a DELETE is retried like a GET: after a 502, and after a lost answer", function()
    fake.fault({ method = "DELETE", path = "/jobs/1008/artifacts$", kind = "status", status = 502 })
    assert.is_true(c:delete_artifacts(1, 1008))
    fake.fault({ method = "DELETE", path = "/projects/6/artifacts$", kind = "reset", apply = true })
    assert.is_true(c:delete_project_artifacts(6))
    assert.are.equal(2, #fake.requests_to("DELETE", "/projects/6/artifacts$"))
    -- the job's archive went with the lost answer: the retry's 404 comes back as it is
    fake.fault({ method = "DELETE", path = "/jobs/1001/artifacts$", kind = "reset", apply = true })
    fake.set_job(1001, { artifacts_remove = false })
    local ok, err = c:delete_artifacts(1, 1001)
    if not ok then
      assert.are.equal(404, err.status)
      assert.is_true(err.attempts > 1)
    end
  end)
end)

describe("a log read past its offset", function()
  local c
  fake.each_spec(function()
    c = fake.client()
    fake.config({ ranges = { trace = true } })
  end)

  it("asks only for the rest: 206 is the rest, 416 nothing new, 200 the whole (skipped)", function()
    local whole = c:trace(1, 1008)
    assert.are.equal(whole:sub(101), c:trace(1, 1008, { offset = 100 }))
    assert.are.equal("", c:trace(1, 1008, { offset = #whole }))
    assert.are.equal(0, c:trace(1, 1008, { offset = #whole + 5, sink = function() error("no bytes") end }))
    local reqs = fake.requests_to("GET", "/trace$")
    assert.is_nil(reqs[1].headers.range)
    assert.are.equal("bytes=100-", reqs[2].headers.range)
    assert.are.equal(206, reqs[2].status)
    assert.are.equal(416, reqs[3].status)
    fake.config({ ranges = { trace = false } })
    assert.are.equal(whole:sub(101), c:trace(1, 1008, { offset = 100 }))
    assert.are.equal(200, fake.requests_to("GET", "/trace$")[5].status)
  end)

  it("followed, crosses the wire once: every read starts where the last one ended", function()
    local steps = {}
    for i = 1, 6 do steps[i] = { status = "running", append_log = ("line %d of the log\n"):format(i) } end
    steps[#steps + 1] = { status = "success", append_log = "done\n" }
    fake.script(1016, { steps = steps })
    local clk = fake.clock()
    local chunks, had = {}, {}
    local f = fake.client({ clock = clk.clock, sleep = function(s)
      had[#had + 1] = #table.concat(chunks) -- what the client holds before its next read
      clk.sleep(s)
    end })
    assert(f:follow(1, 1016, { on_chunk = function(s) chunks[#chunks + 1] = s end }))
    local log = table.concat(chunks)
    assert.are.equal(fake.job(1016).log_size, #log)
    local reads = fake.requests_to("GET", "/trace$")
    assert.are.equal(#had + 1, #reads)
    assert.are.equal("bytes=0-", reads[1].headers.range)
    for k = 2, #reads do
      assert.are.equal(("bytes=%d-"):format(had[k - 1]), reads[k].headers.range, "read " .. k)
      assert.is_true(reads[k].status == 206 or reads[k].status == 416, "status " .. reads[k].status)
    end
  end)
end)
