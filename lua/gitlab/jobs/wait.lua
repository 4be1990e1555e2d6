--- Waiting on jobs: client:wait, and client:retry_until_success, which waits
-- for each run and retries the ones that failed.
-- @module gitlab.jobs.wait
local core = require("gitlab.jobs.core")
local errors = require("gitlab.jobs.errors")
local poll = require("gitlab.jobs.poll")

local M = {}

--- client:wait(project, job_id [, opts]) -> job | nil, err: polls until
-- the job is finished (success, failed, canceled, skipped); returns at once
-- if it already is, and on a manual or scheduled job unless `opts.blocked = "wait"`.
-- The options are @{gitlab.jobs.core.client:wait}'s.
-- @tparam client client
-- @param project
-- @int job_id
-- @tparam[opt] table opts
-- @treturn table the final job, or nil and an error of kind `"timeout"`
function M.wait(client, project, job_id, opts)
  errors.job_args(client, "wait", project, job_id)
  opts = errors.options("wait", opts, poll.OPTIONS, 3, 2)
  return poll.watch(client, project, job_id, poll.settings(client, "wait", opts))
end

-- ---- retry_until_success ---------------------------------------------------

local RETRY_OPTS = {
  attempts = "number", when = "any", on_attempt = "function", base_delay = "number",
  max_delay = "number",
}
for k, v in pairs(poll.OPTIONS) do RETRY_OPTS[k] = v end

local FNAME = "retry_until_success"

-- opts.when as a predicate over the job that ended.
local function check_when(when)
  if when == nil then return function() return true end end
  if type(when) == "function" then return when end
  if type(when) ~= "table" then
    errors.typeerror(FNAME, 3, "when", "function or list of failure_reason strings", when, 3)
  end
  local set = {}
  for i, v in ipairs(when) do
    if type(v) ~= "string" then
      errors.typeerror(FNAME, 3, ("when[%d]"):format(i), "string", v, 3)
    end
    set[v] = true
  end
  return function(job) return job.failure_reason ~= nil and set[job.failure_reason] == true end
end

local function describe(job)
  if job.status == "failed" and job.failure_reason then
    return ("failed (%s)"):format(job.failure_reason)
  end
  return tostring(job.status)
end

--- client:retry_until_success(project, job_id [, opts]) -> job | nil, err:
-- waits for the job; while it ends failed (or canceled) and `opts.when`
-- allows it, retries it and waits for the new job, up to `opts.attempts` runs.
-- The options are @{gitlab.jobs.core.client:retry_until_success}'s.
-- @tparam client client
-- @param project
-- @int job_id
-- @tparam[opt] table opts
-- @treturn table the successful job, or nil and an error of kind `"exhausted"` (`err.job`, `err.attempts`)
function M.retry_until_success(client, project, job_id, opts)
  errors.job_args(client, FNAME, project, job_id)
  opts = errors.options(FNAME, opts, RETRY_OPTS, 3, 2)
  local attempts = opts.attempts or 3
  if not errors.whole(attempts, 1) then
    errors.argerror(FNAME, 3, "attempts: positive integer expected", 2)
  end
  local when = check_when(opts.when)
  poll.positive(FNAME, "base_delay", opts.base_delay, 2)
  poll.positive(FNAME, "max_delay", opts.max_delay, 2)
  local base_delay = opts.base_delay or 2
  local max_delay = opts.max_delay or math.max(60, base_delay)
  local s = poll.settings(client, FNAME, opts)   -- one deadline over all runs
  local on_attempt = opts.on_attempt

  local id, runs = job_id, 0
  while true do
    local job, err = poll.watch(client, project, id, s)
    if not job then return nil, err end
    if not poll.finished(job.status) then
      return nil, errors.exhausted(job, runs, ("is %s: it waits for someone (blocked = \"wait\" waits too)")
        :format(job.status))
    end
    runs = runs + 1
    if on_attempt then on_attempt(job, runs) end
    if job.status == "success" then return job end
    local run_s = runs == 1 and "run" or "runs"
    if job.status == "skipped" then
      return nil, errors.exhausted(job, runs, ("was skipped after %d %s"):format(runs, run_s))
    end
    if runs >= attempts then
      return nil, errors.exhausted(job, runs, ("%s after %d %s"):format(describe(job), runs, run_s))
    end
    if not when(job) then
      return nil, errors.exhausted(job, runs, ("%s, and opts.when did not allow a retry"):format(describe(job)))
    end
    -- the client's own jittered backoff: between half and all of base_delay * 2^(runs-1)
    if not poll.pause(client, core.backoff(client, runs, base_delay, max_delay), s.deadline) then
      return nil, errors.timeout(project, job, s.timeout)
    end
    local new
    new, err = client:retry(project, job.id)
    if not new then return nil, err end
    id = new.id
  end
end

return M
