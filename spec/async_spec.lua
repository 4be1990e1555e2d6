-- start, poll and batch: calls that do not block the caller.
local fake = require("fake")
local socket = require("socket")

-- Each spec's client has a user agent of its own, and only its requests count:
-- nothing a spec before it left on the wire can be mistaken for its own.
local agents = setmetatable({}, { __mode = "k" })
local function new_client(opts)
  local o = { user_agent = ("async-spec/%d"):format(math.random(1, 1e9)) }
  for k, v in pairs(opts or {}) do o[k] = v end
  local c = fake.client(o)
  agents[c] = o.user_agent
  return c
end

local function sent(c)
  local ua = agents[c]
  local out = {}
  for _, r in ipairs(fake.requests()) do
    if r.headers["user-agent"] == ua then out[#out + 1] = r end
  end
  return out
end

local function poll_until_done(c, limit)
  local left
  for _ = 1, limit or 100 do
    left = c:poll(0.1)
    if left == 0 then return 0 end
  end
  return left
end

-- Polls c with poll(timeout), a hundredth of a second apart, until no call is
-- left; returns how many of those polls came back, a call still pending,
-- while the requests of c the fake had received made waiting(requests) true.
local function polls_while(c, timeout, waiting)
  local n = 0
  for _ = 1, 3000 do
    local left = c:poll(timeout)
    if left == 0 then return n end
    if waiting(sent(c)) then n = n + 1 end
    socket.sleep(0.01)
  end
  error("the started calls never finished")
end

describe("client:start and client:poll", function()
  local c
  fake.each_spec(function() c = new_client() end)

  it("sends nothing until poll, then runs the callback with the call's values", function()
    local got = {}
    local h = c:start("get", 1, 1009, function(job, extra) got = { job = job, extra = extra } end)
    assert.is_userdata(h)
    assert.are.same({}, sent(c))
    assert.are.equal(0, poll_until_done(c))
    assert.are.equal("unit-tests", got.job.name)
    assert.is_nil(got.extra)
    assert.are.equal(1, #sent(c))
  end)

  it("gives a list call its page table", function()
    local jobs, page
    c:start("list", "acme/platform/api", { per_page = 5 }, function(j, p) jobs, page = j, p end)
    poll_until_done(c)
    assert.are.equal(5, #jobs)
    assert.are.equal(2, page.next_page)
  end)

  it("gives the callback nil and the error on failure", function()
    local value, err = "unset", nil
    c:start("retry", 1, 1012, function(v, e) value, err = v, e end)
    poll_until_done(c)
    fake.failed(value, err)
    assert.are.equal(403, err.status)
    assert.are.equal("POST /projects/1/jobs/1012/retry: 403 Forbidden - Job is not retryable", tostring(err))
  end)

  it("raises on bad arguments at start, naming them, and sends nothing", function()
    fake.raises(function() c:start("get", 1, "1009", function() end) end, "job_id")
    fake.raises(function() c:start("list", 1, { scope = "nope" }, function() end) end, "scope")
    fake.raises(function() c:start("explode", 1, function() end) end, "explode")
    fake.raises(function() c:start("get", 1, 1009) end, "callback")
    assert.are.equal(0, c:poll(0))
    assert.are.same({}, sent(c))
  end)

  it("runs many calls at once", function()
    fake.fault{ path = "/jobs/10(0[89]|10)$", kind = "stall", delay = 1, count = 3, apply = true }
    local done = 0
    for _, id in ipairs({ 1008, 1009, 1010 }) do
      c:start("get", 1, id, function() done = done + 1 end)
    end
    for _ = 1, 20 do
      c:poll(0.05)
      if #sent(c) == 3 then break end
    end
    -- all three arrived while each was still unanswered
    local reqs = sent(c)
    assert.are.equal(3, #reqs)
    assert.are.equal(0, done)
    poll_until_done(c)
    assert.are.equal(3, done)
  end)

  it("never blocks in poll(0)", function()
    local STALL = 5
    fake.fault{ path = "/jobs/1009$", kind = "stall", delay = STALL }
    local called = false
    c:start("get", 1, 1009, function() called = true end)
    for _ = 1, 500 do
      assert.are.equal(1, c:poll(0))
      if #sent(c) == 1 then break end
      socket.sleep(0.01)
    end
    local req = assert(sent(c)[1], "the request never reached the fake")
    assert.are.equal(1, c:poll(0))
    assert.are.equal(1, c:poll())
    assert.is_false(called)
    -- by the fake's own clock, the polls returned long before it would answer
    assert.is_true(fake.now() - req.time < STALL)
  end)

  it("stops a call with cancel; its callback never runs", function()
    local called = false
    local h = c:start("get", 1, 1009, function() called = true end)
    assert.is_true(h:cancel())
    assert.is_false(h:cancel())
    assert.are.equal(0, c:poll(0.1))
    assert.is_false(called)
    assert.are.same({}, sent(c))

    fake.fault{ path = "/jobs/1010$", kind = "stall", delay = 1 }
    local h2 = c:start("get", 1, 1010, function() called = true end)
    c:poll(0.1)
    assert.is_true(h2:cancel())
    assert.are.equal(0, c:poll(0))
    -- past the stall, when the call would have ended had it been kept
    assert.are.equal(0, c:poll(1.5))
    assert.is_false(called)
    assert.are.equal(1, #sent(c))
  end)

  it("streams a trace to a sink", function()
    local whole = assert(c:trace(1, 1008))
    local chunks, n = {}, nil
    c:start("trace", 1, 1008, { sink = function(s) chunks[#chunks + 1] = s end }, function(v) n = v end)
    poll_until_done(c)
    assert.are.equal(#whole, n)
    assert.are.equal(whole, table.concat(chunks))
  end)

  it("retries a GET after its Retry-After on its own timer, poll(0) returning meanwhile", function()
    local r = new_client{ retries = { max = 2, base_delay = 0.01, max_delay = 0.01 } }
    fake.fault{ path = "/jobs/1009$", kind = "status", status = 503, headers = { ["Retry-After"] = "2" } }
    local job
    r:start("get", 1, 1009, function(v) job = v end)
    local waiting = polls_while(r, 0, function(reqs) return #reqs == 1 and reqs[1].status == 503 end)
    assert.are.equal(1009, job.id)
    local reqs = sent(r)
    assert.are.equal(2, #reqs)
    assert.are.equal(503, reqs[1].status)
    assert.are.equal(200, reqs[2].status)
    -- the retry waited what the server asked, by the fake's clock ...
    assert.is_true(reqs[2].time - reqs[1].time >= 2, tostring(reqs[2].time - reqs[1].time))
    -- ... and poll(0) came back again and again while it did
    assert.is_true(waiting >= 5, "polls while the retry waited: " .. waiting)
  end)

  it("holds a started call after RateLimit-Remaining: 0 until the reset, poll returning meanwhile", function()
    fake.config{ rate_limit = { limit = 1, period = 2 } }
    local first, second
    c:start("get", 1, 1009, function(job)
      first = job
      c:start("get", 1, 1008, function(v, e) second = v or e end)
    end)
    -- poll(0.1): each returns after its tenth of a second, not when the call may go
    local waiting = polls_while(c, 0.1, function(reqs) return #reqs == 1 and reqs[1].status == 200 end)
    assert.are.equal(1009, first.id)
    assert.are.equal(1008, second.id)
    local reqs = sent(c)
    assert.are.equal(2, #reqs)
    -- the second went out once the window was over: no 429 spent
    assert.is_nil(reqs[2].fault)
    assert.are.equal(200, reqs[2].status)
    assert.is_true(reqs[2].time - reqs[1].time >= 2 - 1e-3, tostring(reqs[2].time - reqs[1].time))
    assert.is_true(waiting >= 5, "polls while the call was held: " .. waiting)
  end)

  it("raises when poll is called from a callback, and polls on afterwards", function()
    local inner
    c:start("get", 1, 1009, function() inner = { pcall(c.poll, c, 0) } end)
    assert.are.equal(0, poll_until_done(c))
    assert.is_false(inner[1])
    assert.matches("poll is already running", tostring(inner[2]), 1, true)
    local job
    c:start("get", 1, 1008, function(v) job = v end)
    assert.are.equal(0, poll_until_done(c))
    assert.are.equal(1008, job.id)
  end)

  it("leaves the pages fetched ahead of a loop left early to the next poll", function()
    local n = 0
    for _ in c:each("list", 2, { pagination = "offset", per_page = 5, concurrency = 2 }) do
      n = n + 1
      if n == 6 then break end -- the first job of page 2: page 3 was started with it
    end
    local function pages()
      local out = {}
      -- the first page goes alone, as the user asked for it (no page parameter)
      for i, r in ipairs(sent(c)) do out[i] = r.params.page and r.params.page[1] or "1" end
      table.sort(out) -- pages fetched together arrive in any order
      return out
    end
    local before = pages()
    assert.are.same({ "1", "2" }, { before[1], before[2] })
    assert.is_true(#before <= 3, "no page beyond the one fetched ahead")
    -- the page started ahead ends at a later poll, and nothing more is asked for
    assert.are.equal(0, poll_until_done(c))
    assert.are.same({ "1", "2", "3" }, pages())
    for _, r in ipairs(sent(c)) do assert.are.equal(200, r.status) end
  end)

  it("never sends a started POST twice", function()
    local r = new_client{ retries = { max = 3, base_delay = 0.01 } }
    fake.fault{ path = "/retry$", kind = "status", status = 502, apply = true }
    local value, err = "unset", nil
    r:start("retry", 1, 1009, function(v, e) value, err = v, e end)
    poll_until_done(r)
    fake.failed(value, err)
    assert.is_true(err.maybe_done)
    assert.are.equal(1, #sent(r))
  end)

  it("raises a callback's error from poll and goes on afterwards", function()
    c:start("get", 1, 1009, function() error("callback failed") end)
    local ok, err = pcall(poll_until_done, c)
    assert.is_false(ok)
    assert.matches("callback failed", tostring(err))
    local job
    c:start("get", 1, 1008, function(v) job = v end)
    poll_until_done(c)
    assert.are.equal(1008, job.id)
  end)

  it("lets a callback start another call", function()
    local second
    c:start("get", 1, 1009, function(job)
      c:start("get", 1, job.id - 1, function(j) second = j end)
    end)
    poll_until_done(c)
    assert.are.equal(1008, second.id)
  end)

  it("forgets running calls when the client is closed", function()
    local called = false
    c:start("get", 1, 1009, function() called = true end)
    c:close()
    fake.raises(function() c:poll(0) end, "closed")
    assert.is_false(called)
  end)

  it("finishes a call whose handle was dropped", function()
    local job
    c:start("get", 1, 1009, function(v) job = v end)
    collectgarbage()
    collectgarbage()
    poll_until_done(c)
    assert.are.equal(1009, job.id)
  end)

  it("works with a Lua transport", function()
    local seen = 0
    local t = new_client{ transport = function(req)
      seen = seen + 1
      return { status = 200, body = '{"id":7,"url":"' .. req.url .. '"}' }
    end }
    local job
    t:start("get", 1, 7, function(v) job = v end)
    assert.are.equal(0, seen)
    assert.are.equal(0, t:poll(0))
    assert.are.equal(7, job.id)
  end)
end)

-- A transport that hands each request to whoever resumes the coroutine that
-- made it, and a sleep that does the same: a host's sockets and timers.
local function yielding_client(slept)
  return new_client{
    transport = function(req) return coroutine.yield({ req = req }) end,
    sleep = function(s)
      slept[#slept + 1] = s
      coroutine.yield({ sleep = s })
    end,
    retries = { max = 1, base_delay = 0.1 },
  }
end

-- Sends req to the fake over a socket of its own.
local perform = fake.socket_transport

describe("many coroutines on one client", function()
  fake.each_spec()

  it("run their calls interleaved through a transport that yields", function()
    local slept = {}
    local c = yielding_client(slept)
    fake.fault{ path = "/jobs/1009$", kind = "status", status = 503, headers = { ["Retry-After"] = "3" } }
    local ids, got, cos, waits = { 1008, 1009, 1010 }, {}, {}, {}
    for i, id in ipairs(ids) do
      cos[i] = coroutine.create(function()
        local job = assert(c:get(1, id))
        local log = assert(c:trace(1, id))
        got[i] = { id = job.id, log = #log }
      end)
    end
    -- each coroutine runs up to its first request: three under way on one client
    for i, co in ipairs(cos) do
      local ok, w = coroutine.resume(co)
      assert(ok, w)
      waits[i] = w
      assert.is_table(w.req)
    end
    -- then each is answered in turn, the last started first, round after round
    while next(waits) do
      for i = #cos, 1, -1 do
        local w = waits[i]
        if w then
          local ok, nxt = coroutine.resume(cos[i], w.req and perform(w.req) or nil)
          assert(ok, nxt)
          waits[i] = coroutine.status(cos[i]) ~= "dead" and nxt or nil
        end
      end
    end
    for i, id in ipairs(ids) do
      assert.are.equal(id, got[i].id)
      assert.are.equal(fake.job(id).log_size, got[i].log)
    end
    assert.are.same({ 3 }, slept)
    local order = {}
    for i, r in ipairs(sent(c)) do order[i] = ("%s %d"):format(r.path:match("/jobs/.*$"), r.status) end
    assert.are.same({
      "/jobs/1010 200", "/jobs/1009 503", "/jobs/1008 200",
      "/jobs/1010/trace 200", "/jobs/1008/trace 200",
      "/jobs/1009 200", "/jobs/1009/trace 200",
    }, order)
  end)
end)

describe("client:batch", function()
  local c
  fake.each_spec(function() c = new_client() end)

  it("returns results in the order of the calls", function()
    local out = c:batch({
      { "get", 1, 1009 },
      { "get", 1, 999999 },
      { "list", 1, { per_page = 2 } },
      { "retry", "acme/platform/api", 1009 },
    })
    assert.are.equal(4, #out)
    assert.are.equal(1009, out[1].value.id)
    assert.is_nil(out[1].err)
    assert.are.equal(404, fake.failed(out[2].value, out[2].err).status)
    assert.is_nil(out[2].value)
    assert.are.equal(2, #out[3].value)
    assert.are.equal(2, out[3].page.next_page)
    assert.are.equal("pending", out[4].value.status)
  end)

  it("keeps to its concurrency", function()
    local calls = {}
    for i = 1, 12 do calls[i] = { "get", 1, 1000 + i } end
    local out = c:batch(calls, { concurrency = 3 })
    for i = 1, 12 do assert.are.equal(1000 + i, out[i].value.id) end
    assert.is_true(fake.stats().api_connections <= 3)
  end)

  it("raises on a bad call before sending anything", function()
    fake.raises(function() c:batch({ { "get", 1, 1009 }, { "get", 1, -1 } }) end, "job_id")
    fake.raises(function() c:batch({ { "get", 1, 1009 } }, { concurrency = 0 }) end, "concurrency")
    fake.raises(function() c:batch({ { "get", 1, 1009 } }, { parallel = 2 }) end, "unknown option 'parallel'")
    fake.raises(function() c:batch("get") end, "calls")
    assert.are.same({}, sent(c))
  end)

  it("returns an empty array for no calls", function()
    assert.are.same({}, c:batch({}))
  end)
end)
