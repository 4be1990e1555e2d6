-- each and all with a transport that yields the running coroutine, as
-- OpenResty's cosockets do: every page must go through a call run from Lua.
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local http, ltn12 = require("socket.http"), require("ltn12")
local unpack = table.unpack or unpack

-- A client whose transport talks HTTP to the fake with socket.http and yields
-- before and after each request, as a cosocket would while it waits.
local function yielding_client()
  return gitlab.new({ url = fake.url, token = fake.TOKEN, retries = { max = 0 }, transport = function(req)
    coroutine.yield("sending")
    local body = {}
    local _, status, headers = http.request({ url = req.url, method = req.method, headers = req.headers,
                                              sink = ltn12.sink.table(body) })
    coroutine.yield("received")
    if type(status) ~= "number" then return nil, tostring(status) end
    return { status = status, headers = headers, body = table.concat(body) }
  end })
end

-- Runs f in a coroutine, resuming it whenever it yields, as a host's event
-- loop would; returns how many times it yielded, then f's results.
local function drive(f)
  local co = coroutine.create(f)
  local yields = 0
  while true do
    local res = { coroutine.resume(co) }
    assert(res[1], res[2])
    if coroutine.status(co) == "dead" then return yields, unpack(res, 2) end
    yields = yields + 1
  end
end

-- Asserts that jobs hold each id of want once, in want's order.
local function assert_same_jobs(want, jobs)
  local seen = {}
  assert.are.equal(#want, #jobs)
  for i, job in ipairs(jobs) do
    assert.is_nil(seen[job.id], "job " .. job.id .. " came twice")
    seen[job.id] = true
    assert.are.equal(want[i].id, job.id)
  end
end

describe("a transport that yields", function()
  before_each(fake.reset)
  after_each(fake.close_clients)

  it("carries all over the pages of a pipeline, which the server counts, each job once", function()
    local plain = fake.track(fake.client())
    local _, page = assert(plain:pipeline_jobs(2, 201, { per_page = 5 }))
    assert.is_true(page.total_pages > 1)   -- pages fetched ahead, with the default transport
    local want = assert(plain:all("pipeline_jobs", 2, 201, { per_page = 5 }))
    assert.are.equal(page.total, #want)
    fake.clear_requests()

    local c = fake.track(yielding_client())
    local yields, jobs, err = drive(function() return c:all("pipeline_jobs", 2, 201, { per_page = 5 }) end)
    assert.is_nil(err)
    assert_same_jobs(want, jobs)
    local reqs = fake.requests()
    assert.are.equal(page.total_pages, #reqs)
    assert.are.equal(2 * #reqs, yields)   -- every request went through the transport, from Lua
  end)

  it("carries each over 350 jobs, with concurrency asked for", function()
    local want = assert(fake.track(fake.client()):all("list", 2, { pagination = "offset" }))
    assert.is_true(#want > 100)
    fake.clear_requests()

    local c = fake.track(yielding_client())
    local yields, jobs = drive(function()
      local got = {}
      -- a while loop: Lua 5.1 cannot yield from inside a generic for's iterator
      local next_job = c:each("list", 2, { pagination = "offset", per_page = 50, concurrency = 4 })
      local job = next_job()
      while job do
        got[#got + 1] = job
        job = next_job()
      end
      return got
    end)
    assert_same_jobs(want, jobs)
    assert.are.equal(2 * #fake.requests(), yields)
  end)

  it("carries batch, each call once and in order, the POST among them too", function()
    local c = fake.track(yielding_client())
    local yields, out = drive(function()
      return c:batch({ { "get", 1, 1001 }, { "retry", 1, 1009 }, { "get", 1, 404404 }, { "get", 1, 1002 } })
    end)
    assert.are.equal(4, #out)
    assert.are.equal(1001, out[1].value.id)
    assert.are.equal("pending", out[2].value.status)
    assert.are.equal(404, out[3].err.status)
    assert.are.equal(1002, out[4].value.id)
    assert.are.equal(4, #fake.requests())
    assert.are.equal(1, #fake.requests_to("POST", "/jobs/1009/retry$"))
    assert.are.equal(8, yields)
  end)
end)
