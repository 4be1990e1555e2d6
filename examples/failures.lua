-- Why do jobs fail? The failure reasons of a project's last N jobs, as a table.
--
--   GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-... \
--     lua examples/failures.lua PROJECT [N]
--
-- PROJECT is an id or a path (group/project); N defaults to 100. The table goes
-- to stdout; while reading, progress goes to stderr when that is a terminal.
local gitlab = require("gitlab.jobs")
local cli = dofile((arg[0]:match("^(.-)[^/]*$")) .. "cli.lua")

local project, n = arg[1], tonumber(arg[2] or "100")
if not project or not n or n < 1 or n % 1 ~= 0 then cli.usage("failures.lua PROJECT [N]") end
project = cli.project(project)
local progress = cli.isatty(2)

local client = gitlab.new()   -- url and token from $GITLAB_URL and $GITLAB_TOKEN
local count, failed, seen = {}, 0, 0
local latest = {}             -- reason -> the newest job that failed for it

local ok, err = pcall(function()
  for job in client:each("list", project, { limit = n }) do
    seen = seen + 1
    if job.status == "failed" then
      local reason = job.failure_reason or "unknown_failure"
      failed = failed + 1
      count[reason] = (count[reason] or 0) + 1
      latest[reason] = latest[reason] or job
    end
    if progress and seen % 20 == 0 then
      io.stderr:write(("\rread %d of %d jobs"):format(seen, n))
    end
  end
end)
if progress then io.stderr:write("\r\27[K") end
if not ok then cli.fail(err) end   -- each raises the error object itself

local reasons = {}
for reason in pairs(count) do reasons[#reasons + 1] = reason end
table.sort(reasons, function(a, b)
  if count[a] ~= count[b] then return count[a] > count[b] end
  return a < b
end)

print(("Last %d jobs of %s: %d failed"):format(seen, tostring(project), failed))
if failed == 0 then os.exit(0) end
print()
local width = #"reason"
for _, r in ipairs(reasons) do width = math.max(width, #r) end
local row = "%-" .. width .. "s  %5s  %6s  %s"
print(row:format("reason", "jobs", "share", "newest"))
for _, r in ipairs(reasons) do
  local job = latest[r]
  print(row:format(r, count[r], ("%.1f%%"):format(100 * count[r] / failed),
    ("#%d %s (%s)"):format(job.id, job.name, job.ref or "?")))
end
client:close()
