-- make bench: a 256 MiB archive downloaded to a file, beside `curl -o` for
-- the same URL on the same fake, alternating, five runs each. Reports the
-- medians, the throughput ratio and the client's peak RSS, against the
-- goals: peak RSS under 24 MiB, throughput at least 0.9x curl's.
--   GITLAB_FAKE_URL=... lua bench/download.lua LUA_BINARY
local lua = arg[1] or "lua5.4"
local url = assert(os.getenv("GITLAB_FAKE_URL"), "GITLAB_FAKE_URL (run through tools/with-fake.sh)")
local token = "glpat-valid-token"
local SIZE, RUNS, JOB = 256 * 1024 * 1024, 5, 1009

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  local ok = p:close()
  assert(ok, cmd .. " failed: " .. out)
  return out
end

sh(("curl -sf -X POST %s/__control/jobs/%d -d '{\"artifacts_size\": %d}'"):format(url, JOB, SIZE))
local api = ("%s/api/v4/projects/1/jobs/%d/artifacts"):format(url, JOB)
local dir = sh("mktemp -d"):gsub("%s+$", "")

local ours, theirs, peaks = {}, {}, {}
for i = 1, RUNS do
  -- alternate who goes first, so neither always meets a warm cache
  local order = i % 2 == 1 and { "ours", "curl" } or { "curl", "ours" }
  for _, who in ipairs(order) do
    local file = dir .. "/a.zip"
    os.remove(file)
    if who == "ours" then
      local out = sh(("GITLAB_URL=%s GITLAB_TOKEN=%s %s bench/download_one.lua 1 %d %s"):format(
        url, token, lua, JOB, file))
      local dt, n, peak = out:match("^(%S+) (%d+) (%-?%d+)")
      assert(tonumber(n) == SIZE, "downloaded " .. tostring(n))
      ours[#ours + 1], peaks[#peaks + 1] = tonumber(dt), tonumber(peak)
    else
      local out = sh(("curl -sf -o %s -H 'PRIVATE-TOKEN: %s' -w '%%{time_total} %%{size_download}' %s"):format(
        file, token, api))
      local dt, n = out:match("^(%S+) (%d+)")
      assert(tonumber(n) == SIZE, "curl downloaded " .. tostring(n))
      theirs[#theirs + 1] = tonumber(dt)
    end
  end
end
sh("rm -rf " .. dir)

local function median(t)
  local s = { table.unpack and table.unpack(t) or unpack(t) }
  table.sort(s)
  return s[math.floor((#s + 1) / 2)]
end
local mo, mc, mp = median(ours), median(theirs), median(peaks)
local mib = SIZE / 1048576
print(("%-44s %8s %10s %12s"):format("256 MiB archive to a file", "median s", "MiB/s", "peak RSS"))
print(("%-44s %8.3f %10.1f %9.1f MiB"):format("client:artifacts{path = ...} (" .. lua .. ")", mo, mib / mo, mp / 1024))
print(("%-44s %8.3f %10.1f %12s"):format("curl -o", mc, mib / mc, ""))
local ratio = mc / mo
print(("throughput, ours / curl's: %.2fx (goal >= 0.90x: %s); peak RSS %.1f MiB (goal < 24 MiB: %s)"):format(
  ratio, ratio >= 0.9 and "met" or "MISSED", mp / 1024, mp < 24 * 1024 and "met" or "MISSED"))
