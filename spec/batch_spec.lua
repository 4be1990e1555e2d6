-- client:batch: how it checks the calls it is given.
local fake = require("fake")

describe("client:batch checks", function()
  before_each(fake.reset)
  after_each(fake.close_clients)

  it("blame a bad call on batch's own argument, naming the entry, before anything is sent", function()
    local c = fake.track(fake.client())
    local msg = fake.raises(function() c:batch({ { "get", 1, 1009 }, { "get", 1, "7" } }) end,
      "bad argument #1 to 'batch' (calls[2]: job_id: positive integer expected, got string '7')")
    assert.is_nil(msg:find("start", 1, true))
    fake.raises(function() c:batch({ { "list", 1, { scope = "bogus" } } }) end,
      "bad argument #1 to 'batch' (calls[1]: scope")
    fake.raises(function() c:batch({ { "get", 1, 1009 }, { "get", 1, 1008 }, { "retry", "", 1 } }) end,
      "bad argument #1 to 'batch' (calls[3]: project")
    fake.raises(function() c:batch({ { "explode", 1 } }) end, "bad argument #1 to 'batch' (calls[1]: method")
    fake.raises(function() c:batch({ { "get", 1, 1009 }, "get" }) end, "bad argument #1 to 'batch' (calls[2]: ")
    assert.are.same({}, fake.requests())
  end)

  it("send the calls that pass, every one", function()
    local c = fake.track(fake.client())
    local out = c:batch({ { "get", 1, 1009 }, { "get", "acme/platform/api", 1008 } })
    assert.are.equal(1009, out[1].value.id)
    assert.are.equal(1008, out[2].value.id)
    assert.are.equal(2, #fake.requests_to("GET", "/jobs/100[89]$"))
  end)
end)
