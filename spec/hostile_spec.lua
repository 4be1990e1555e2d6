-- Hostile answers: bodies cut short or reset, HTML, JSON nested very deep,
-- enormous headers, slow drips, bodies past max_body and log bytes that are
-- not UTF-8. Each gives a plain nil, err (or the right value), never a crash.
-- (The cases already in errors_spec.lua are not repeated here.)
local fake = require("fake")
local gitlab = require("gitlab.jobs")

local failed, client = fake.failed, fake.client

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = { math.floor(n / 262144), math.floor(n / 4096) % 64, math.floor(n / 64) % 64, n % 64 }
    for k = 1, 4 do
      if (k == 3 and not b) or (k == 4 and not c) then
        out[#out + 1] = "="
      else
        out[#out + 1] = B64:sub(d[k] + 1, d[k] + 1)
      end
    end
  end
  return table.concat(out)
end

local stream = fake.stream

describe("hostile answers", function()
  fake.each_spec()

  describe("cut short", function()
    it("a JSON body reset midway is a network error", function()
      local c = client()
      fake.fault{ path = "/jobs/1009$", kind = "reset_mid_body" }
      local err = failed(c:get(1, 1009))
      assert.are.equal("network", err.kind)
      assert.are.equal("/projects/1/jobs/1009", err.path)
      assert.are.equal(1, err.attempts)
    end)

    for _, kind in ipairs({ "reset_mid_body", "truncate" }) do
      it("a log " .. kind .. " is a network error, never a shorter log", function()
        local c = client()
        fake.set_job(1009, { log_size = 200000 })
        local log = assert(c:trace(1, 1009))
        fake.fault{ path = "/trace$", kind = kind, bytes = 80000 }
        local err = failed(c:trace(1, 1009))
        assert.are.equal("network", err.kind)
        assert.are.equal("/projects/1/jobs/1009/trace", err.path)

        fake.fault{ path = "/trace$", kind = kind, bytes = 80000 }
        local n, serr, got = stream(c, 1, 1009)
        failed(n, serr)
        assert.are.equal("network", serr.kind)
        -- what the sink got before the cut is the log's start, nothing else
        assert.is_true(#got <= 80000, tostring(#got))
        assert.is_true(got == log:sub(1, #got), "the sink got bytes that are not the log's")
      end)
    end
  end)

  describe("not the JSON promised", function()
    it("a deep JSON error body on a 500 gives the status, a bounded message and body", function()
      local c = client()
      local bodies = {
        string.rep("[", 100000) .. string.rep("]", 100000),
        string.rep('{"message":', 50000) .. '"deep"' .. string.rep("}", 50000),
      }
      for _, body in ipairs(bodies) do
        fake.fault{ path = "/jobs/1009$", kind = "status", status = 500, body = body }
        local err = failed(c:get(1, 1009))
        assert.are.equal("http", err.kind)
        assert.are.equal(500, err.status)
        assert.are.equal(1, tostring(err):find("GET /projects/1/jobs/1009: 500 Internal Server Error", 1, true))
        assert.is_true(#err.message <= 512, tostring(#err.message))
        assert.are.equal(4096, #err.body)
        assert.are.equal(body:sub(1, 4096), err.body)
      end
    end)

    it("deep JSON objects in a 200 are a decode error", function()
      local c = client()
      fake.fault{ path = "/jobs/1009$", kind = "status", status = 200,
                  body = string.rep('{"a":', 100000) .. "1" .. string.rep("}", 100000) }
      local err = failed(c:get(1, 1009))
      assert.are.equal("decode", err.kind)
      assert.is_nil(err.status)
    end)

    it("a job that is not a JSON object is a decode error", function()
      local c = client()
      for _, body in ipairs({ "", "null", '"a string"', "42", "true" }) do
        fake.fault{ path = "/jobs/1009$", kind = "status", status = 200, body = body }
        local err = failed(c:get(1, 1009))
        assert.are.equal("decode", err.kind)
      end
    end)

    it("a list that is not a JSON array is a decode error", function()
      local c = client()
      for _, body in ipairs({ "null", '"jobs"', "7" }) do
        fake.fault{ path = "/jobs$", kind = "status", status = 200, body = body }
        local err = failed(c:list(1))
        assert.are.equal("decode", err.kind)
      end
    end)
  end)

  describe("enormous headers", function()
    it("past what any server sends are a network error", function()
      local c = client()
      fake.fault{ path = "/jobs/1009$", kind = "huge_headers", size = 2 * 1024 * 1024 }
      local err = failed(c:get(1, 1009))
      assert.are.equal("network", err.kind)
      assert.matches("header", err.message:lower(), 1, true)
    end)

    it("once, then a good answer: the retry reads it", function()
      local c = client{ retries = { max = 1, base_delay = 0.1 }, sleep = function() end }
      fake.fault{ path = "/jobs/1009$", kind = "huge_headers", size = 2 * 1024 * 1024 }
      assert.are.equal(1009, assert(c:get(1, 1009)).id)
      assert.are.equal(2, #fake.requests())
    end)
  end)

  describe("a slow drip", function()
    it("still works within the timeout", function()
      local c = client{ timeout = 10 }
      local log = assert(c:trace(1, 1009))
      fake.fault{ path = "/jobs/1009$", kind = "drip", delay = 0.01, chunk = 100 }
      assert.are.equal(1009, assert(c:get(1, 1009)).id)
      fake.fault{ path = "/trace$", kind = "drip", delay = 0.01, chunk = 100 }
      local n, err, got = stream(c, 1, 1009)
      assert.is_nil(err)
      assert.are.equal(#log, n)
      assert.are.equal(log, got)
      local reqs = fake.requests()
      assert.are.equal("drip", reqs[2].fault)
      assert.are.equal("drip", reqs[3].fault)
    end)

    it("that outlasts the timeout is a timeout", function()
      local c = client{ timeout = 0.3 }
      fake.fault{ path = "/jobs/1009$", kind = "drip", delay = 0.1, chunk = 16 }
      local err = failed(c:get(1, 1009))
      assert.are.equal("timeout", err.kind)
    end)
  end)

  describe("max_body", function()
    it("refuses a larger JSON body, without trying again", function()
      local c = client{ max_body = 65536, retries = { max = 3, base_delay = 0.1 }, sleep = function() end }
      fake.fault{ path = "/jobs/1009$", kind = "big_body", size = 200000, count = -1 }
      local err = failed(c:get(1, 1009))
      assert.are.equal("decode", err.kind)
      assert.matches("max_body", err.message, 1, true)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, #fake.requests())
    end)

    it("is 64 MiB by default", function()
      local c = gitlab.new{ url = fake.url, token = fake.TOKEN }
      fake.track(c)
      fake.fault{ path = "/jobs/1009$", kind = "big_body", size = 64 * 1024 * 1024 + 2 }
      local err = failed(c:get(1, 1009))
      assert.are.equal("decode", err.kind)
      assert.matches("max_body (67108864 bytes)", err.message, 1, true)
    end)

    it("does not cap a streamed log", function()
      local size = 1000000
      fake.set_job(1009, { log_size = size })
      local log = assert(client():trace(1, 1009))
      assert.are.equal(size, #log)
      local small = client{ max_body = 65536 }
      local n, err, got = stream(small, 1, 1009)
      assert.is_nil(err)
      assert.are.equal(size, n)
      assert.is_true(got == log, "the streamed log differs")
      -- while a JSON answer past the same max_body is refused
      fake.fault{ path = "/jobs$", kind = "big_body", size = 100000 }
      assert.are.equal("decode", failed(small:list(1)).kind)
    end)
  end)

  describe("log bytes that are not UTF-8", function()
    it("pass through untouched (job 1014)", function()
      local c = client()
      local log = assert(c:trace(1, 1014))
      assert.are.equal(fake.control("GET", "/jobs/1014").log_size, #log)
      assert.is_truthy(log:find("\255\254\0garbage\128\129 after invalid bytes\n", 1, true))
      assert.is_truthy(log:find("latin-1 text: caf\233 na\239ve\n", 1, true))
      assert.is_truthy(log:find("truncated sequence: \226\130\n", 1, true))
      local n, err, got = stream(c, 1, 1014)
      assert.is_nil(err)
      assert.are.equal(#log, n)
      assert.is_true(got == log, "the streamed log differs")
    end)

    it("every byte value passes through, streamed or not, from any offset", function()
      local bytes = {}
      for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
      local raw = table.concat(bytes):rep(3)
      fake.set_job(1009, { set_log_base64 = base64(raw) })
      local c = client()
      assert.is_true(assert(c:trace(1, 1009)) == raw, "the log differs")
      local n, err, got = stream(c, 1, 1009)
      assert.is_nil(err)
      assert.are.equal(#raw, n)
      assert.is_true(got == raw, "the streamed log differs")
      assert.is_true(assert(c:trace(1, 1009, { offset = 300 })) == raw:sub(301), "the log after the offset differs")
    end)
  end)

  it("never show a token in an error, whichever the client sent", function()
    local faults = {
      { path = "/jobs/1009$", kind = "reset_mid_body" },
      { path = "/jobs/1009$", kind = "huge_headers", size = 2 * 1024 * 1024 },
      { path = "/jobs/1009$", kind = "deep_json" },
      { path = "/jobs/1009$", kind = "status", status = 500, body = string.rep("[", 100000) },
      { path = "/jobs/1009$", kind = "big_body", size = 200000 },
      { path = "/trace$", kind = "truncate" },
    }
    local looked = 0
    for _, credential in ipairs(fake.CREDENTIALS) do
      local c = client(credential, { max_body = 65536 })
      for _, f in ipairs(faults) do
        fake.fault(f)
        if f.path == "/trace$" then failed(c:trace(1, 1009)) else failed(c:get(1, 1009)) end
        looked = looked + 1
      end
    end
    assert.are.equal(#fake.CREDENTIALS * #faults, looked)
  end)
end)
