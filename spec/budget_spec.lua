-- The client's one rate-limit budget, against the fake's limiter (L
-- requests a window): with rate_limit no 429 at all, from the server's
-- headers alone at most one window's overshoot, and a 429 pausing every
-- call of the client; through every driver (blocking, started, batch,
-- stepped through a Lua transport).
local fake = require("fake")

local L, PERIOD = 10, 1

local function limit(headers)
  fake.config({ rate_limit = { limit = L, period = PERIOD, headers = headers } })
end

-- The 429s the fake served since the reset.
local function throttled()
  local n = 0
  for _, r in ipairs(fake.requests()) do
    if r.status == 429 then n = n + 1 end
  end
  return n
end

local function gets(n)
  local calls = {}
  for i = 1, n do calls[i] = { "get", 2, 20000 + i } end
  return calls
end

local function all_succeeded(out)
  for i, r in ipairs(out) do
    assert.is_table(r.value, ("call %d: %s"):format(i, tostring(r.err)))
    assert.are.equal(20000 + i, r.value.id)
  end
end

-- A transport over luasocket, for the stepped driver.
local transport = fake.socket_transport

describe("the budget", function()
  fake.each_spec()

  -- Any L+1 requests the server saw span a window at least.
  local function paced(n, per, count)
    local reqs = fake.requests()
    assert.are.equal(count, #reqs)
    for i = 1, #reqs - n do
      local gap = reqs[i + n].time - reqs[i].time
      assert.is_true(gap >= per, ("requests %d and %d went %.3f s apart"):format(i, i + n, gap))
    end
  end

  it("with rate_limit: a batch of 4L calls at concurrency 16 spends no 429", function()
    limit(true)
    local c = fake.client({ rate_limit = { requests = L, per = PERIOD }, retries = { max = 5 } })
    local out = c:batch(gets(4 * L), { concurrency = 16 })
    all_succeeded(out)
    assert.are.equal(0, throttled())
    local stats = c:stats()
    assert.are.equal(0, stats.rate_limited)
    assert.are.equal(4 * L, stats.requests)
    assert.is_true(stats.waited > 0)
  end)

  it("with rate_limit: blocking calls wait through sleep, never more than L in a window", function()
    limit(false)
    local slept = 0
    local c = fake.client({ rate_limit = { requests = L, per = PERIOD }, sleep = function(s)
      slept = slept + 1
      require("gitlab.jobs.core").sleep(s)
    end })
    for i = 1, 2 * L + 1 do assert.is_table((c:get(2, 20000 + i))) end
    assert.are.equal(0, throttled())
    assert.is_true(slept >= 2, "it never waited")
    paced(L, PERIOD, 2 * L + 1)
  end)

  it("from the server's headers alone: at most one window's overshoot, every call done", function()
    limit(true)
    local c = fake.client({ retries = { max = 8 } })
    local out = c:batch(gets(4 * L), { concurrency = 16 })
    all_succeeded(out)
    local n = throttled()
    assert.is_true(n <= L, ("%d answers of 429, more than a window's %d"):format(n, L))
    assert.are.equal(n, c:stats().rate_limited)
    -- without the headers' advice it would have spent far more: every call of the burst beyond L, again and again
  end)

  it("with rate_limit: started calls, stepped calls and pages fetched ahead keep it too", function()
    local n, per = 5, 0.5
    local drivers = {
      started = function(c)
        local got = 0
        for i = 1, 4 * n do
          c:start("get", 2, 20000 + i, function(job) got = got + (job.id == 20000 + i and 1 or 0) end)
        end
        while c:poll(1) > 0 do end
        return got
      end,
      stepped = function(c)
        local got = 0
        for _, r in ipairs(c:batch(gets(4 * n), { concurrency = 16 })) do
          if r.value then got = got + 1 end
        end
        return got
      end,
      ahead = function(c)
        local got = 0
        for _ in c:each("list", 4, { per_page = 5, limit = 4 * n * 5, concurrency = 8 }) do got = got + 1 end
        return got / 5
      end,
    }
    for _, name in ipairs({ "started", "stepped", "ahead" }) do
      fake.reset()
      fake.config({ rate_limit = { limit = n, period = per, headers = false } })
      local c = fake.client({ rate_limit = { requests = n, per = per }, retries = { max = 5 },
                              transport = name == "stepped" and transport or nil })
      assert.are.equal(4 * n, drivers[name](c), name)
      assert.are.equal(0, throttled(), name)
      paced(n, per, 4 * n)
      assert.are.equal(0, c:stats().rate_limited)
      c:close()
    end
  end)

  it("from the server's headers alone, pages fetched ahead: at most one window's overshoot", function()
    limit(true)
    local c = fake.client({ retries = { max = 8 } })
    local got = 0
    for _ in c:each("list", 4, { per_page = 5, limit = 4 * L * 5, concurrency = 16 }) do got = got + 1 end
    assert.are.equal(4 * L * 5, got)
    local n = throttled()
    assert.is_true(n <= L, ("%d answers of 429, more than a window's %d"):format(n, L))
    assert.are.equal(n, c:stats().rate_limited)
  end)

  it("from the server's headers: what another client of the same token spent is left to it", function()
    fake.config({ rate_limit = { limit = L, period = 3 * PERIOD, headers = true } })
    local mine, other = fake.client({ retries = { max = 3 } }), fake.client()
    assert.is_table((mine:get(2, 20001))) -- mine learns the window: 1 of L spent
    for i = 2, 6 do assert.is_table((other:get(2, 20000 + i))) end -- the other spends 5
    local function run(from, n)
      local calls = {}
      for i = 1, n do calls[i] = { "get", 2, 20000 + from + i } end
      for i, r in ipairs(mine:batch(calls, { concurrency = 16 })) do
        assert.is_table(r.value, ("call %d: %s"):format(i, tostring(r.err)))
      end
    end
    run(6, 2) -- room for both, as mine knew it: their answers tell of the other's 5
    assert.are.equal(0, mine:stats().waited)
    run(8, 6) -- 2 left in this window: 4 wait for the next
    assert.are.equal(0, throttled())
    assert.are.equal(0, mine:stats().rate_limited)
    assert.is_true(mine:stats().waited > 0)
    assert.are.equal(L + 4, #fake.requests())
  end)

  it("a 429 pauses every started call of the client, not only the one that got it", function()
    local c = fake.client({ retries = { max = 2 } })
    fake.fault({ path = "/jobs/1001$", kind = "status", status = 429, headers = { ["Retry-After"] = "2" } })
    local done = {}
    c:start("get", 1, 1001, function(job) done[#done + 1] = job.id end)
    c:poll(0.2) -- the 429 has come back
    c:start("get", 1, 1002, function(job) done[#done + 1] = job.id end)
    assert.are.equal(2, c:poll(0)) -- held: poll(0) returns at once
    while c:poll(0.2) > 0 do end
    assert.are.same({ 1001, 1002 }, { math.min(done[1], done[2]), math.max(done[1], done[2]) })
    local reqs = fake.requests()
    local t429, t1002
    for _, r in ipairs(reqs) do
      if r.status == 429 then t429 = r.time end
      if r.path:find("/jobs/1002$") then t1002 = r.time end
    end
    assert.is_true(t1002 - t429 >= 1.9, ("1002 went %.2f s after the 429"):format(t1002 - t429))
  end)

  it("a 429 pauses a blocking call's next request, and a stepped call's, through sleep", function()
    for _, transported in ipairs({ false, true }) do
      fake.reset()
      local clk = fake.clock()
      local c = fake.client({ sleep = clk.sleep, clock = clk.clock, retries = { max = 2 },
                              transport = transported and transport or nil })
      fake.fault({ path = "/jobs/1001$", kind = "status", status = 429, headers = { ["Retry-After"] = "5" } })
      assert.are.equal(1001, c:get(1, 1001).id)
      assert.are.same({ 5 }, clk.sleeps) -- its own retry waited the server's 5 s
      assert.are.equal(1002, c:get(1, 1002).id)
      assert.are.same({ 5 }, clk.sleeps) -- and the pause was over by then
    end
  end)

  it("shares one budget: coroutines on one client with a yielding transport are held together", function()
    local clk = fake.clock()
    local sleeps = {}
    local c = fake.client({ clock = clk.clock, retries = { max = 2 }, transport = transport,
      sleep = function(s)
        sleeps[#sleeps + 1] = s
        coroutine.yield() -- a host's sleep gives the others their turn, then the time passes
        clk.sleep(s)
      end })
    fake.fault({ path = "/jobs/1001$", kind = "status", status = 429, headers = { ["Retry-After"] = "4" } })
    local a = coroutine.create(function() return c:get(1, 1001) end)
    local b = coroutine.create(function() return c:get(1, 1002) end)
    assert(coroutine.resume(a)) -- a meets the 429 and sleeps (yields)
    assert.are.same({ 4 }, sleeps)
    assert(coroutine.resume(b)) -- b is held by the same pause: it sleeps too, before sending
    assert.are.same({ 4, 4 }, sleeps)
    assert.are.equal(1, #fake.requests()) -- b has sent nothing yet
    while coroutine.status(a) ~= "dead" or coroutine.status(b) ~= "dead" do
      if coroutine.status(a) ~= "dead" then assert(coroutine.resume(a)) end
      if coroutine.status(b) ~= "dead" then assert(coroutine.resume(b)) end
    end
    assert.are.equal(3, #fake.requests())
  end)

  it("counts what it spent: requests, 429s met, retries, bytes and the time it held requests", function()
    local c = fake.client({ retries = { max = 2, base_delay = 0.01 } })
    fake.fault({ path = "/jobs/1001$", kind = "status", status = 429, headers = { ["Retry-After"] = "0" } })
    assert(c:get(1, 1001))
    local whole = assert(c:trace(1, 1008))
    local s = c:stats()
    assert.are.equal(3, s.requests)
    assert.are.equal(1, s.rate_limited)
    assert.are.equal(1, s.retries)
    assert.is_true(s.bytes >= #whole)
    assert.are.equal("number", type(s.waited))
  end)

  it("refuses a bad rate_limit, naming it", function()
    for _, bad in ipairs({ 5, "10/s", { requests = 0, per = 1 }, { requests = 1.5, per = 1 },
                           { requests = 10 }, { requests = 10, per = 0 }, { requests = 10, per = 1, burst = 2 } }) do
      fake.raises(function() fake.client({ rate_limit = bad }) end, "bad argument #1 to 'new'", "rate_limit")
    end
    assert.truthy(fake.client({ rate_limit = false }))
  end)
end)
