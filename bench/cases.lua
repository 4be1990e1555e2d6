-- The scale, latency and soak cases for bench/side_by_side.py, one a process,
-- which sets the fake GitLab up around them and reads its count of 429s.
-- Prints one JSON object: wall (seconds on the client's clock), what was
-- done, and client:stats().
--   GITLAB_URL=... GITLAB_TOKEN=... lua bench/cases.lua CASE ARGS...
--   scale FIRST COUNT CONCURRENCY [REQUESTS PER]  list the newest 100 jobs of COUNT projects
--                                                 from FIRST in one batch, rate_limit if given
--   sequential PROJECT | ahead PROJECT N | pages PROJECT PAGES N
--                                                 every page of PROJECT: each one page at a time,
--                                                 each{concurrency = N}, or a batch of PAGES
--                                                 numbered pages at concurrency N
--   soak PROJECT JOB N                            N gets of JOB, half blocking, half started
--                                                 (8 in flight), RSS read after the first 1,000
local gitlab = require("gitlab.jobs")
local cjson = require("cjson")

local case = arg[1]
local function num(i) return tonumber(arg[i]) end

local function client(opts)
  local o = { retries = { max = 3 } }
  for k, v in pairs(opts or {}) do o[k] = v end
  return gitlab.new(o)
end

-- What the client counted, or false when this build has no client:stats().
local function stats_of(c)
  if type(c.stats) ~= "function" then return false end
  local s = c:stats()
  return { requests = s.requests, rate_limited = s.rate_limited, retries = s.retries,
           bytes = s.bytes, waited = s.waited }
end

local function rss_kib()
  local rss, hwm
  for line in io.lines("/proc/self/status") do
    rss = rss or tonumber(line:match("^VmRSS:%s*(%d+)"))
    hwm = hwm or tonumber(line:match("^VmHWM:%s*(%d+)"))
  end
  return rss, hwm
end

local out = {}

if case == "scale" then
  local first, count, concurrency = num(2), num(3), num(4)
  local opts = {}
  if arg[5] then opts.rate_limit = { requests = num(5), per = num(6) } end
  local ok, c = pcall(client, opts)
  if not ok then
    -- a build without the option: said so, not measured
    print(cjson.encode({ unsupported = tostring(c) }))
    os.exit(0)
  end
  local calls = {}
  for i = 1, count do calls[i] = { "list", first + i - 1, { per_page = 100 } } end
  local t0 = c:now()
  local results = c:batch(calls, { concurrency = concurrency })
  out.wall = c:now() - t0
  local jobs, failed = 0, 0
  for _, r in ipairs(results) do
    if r.value then jobs = jobs + #r.value else failed = failed + 1 end
  end
  out.jobs, out.failed, out.stats = jobs, failed, stats_of(c)
  c:close()
elseif case == "sequential" or case == "ahead" or case == "pages" then
  local project = num(2)
  local c = client()
  local t0 = c:now()
  local n = 0
  if case == "pages" then
    local calls = {}
    for p = 1, num(3) do calls[p] = { "list", project, { page = p, per_page = 100 } } end
    for _, r in ipairs(c:batch(calls, { concurrency = num(4) })) do n = n + #assert(r.value, tostring(r.err)) end
  else
    local opts = case == "ahead" and { pagination = "offset", concurrency = num(3) } or nil
    for _ in c:each("list", project, opts) do n = n + 1 end
  end
  out.wall, out.jobs, out.stats = c:now() - t0, n, stats_of(c)
  c:close()
elseif case == "soak" then
  local project, job, n = num(2), num(3), num(4)
  local c = client()
  local done = 0
  local function settle()
    collectgarbage()
    collectgarbage()
    return rss_kib(), collectgarbage("count")
  end
  local rss0, heap0
  local t0 = c:now()
  local function counted()
    done = done + 1
    if done == 1000 then rss0, heap0 = settle() end
  end
  -- blocking, then started, each half of N
  local half = math.floor(n / 2)
  for _ = 1, half do
    assert(c:get(project, job))
    counted()
  end
  local started, inflight = half, 0
  local function finished(value, err)
    assert(value, tostring(err))
    inflight = inflight - 1
    counted()
  end
  while started < n or inflight > 0 do
    while inflight < 8 and started < n do
      c:start("get", project, job, finished)
      started, inflight = started + 1, inflight + 1
    end
    c:poll(1)
  end
  out.wall = c:now() - t0
  local rss1, heap1 = settle()
  local _, hwm = rss_kib()
  out.requests, out.rss_after_1000, out.rss_end, out.peak_rss = done, rss0, rss1, hwm
  out.heap_after_1000, out.heap_end, out.stats = heap0, heap1, stats_of(c)
  c:close()
else
  error("usage: cases.lua scale|sequential|ahead|pages|soak ARGS...")
end
print(cjson.encode(out))
