-- The client's gate: after an answer says RateLimit-Remaining: 0, the next
-- request of the client waits for RateLimit-Reset, whichever way it runs
-- (blocking, started, stepped through a Lua transport), once, and the gate
-- is the client's: one driver's answer holds another's request.
local fake = require("fake")

-- The next GET of job id answers as usual, saying none remain until reset.
local function spent_until(id, reset)
  fake.fault({ path = "/jobs/" .. id .. "$", kind = "headers",
    headers = { ["RateLimit-Remaining"] = "0", ["RateLimit-Reset"] = tostring(reset) } })
end

-- A transport over luasocket, for the stepped driver.
local transport = fake.socket_transport

local function poll_until_done(c)
  local polls = 0
  while c:poll(0) > 0 do
    polls = polls + 1
    c:poll(0.05)
  end
  return polls
end

describe("the gate", function()
  fake.each_spec()

  it("holds a blocking call's next request until the reset, through sleep, once", function()
    local c, clk = fake.timed_client()
    spent_until(1001, os.time() + 10) -- the fake clock waits, not the machine
    assert.are.equal(1001, c:get(1, 1001).id)
    assert.are.same({}, clk.sleeps) -- the answer itself is not held
    assert.are.equal(1002, c:get(1, 1002).id)
    assert.are.equal(1, #clk.sleeps)
    assert.is_true(clk.sleeps[1] > 8 and clk.sleeps[1] <= 10, "waited " .. clk.sleeps[1])
    assert.are.equal(1003, c:get(1, 1003).id)
    assert.are.equal(1, #clk.sleeps) -- waited for once
  end)

  it("holds a stepped call (Lua transport) the same way", function()
    local clk = fake.clock()
    local c = fake.client({ transport = transport, sleep = clk.sleep, clock = clk.clock })
    spent_until(1001, os.time() + 10)
    assert.are.equal(1001, c:get(1, 1001).id)
    assert.are.equal(1002, c:get(1, 1002).id)
    assert.are.equal(1, #clk.sleeps)
    assert.is_true(clk.sleeps[1] > 8 and clk.sleeps[1] <= 10, "waited " .. clk.sleeps[1])
    assert.are.equal(1003, c:get(1, 1003).id)
    assert.are.equal(1, #clk.sleeps)
  end)

  it("holds a started call as a timer: poll(0) goes on returning while it waits", function()
    local c = fake.client()
    local reset = os.time() + 2
    spent_until(1001, reset)
    local got = {}
    c:start("get", 1, 1001, function(job) got[#got + 1] = job.id end)
    poll_until_done(c)
    c:start("get", 1, 1002, function(job) got[#got + 1] = job.id end)
    assert.are.equal(1, c:poll(0))
    assert.are.equal(1, #fake.requests()) -- held: nothing sent yet
    assert.is_true(poll_until_done(c) >= 2)
    assert.are.same({ 1001, 1002 }, got)
    local reqs = fake.requests()
    assert.is_true(reqs[2].time >= reset - 0.01, ("sent at %.3f, before the reset %d"):format(reqs[2].time, reset))
  end)

  it("is the client's: a blocking call's answer holds the client's started call", function()
    local c = fake.client()
    local reset = os.time() + 2
    spent_until(1001, reset)
    assert.are.equal(1001, c:get(1, 1001).id)
    local job
    c:start("get", 1, 1002, function(v) job = v end)
    poll_until_done(c)
    assert.are.equal(1002, job.id)
    assert.is_true(fake.requests()[2].time >= reset - 0.01)
  end)
end)
