-- Retry the jobs of a pipeline that failed for a flaky reason, until they pass.
--
--   GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-... \
--     lua examples/retry-flaky.lua PROJECT PIPELINE_ID [--attempts N] [--timeout SECONDS] [REASON ...]
--
-- The reasons default to runner_system_failure and stuck_or_timeout_failure: a
-- failing script is not retried. Each job gets up to N runs in all (default 3),
-- and at most SECONDS of waiting (default 3600). Jobs are handled one after the
-- other. One line per job on stdout; progress on stderr when it is a terminal.
-- The exit status is 0 when every job retried passed.
local gitlab = require("gitlab.jobs")
local filter = gitlab.filter
local unpack = table.unpack or unpack
local cli = dofile((arg[0]:match("^(.-)[^/]*$")) .. "cli.lua")

local function usage()
  cli.usage("retry-flaky.lua PROJECT PIPELINE_ID [--attempts N] [--timeout SECONDS] [REASON ...]")
end

local project, pipeline = arg[1], tonumber(arg[2] or "")
if not project or not pipeline then usage() end
project = cli.project(project)
local attempts, timeout, reasons = 3, 3600, {}
local i = 3
while arg[i] do
  local a = arg[i]
  if a == "--attempts" or a == "--timeout" then
    local v = tonumber(arg[i + 1] or "")
    if not v or v <= 0 then usage() end
    if a == "--attempts" then attempts = v else timeout = v end
    i = i + 2
  else
    reasons[#reasons + 1] = a
    i = i + 1
  end
end
if #reasons == 0 then reasons = { "runner_system_failure", "stuck_or_timeout_failure" } end

local progress = cli.isatty(2)
local function say(fmt, ...)
  if progress then io.stderr:write(("\27[2m" .. fmt .. "\27[0m\n"):format(...)) end
end

local client = gitlab.new()   -- url and token from $GITLAB_URL and $GITLAB_TOKEN
local flaky, err = client:all("pipeline_jobs", project, pipeline, {
  scope = "failed",
  where = filter.failure_reason(unpack(reasons)),
})
if not flaky then cli.fail(err) end
if #flaky == 0 then
  print(("Pipeline %d: no job failed for %s."):format(pipeline, table.concat(reasons, ", ")))
  os.exit(0)
end

local all_passed = true
for _, job in ipairs(flaky) do
  local label = ("#%d %s"):format(job.id, job.name)
  say("%s failed (%s): retrying", label, job.failure_reason)
  local final, rerr = client:retry_until_success(project, job.id, {
    when = reasons,
    attempts = attempts,
    timeout = timeout,
    on_attempt = function(j, n)
      say("%s run %d (#%d): %s%s", label, n, j.id, j.status,
        j.failure_reason and (" (" .. j.failure_reason .. ")") or "")
    end,
    on_update = function(j)
      if j.id ~= job.id then say("%s -> #%d %s", label, j.id, j.status) end
    end,
  })
  if final then
    print(("%s: passed as #%d"):format(label, final.id))
  else
    all_passed = false
    if rerr.kind == "exhausted" then
      local last = rerr.job
      print(("%s: still %s after %d run(s), last #%d%s"):format(label, last.status, rerr.attempts, last.id,
        last.failure_reason and (" (" .. last.failure_reason .. ")") or ""))
    elseif rerr.kind == "timeout" then
      print(("%s: gave up waiting after %g s (#%d %s)"):format(label, timeout, rerr.job.id, rerr.job.status))
    else
      print(("%s: %s"):format(label, tostring(rerr)))
    end
  end
end
client:close()
os.exit(all_passed and 0 or 1)
