-- Downloads a job's artifacts: the whole archive, or one file out of it.
--
--   GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-... \
--     lua examples/artifacts.lua PROJECT JOB_ID [FILE]
--
-- Without FILE the archive goes to artifacts-JOB_ID.zip; with FILE (a path
-- inside the archive, such as reports/junit.xml) that file goes to its own
-- name in the current directory. Either is written atomically: an
-- interrupted download leaves nothing behind. On a terminal, stderr shows a
-- progress bar. The exit status is 0 when the file was written, 1 when not.
local gitlab = require("gitlab.jobs")
local cli = dofile((arg[0]:match("^(.-)[^/]*$")) .. "cli.lua")

local project, job_id, file = arg[1], tonumber(arg[2] or ""), arg[3]
if not project or not job_id then cli.usage("artifacts.lua PROJECT JOB_ID [FILE]") end
project = cli.project(project)
local target = file and file:match("([^/]+)$") or ("artifacts-%d.zip"):format(job_id)

local function human(n)
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do
    n, i = n / 1024, i + 1
  end
  return i == 1 and ("%d %s"):format(n, units[i]) or ("%.1f %s"):format(n, units[i])
end

local client = gitlab.new()

-- A bar redrawn in place, at most ten times a second.
local on_progress
if cli.isatty(2) then
  local last = -1
  on_progress = function(done, total)
    local now = client:now()
    if now - last < 0.1 and done ~= total then return end
    last = now
    if total and total > 0 then
      local width = 30
      local filled = math.floor(width * done / total + 0.5)
      io.stderr:write(("\r%s [%s%s] %3d%% %s / %s"):format(target, ("#"):rep(filled), ("."):rep(width - filled),
        math.floor(100 * done / total), human(done), human(total)))
    else
      io.stderr:write(("\r%s %s"):format(target, human(done)))
    end
  end
end

local opts = { path = target, on_progress = on_progress }
local n, err
if file then
  n, err = client:artifact(project, job_id, file, opts)
else
  n, err = client:artifacts(project, job_id, opts)
end
if on_progress then io.stderr:write("\n") end
client:close()
if not n then cli.fail(err) end
print(("%s: %s"):format(target, human(n)))
