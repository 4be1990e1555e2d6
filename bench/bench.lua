-- Benchmarks (not tests): run by `make bench` against the fake GitLab.
--   GITLAB_URL=... GITLAB_TOKEN=... lua bench/bench.lua
-- Prints one line per case: what, how many, time, rate, Lua memory.
local gitlab = require("gitlab.jobs")
local core = require("gitlab.jobs.core")

local url = assert(os.getenv("GITLAB_URL"), "GITLAB_URL")
local token = assert(os.getenv("GITLAB_TOKEN"), "GITLAB_TOKEN")
local control = os.getenv("GITLAB_FAKE_CONTROL") -- set when the fake GitLab serves us

local function client(opts)
  local o = { url = url, token = token, retries = { max = 0 } }
  for k, v in pairs(opts or {}) do o[k] = v end
  return gitlab.new(o)
end

local function case(name, n, unit, f)
  collectgarbage()
  collectgarbage()
  local before = collectgarbage("count")
  local t0 = core.now()
  local peak = f()
  local dt = core.now() - t0
  local mem = (peak or collectgarbage("count")) - before
  print(("%-46s %7d %-6s %8.3f s %10.1f %s/s   Lua heap %+8.1f KiB"):format(
    name, n, unit, dt, n / dt, unit, mem))
end

local c = client()
assert(c:get(1, 1009))

case("get, one kept-alive connection", 300, "calls", function()
  for _ = 1, 300 do assert(c:get(1, 1009)) end
end)

case("list, 100 jobs a page, decoded to tables", 30, "pages", function()
  for _ = 1, 30 do assert(#assert(c:list(2, { per_page = 100 })) == 100) end
end)

case("each over 350 jobs (keyset pages)", 350, "jobs", function()
  local n = 0
  for _ in c:each("list", 2) do n = n + 1 end
  assert(n == 350, n)
end)

case("batch of 100 gets, concurrency 8", 100, "calls", function()
  local calls = {}
  for i = 1, 100 do calls[i] = { "get", 2, 20000 + i } end
  for _, r in ipairs(c:batch(calls, { concurrency = 8 })) do assert(r.value, tostring(r.err)) end
end)

if control then
  -- a 64 MiB log, streamed: the Lua heap must stay flat
  local http = require("socket.http")
  local size = 64 * 1024 * 1024
  local body = ('{"log_size": %d}'):format(size)
  local ltn12 = require("ltn12")
  assert(http.request{ url = control .. "/jobs/1012", method = "POST", source = ltn12.source.string(body),
    headers = { ["content-type"] = "application/json", ["content-length"] = #body } })
  case("trace streamed to a sink (64 MiB log)", 64, "MiB", function()
    local peak, total = 0, 0
    local base = collectgarbage("count")
    assert(c:trace(1, 1012, { sink = function(s)
      total = total + #s
      local m = collectgarbage("count")
      if m > peak then peak = m end
    end }))
    assert(total == size)
    return math.max(peak, base)
  end)
end

c:close()
