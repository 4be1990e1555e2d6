-- A tour of gitlab-jobs: list a project's failed jobs, show the end of one's
-- log, retry it, play a manual job with a variable, cancel a running job.
--
--   GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-... lua examples/demo.lua [project]
--
-- `make demo` runs it against the fake GitLab of spec/fake_gitlab/.
local gitlab = require("gitlab.jobs")

local project = arg[1] or "acme/platform/api"
local client = gitlab.new()   -- url and token from $GITLAB_URL and $GITLAB_TOKEN

local function check(value, err)
  if value == nil then
    io.stderr:write("error: ", tostring(err), "\n")
    os.exit(1)
  end
  return value
end

local function tail(text, n)
  local lines = {}
  for line in text:gmatch("[^\n]*\n?") do
    if line ~= "" then lines[#lines + 1] = line end
  end
  return table.concat(lines, "", math.max(1, #lines - n + 1))
end

print(("Failed jobs of %s:"):format(project))
local failed = check(client:list(project, { scope = "failed" }))
for _, job in ipairs(failed) do
  print(("  #%-5d %-16s %-8s %s"):format(job.id, job.name, job.stage, job.failure_reason or "?"))
end

local victim = failed[1]
for _, job in ipairs(failed) do
  if job.failure_reason == "script_failure" then victim = job break end
end
if victim then
  local log = check(client:trace(project, victim.id))
  print(("\nLast lines of #%d %s (%d bytes, colours stripped):"):format(victim.id, victim.name, #log))
  -- drop colours and GitLab's section markers; keep the text
  local plain = tail(log, 6):gsub("section_%a+:%d+:[^\r\n]*\r", ""):gsub("\27%[[%d;]*[A-Za-z]", ""):gsub("\r", "")
  for line in plain:gmatch("[^\n]+") do print("  | " .. line) end

  local new_job, err = client:retry(project, victim.id)
  if new_job then
    print(("\nRetried #%d: the new job is #%d, %s"):format(victim.id, new_job.id, new_job.status))
  else
    print("\nCould not retry: " .. tostring(err))
  end
end

local manual = check(client:list(project, { scope = "manual" }))
if manual[1] then
  local job = manual[1]
  local played = check(client:play(project, job.id, { variables = { DEPLOY_REASON = "demo" } }))
  print(("Played manual job #%d %s with DEPLOY_REASON=demo: now %s"):format(job.id, job.name, played.status))
end

local running = check(client:list(project, { scope = "running" }))
if running[1] then
  local job = running[1]
  local canceled = check(client:cancel(project, job.id))
  print(("Canceled running job #%d %s: now %s"):format(job.id, job.name, canceled.status))
end

-- What a failure looks like: nil plus an error table.
local _, err = client:get(project, 999999)
print(("\nAsking for a job that does not exist gives kind=%s status=%s:\n  %s")
  :format(err.kind, tostring(err.status), tostring(err)))

client:close()
