-- One download for bench/download.lua, in a process of its own so that its
-- peak memory is its own: downloads job JOB's archive of PROJECT to PATH and
-- prints "<seconds> <bytes> <peak RSS in KiB>".
--   GITLAB_URL=... GITLAB_TOKEN=... lua bench/download_one.lua PROJECT JOB PATH
local gitlab = require("gitlab.jobs")
local project, job, path = arg[1], tonumber(arg[2]), arg[3]
local client = gitlab.new{ retries = { max = 0 } }
local t0 = client:now()
local n = assert(client:artifacts(tonumber(project) or project, job, { path = path }))
local dt = client:now() - t0
client:close()
local peak
for line in io.lines("/proc/self/status") do
  peak = peak or tonumber(line:match("^VmHWM:%s*(%d+)"))
end
print(("%.6f %d %d"):format(dt, n, peak or -1))
