-- A client's life: closed mid-iteration, reused after close, collected with
-- a request under way, several at once. Run under valgrind and ASan by
-- `make check-memory`.
local fake = require("fake")

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
    fake.fault{ path = "/jobs/1009$", kind = "stall", delay = 1 }
    do
      local c = fake.client()
      c:start("get", 1, 1009, function() error("never called") end)
      c:poll(0.05) -- the request is on the wire now
    end
    collectgarbage()
    collectgarbage()
    local c = fake.client()
    assert(c:get(1, 1008))
  end)

  it("collected from inside its own sink's trace, then again", function()
    local c = fake.client()
    local n = assert(c:trace(1, 1008, { sink = function() collectgarbage() end }))
    assert.is_true(n > 0)
    c = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
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
