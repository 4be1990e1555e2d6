-- Tearing down from inside: a started call's sink that cancels a call (its
-- own or another's) or closes the client while libcurl is still writing to
-- it, and a transport whose answer raises. Nothing crashes, nothing is left
-- busy, nothing leaks (make check-memory runs this under valgrind and ASan).
local fake = require("fake")
local gitlab = require("gitlab.jobs")

local function poll_all(c)
  local rounds = 0
  while c:poll(0.2) > 0 do
    rounds = rounds + 1
    assert(rounds < 100, "the started calls never ended")
  end
end

describe("a started call's sink", function()
  local c
  fake.each_spec(function()
    fake.set_job(1008, { log_size = 200000 }) -- many writes, so the sink runs mid-transfer
    c = fake.client()
  end)

  it("that cancels its own handle: the transfer stops, the callback never runs, the client goes on", function()
    local h, chunks, called = nil, 0, false
    h = c:start("trace", 1, 1008, { sink = function()
      chunks = chunks + 1
      assert.is_true(h:cancel())
    end }, function() called = true end)
    poll_all(c)
    assert.are.equal(1, chunks)
    assert.is_false(called)
    assert.is_false(h:cancel())
    assert.are.equal(1, #fake.requests_to("GET", "/trace$"))
    assert.are.equal(1008, c:get(1, 1008).id) -- not busy, not broken
  end)

  it("that cancels another started call under way: that one's callback never runs", function()
    fake.fault({ path = "/jobs/1009$", kind = "stall", delay = 1 })
    local other_called, done = false, nil
    local other = c:start("get", 1, 1009, function() other_called = true end)
    c:poll(0.05) -- the other request is on the wire
    c:start("trace", 1, 1008, { sink = function() other:cancel() end }, function(n) done = n end)
    poll_all(c)
    assert.are.equal(200000, done)
    assert.is_false(other_called)
    assert.is_false(other:cancel())
  end)

  it("that closes the client: every call stops, no callback runs, no sink runs again", function()
    fake.fault({ path = "/jobs/1009$", kind = "stall", delay = 1 }) -- still under way at the close
    local called, sunk = 0, 0
    c:start("get", 1, 1009, function() called = called + 1 end)
    c:start("trace", 1, 1008, { sink = function()
      sunk = sunk + 1
      c:close()
    end }, function() called = called + 1 end)
    assert.are.equal(0, c:poll(5))
    assert.are.equal(0, called)
    assert.are.equal(1, sunk)
    fake.raises(function() c:get(1, 1008) end, "closed")
    fake.raises(function() c:poll(0) end, "closed")
  end)

  it("that makes a blocking call on its own client: raised from poll as busy", function()
    c:start("trace", 1, 1008, { sink = function() c:get(1, 1001) end }, function() end)
    local err = fake.raises(function() poll_all(c) end, "busy")
    assert.truthy(err)
    assert.are.equal(0, #fake.requests_to("GET", "/jobs/1001$"))
  end)
end)

describe("a blocking call's sink that closes its client", function()
  it("ends the call without another try and frees the client", function()
    fake.reset()
    fake.set_job(1008, { log_size = 200000 })
    local c = fake.client({ retries = { max = 3 } })
    fake.fault({ path = "/trace$", kind = "reset_mid_body", bytes = 100000 })
    local n = 0
    local sunk = 0
    local got, err = c:trace(1, 1008, { sink = function(s)
      n = n + #s
      sunk = sunk + 1
      c:close()
    end })
    assert.is_nil(got)
    assert.is_true(gitlab.is_error(err))
    assert.are.equal(1, #fake.requests_to("GET", "/trace$")) -- closed: not retried
    assert.is_true(n > 0)
    assert.are.equal(1, sunk) -- closed: no sink runs again
    fake.raises(function() c:get(1, 1008) end, "closed")
  end)
end)

describe("under poll, a Lua transport whose answer raises when read", function()
  it("raises from poll, and leaves the client neither busy nor polling", function()
    fake.reset()
    local bad = true
    local http = require("socket.http")
    local c = gitlab.new{ url = fake.url, token = fake.TOKEN, retries = { max = 0 },
      transport = function(req)
        if bad then
          return setmetatable({}, { __index = function(_, k) error("answer exploded reading " .. k) end })
        end
        local body = {}
        local _, status, headers = http.request{ url = req.url, headers = req.headers,
          sink = require("ltn12").sink.table(body) }
        return { status = status, headers = headers, body = table.concat(body) }
      end }
    c:start("get", 1, 1008, function() error("never called") end)
    fake.raises(function() c:poll(1) end, "answer exploded reading status")
    bad = false
    local job
    c:start("get", 1, 1008, function(v) job = v end)
    assert.are.equal(0, c:poll(5))
    assert.are.equal(1008, job.id)
    assert.are.equal(1008, c:get(1, 1008).id)
    c:close()
  end)
end)
