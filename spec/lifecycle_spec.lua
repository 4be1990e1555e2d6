-- A client's life: closed mid-iteration, reused after close, collected with
-- a request under way, several at once. Run under valgrind and ASan by
-- `make check-memory`.
local fake = require("fake")
local socket = require("socket")

describe("the client's life", function()
  fake.each_spec()

  it("closed in the middle of each: the next page raises, nothing more is sent", function()
    local c = fake.client()
    local n = 0
    local ok, err = pcall(function()
      for _ in c:each("list", 2, { per_page = 10 }) do
        n = n + 1
        if n == 10 then c:close() end
      end
    end)
    assert.is_false(ok)
    assert.matches("closed", tostring(err))
    assert.are.equal(10, n)
    assert.are.equal(1, #fake.requests())
  end)

  it("closed, then used again: every call raises, close stays harmless", function()
    local c = fake.client()
    assert(c:get(1, 1009))
    c:close()
    for _, f in ipairs({
      function() c:get(1, 1009) end,
      function() c:list(1) end,
      function() c:trace(1, 1009) end,
      function() c:retry(1, 1009) end,
      function() c:start("get", 1, 1009, function() end) end,
      function() c:poll(0) end,
      function() for _ in c:each("list", 1) do end end,
    }) do
      fake.raises(f, "closed")
    end
    c:close()
    assert.are.equal(1, #fake.requests())
  end)

  it("collected while a started request is under way", function()
    local STALL = 1
    fake.fault{ path = "/jobs/1009$", kind = "stall", delay = STALL }
    collectgarbage() -- what earlier specs left behind goes first
    collectgarbage()
    local before = fake.open_sockets()
    local gone = setmetatable({}, { __mode = "v" })
    local called = false
    local function start_and_forget()
      local c = fake.client()
      c:start("get", 1, 1009, function() called = true end)
      for _ = 1, 200 do -- until the request is on the wire
        assert.are.equal(1, c:poll(0.01))
        if #fake.requests() == 1 then break end
      end
      assert.are.equal(1, #fake.requests())
      assert.is_true(fake.open_sockets() > before)
      gone[1] = c
    end
    start_and_forget()
    collectgarbage()
    collectgarbage()
    assert.is_nil(gone[1], "the client was not collected")
    assert.are.equal(before, fake.open_sockets(), "the collected request's connection is still open")
    -- another client polls on past the stall's end: nothing of the first is left to call back
    local c = fake.client()
    local job
    c:start("get", 1, 1008, function(v) job = v end)
    for _ = 1, 3 * STALL * 10 do
      c:poll(0.05)
      socket.sleep(0.05)
    end
    assert.are.equal(1008, job.id)
    assert.is_false(called)
  end)

  it("collected from inside its own sink's trace, then again", function()
    local gone = setmetatable({}, { __mode = "v" })
    local c = fake.client()
    gone[1] = c
    local n = assert(c:trace(1, 1008, { sink = function() collectgarbage() end }))
    assert.is_true(n > 0)
    assert.is_not_nil(gone[1]) -- alive while its own sink collected
    assert(c:get(1, 1008))
    c = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
    assert.is_nil(gone[1], "the client was not collected")
  end)

  it("two clients in one process keep their own connections and tokens", function()
    local a = fake.client()
    local b = fake.client{ token = false, job_token = fake.JOB_TOKEN }
    for _ = 1, 3 do
      assert(a:get(1, 1009))
      assert(b:job())
    end
    local conns = {}
    for _, r in ipairs(fake.requests()) do
      conns[r.connection] = conns[r.connection] or r.headers["private-token"] or r.headers["job-token"]
      assert.are.equal(conns[r.connection], r.headers["private-token"] or r.headers["job-token"])
    end
    assert.are.equal(2, fake.stats().api_connections)
    a:close()
    assert(b:job())
  end)
end)
