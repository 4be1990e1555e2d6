-- A fault storm: a seeded loop of random faults over every way a call runs
-- (gets, lists, logs, each, POST actions, batch, started calls), checked
-- after every round against the fake's own record. A value is true to the
-- fake or the call fails cleanly; a POST's action runs at most once and is
-- sent again only after a 429; a POST whose action ran is reported done or
-- maybe_done; no token shows in any error; memory stays flat.
-- GITLAB_STORM_SEED and GITLAB_STORM_ROUNDS replay or stretch a storm.
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local http = require("socket.http")
local ltn12 = require("ltn12")
local cjson = require("cjson").new()

local SEED = tonumber(os.getenv("GITLAB_STORM_SEED")) or 20261201
local ROUNDS = tonumber(os.getenv("GITLAB_STORM_ROUNDS")) or 200

-- A small generator of our own, so a seed replays on every Lua alike.
local function rng(seed)
  local state = seed % 2147483647
  if state <= 0 then state = state + 2147483646 end
  return function(n)
    state = state * 16807 % 2147483647
    return state % n + 1
  end
end

-- The control API's view of a job, or nil when the fake has none.
local function job_state(id)
  local out = {}
  local _, code = http.request{ url = fake.url .. "/__control/jobs/" .. id, sink = ltn12.sink.table(out) }
  if code ~= 200 then return nil end
  return cjson.decode(table.concat(out))
end

-- The truth, read past the client: a GET with the token, no fault pending.
local function truth(path)
  fake.control("DELETE", "/faults")
  local out = {}
  local _, code = http.request{ url = fake.url .. "/api/v4" .. path, sink = ltn12.sink.table(out),
    headers = { ["private-token"] = fake.TOKEN } }
  assert(code == 200, "truth " .. path .. ": " .. tostring(code))
  return table.concat(out)
end

local KINDS = { "error" --[[no error]], "status", "status429", "html", "reset", "reset_mid_body",
  "truncate", "bad_json", "stall", "drip" }

-- A log may hold any bytes: a 200 of broken JSON is a log like another there.
local function fault_for(pick, method, path)
  local kind = KINDS[pick(#KINDS)]
  if kind == "error" or (kind == "bad_json" and path:find("trace", 1, true)) then return nil end
  local f = { method = method, path = path, count = pick(2), apply = pick(2) == 1 }
  if kind == "status" then
    f.kind, f.status = "status", ({ 500, 502, 503, 504 })[pick(4)]
  elseif kind == "status429" then
    -- a 429 says the action did not run (a server that ran it first would lie)
    f.kind, f.status, f.headers, f.apply = "status", 429, { ["Retry-After"] = "0" }, false
  elseif kind == "stall" then
    f.kind, f.delay = "stall", 0.4
  elseif kind == "drip" then
    f.kind, f.chunk, f.delay = "drip", 512, 0.001
  else
    f.kind = kind
  end
  return f
end

local SECRETS = fake.SECRETS

local function clean_error(err, what)
  assert.is_true(gitlab.is_error(err), what .. ": not an error object: " .. tostring(err))
  local kinds = { http = true, network = true, timeout = true, decode = true, tls = true }
  assert.is_true(kinds[err.kind] == true, what .. ": kind " .. tostring(err.kind))
  for _, text in ipairs({ tostring(err), tostring(err.message), tostring(err.body) }) do
    for _, secret in ipairs(SECRETS) do
      assert.is_nil(text:find(secret, 1, true), what .. ": a token in " .. text)
    end
  end
end

-- The POSTs sent to path: each but the last must have been answered 429.
local function check_resends(path, what)
  local posts = fake.requests_to("POST", path)
  for i = 1, #posts - 1 do
    assert.are.equal(429, posts[i].status, what .. ": a POST sent again after " .. tostring(posts[i].status))
  end
  return posts
end

-- The actions: how to call each, and how the fake tells that it ran.
local ACTIONS = {
  { name = "retry", id = 1009, ran = function()
      assert.is_nil(job_state(40052), "retry ran twice")
      return job_state(40051) ~= nil
    end },
  { name = "cancel", id = 1016, ran = function() return job_state(1016).job.status == "canceled" end },
  { name = "erase", id = 1001, ran = function() return job_state(1001).job.erased_at ~= nil end },
  { name = "play", id = 1021, ran = function() return job_state(1021).job.status == "pending" end },
}

-- The times an action ran, from the request log: a POST the real handler served.
local REAL = { reset_mid_body = true, truncate = true, drip = true }
local function served(posts, fault)
  local n = 0
  for _, r in ipairs(posts) do
    if r.fault == nil or (fault and (REAL[r.fault] or fault.apply) and r.fault == fault.kind) then n = n + 1 end
  end
  return n
end

local function check_action(action, value, err, fault, what)
  local path = ("/jobs/%d/%s$"):format(action.id, action.name)
  local posts = check_resends(path, what)
  assert.is_true(served(posts, fault) <= 1, what .. ": the action was served twice")
  local ran = action.ran()
  if value == nil then
    clean_error(err, what)
    if ran then assert.is_true(err.maybe_done == true, what .. ": ran, yet not maybe_done: " .. tostring(err)) end
  else
    assert.is_true(ran, what .. ": reported done, yet it did not run")
    assert.are.equal("table", type(value))
  end
end

local OPS = {}

function OPS.get(c, pick)
  local id = 1000 + pick(15)
  return function(what)
    local job, err = c:get(1, id)
    if job then
      local t = cjson.decode(truth("/projects/1/jobs/" .. id))
      assert.are.equal(t.id, job.id, what)
      assert.are.equal(t.status, job.status, what)
    else
      clean_error(err, what)
    end
  end, "GET", "/jobs/" .. id .. "$"
end

function OPS.list(c)
  return function(what)
    local jobs, err = c:list(1, { per_page = 7, page = 2 })
    if jobs then
      local t = cjson.decode(truth("/projects/1/jobs?per_page=7&page=2"))
      assert.are.equal(#t, #jobs, what)
      for i = 1, #t do assert.are.equal(t[i].id, jobs[i].id, what) end
    else
      clean_error(err, what)
    end
  end, "GET", "/projects/1/jobs$"
end

function OPS.trace(c, pick)
  local sink = pick(2) == 1
  return function(what)
    local chunks = {}
    local got, err = c:trace(1, 1008, sink and { sink = function(s) chunks[#chunks + 1] = s end } or nil)
    local t = truth("/projects/1/jobs/1008/trace")
    if got == nil then
      clean_error(err, what)
      -- what reached the sink is the log's beginning, never a byte twice or a failed answer's
      assert.are.equal(t:sub(1, #table.concat(chunks)), table.concat(chunks), what)
    elseif sink then
      assert.are.equal(#t, got, what)
      assert.are.equal(t, table.concat(chunks), what)
    else
      assert.are.equal(t, got, what)
    end
  end, "GET", "/jobs/1008/trace$"
end

function OPS.each(c)
  return function(what)
    local ids, seen = {}, {}
    local ok, err = pcall(function()
      for job in c:each("pipeline_jobs", 2, 201, { per_page = 10 }) do
        assert.is_nil(seen[job.id], what .. ": yielded twice")
        seen[job.id] = true
        ids[#ids + 1] = job.id
      end
    end)
    local t = cjson.decode(truth("/projects/2/pipelines/201/jobs?per_page=100"))
    if ok then
      assert.are.equal(#t, #ids, what)
    else
      clean_error(err, what)
    end
    for i = 1, #ids do assert.are.equal(t[i].id, ids[i], what) end
  end, "GET", "/pipelines/201/jobs$"
end

function OPS.action(c, pick)
  local action = ACTIONS[pick(#ACTIONS)]
  return function(what, fault)
    local value, err = c[action.name](c, 1, action.id)
    check_action(action, value, err, fault, what)
  end, "POST", ("/jobs/%d/%s$"):format(action.id, action.name)
end

function OPS.batch(c, pick)
  local action = ACTIONS[pick(#ACTIONS)]
  return function(what, fault)
    local out = c:batch({ { "get", 1, 1002 }, { action.name, 1, action.id }, { "get", 1, 1003 } }, { concurrency = 2 })
    assert.are.equal(3, #out, what)
    for _, i in ipairs({ 1, 3 }) do
      if out[i].value then assert.are.equal(1000 + i + 1 - (i == 3 and 1 or 0), out[i].value.id, what)
      else clean_error(out[i].err, what) end
    end
    check_action(action, out[2].value, out[2].err, fault, what)
  end, "*", pick(2) == 1 and ("/jobs/%d/%s$"):format(action.id, action.name) or "/jobs/100[23]$"
end

function OPS.started(c, pick)
  local action = pick(2) == 1 and ACTIONS[pick(#ACTIONS)] or nil
  return function(what, fault)
    local got
    if action then
      c:start(action.name, 1, action.id, function(v, e) got = { v, e } end)
    else
      c:start("trace", 1, 1008, function(v, e) got = { v, e } end)
    end
    local rounds = 0
    while c:poll(0.5) > 0 do
      rounds = rounds + 1
      assert(rounds < 40, what .. ": a started call never ended")
    end
    assert.is_table(got, what)
    if action then
      check_action(action, got[1], got[2], fault, what)
    elseif got[1] then
      assert.are.equal(truth("/projects/1/jobs/1008/trace"), got[1], what)
    else
      clean_error(got[2], what)
    end
  end, action and "POST" or "GET", action and ("/jobs/%d/%s$"):format(action.id, action.name) or "/trace$"
end

-- The process's resident memory in KiB (Linux), or nil elsewhere.
local function rss_kib()
  local f = io.open("/proc/self/statm")
  if not f then return nil end
  local _, pages = f:read("*n", "*n")
  f:close()
  return pages and pages * 4
end

local OP_NAMES = { "get", "list", "trace", "each", "action", "batch", "started" }

describe("a fault storm", function()
  it(("of " .. ROUNDS .. " rounds (seed %d) leaves every answer true or a clean error"):format(SEED), function()
    print(("\nfault storm: seed %d, %d rounds (GITLAB_STORM_SEED replays it)"):format(SEED, ROUNDS))
    local pick = rng(SEED)
    local c = gitlab.new{ url = fake.url, token = fake.TOKEN, timeout = 0.2,
      retries = { max = 2, base_delay = 0.001, max_delay = 0.001 } }
    local heap_at, heap_end, rss_at
    local dirty = true
    for round = 1, ROUNDS do
      -- a round that may have acted starts the next from the seed data again;
      -- the others only leave their requests and faults behind
      if dirty then
        fake.reset()
      else
        fake.control("DELETE", "/faults")
        fake.clear_requests()
      end
      local op = OP_NAMES[pick(#OP_NAMES)]
      local run, method, path = OPS[op](c, pick)
      dirty = method ~= "GET"
      local fault = fault_for(pick, method, path)
      if fault then fake.fault(fault) end
      local what = ("round %d (seed %d): %s under %s"):format(round, SEED, op,
        fault and (fault.kind .. (fault.status and " " .. fault.status or "") .. (fault.apply and " applied" or ""))
        or "no fault")
      run(what, fault)
      if round == 20 then
        collectgarbage()
        collectgarbage()
        heap_at = collectgarbage("count")
        rss_at = rss_kib()
      end
    end
    collectgarbage()
    collectgarbage()
    heap_end = collectgarbage("count")
    c:close()
    if heap_at then
      assert.is_true(heap_end - heap_at < 1024, ("the Lua heap grew by %.0f KiB"):format(heap_end - heap_at))
    end
    -- C memory too: the process (valgrind's own aside) stays within a few MiB
    local rss_end = rss_kib()
    print(("fault storm: the Lua heap grew %.0f KiB, the process %s KiB after round 20"):format(
      heap_end - heap_at, rss_at and tostring(rss_end - rss_at) or "?"))
    if rss_at and not os.getenv("GITLAB_SPEC_WRAPPER") then
      assert.is_true(rss_end - rss_at < 8192, ("the process grew by %d KiB"):format(rss_end - rss_at))
    end
  end)
end)
