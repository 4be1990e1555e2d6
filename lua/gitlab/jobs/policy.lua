--- Waiting on jobs: client:wait and client:retry_until_success, and the
-- option checks, pauses and errors they share with client:follow.
-- Every pause goes through client:sleep and every reading of time through
-- client:now, so a host (or a spec) decides how time passes.
local core = require("gitlab.jobs.core")

local M = {}

local FINISHED = { success = true, failed = true, canceled = true, skipped = true }
local BLOCKED = { manual = true, scheduled = true }

function M.finished(status) return FINISHED[status] == true end
function M.blocked(status) return BLOCKED[status] == true end

-- ---- arguments -------------------------------------------------------------

local function argerror(fname, i, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(i, fname, msg), level + 1)
end
M.argerror = argerror

--- Checks an options table against spec (name -> Lua type); returns it, or {}.
function M.check_opts(fname, opts, spec, argn, level)
  argn, level = argn or 3, (level or 2) + 1
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    argerror(fname, argn, "options: table expected, got " .. type(opts), level)
  end
  for k, v in pairs(opts) do
    if type(k) ~= "string" then
      argerror(fname, argn, "option names must be strings", level)
    end
    local want = spec[k]
    if want == nil then
      argerror(fname, argn, ("unknown option '%s'"):format(k), level)
    end
    if want ~= "any" and type(v) ~= want then
      argerror(fname, argn, ("%s: %s expected, got %s"):format(k, want, type(v)), level)
    end
  end
  return opts
end

local function describe_value(v)
  if type(v) == "string" then return ("string '%s'"):format(v) end
  return type(v)
end

--- project (an id or a path) and job_id, checked the way the one-request calls check them.
function M.check_job_args(fname, project, job_id)
  local function id(v)
    return type(v) == "number" and v >= 1 and v < 2 ^ 53 and v % 1 == 0
  end
  if not (id(project) or (type(project) == "string" and project ~= "")) then
    argerror(fname, 1, "project: positive integer or path string expected, got " .. describe_value(project), 3)
  end
  if not id(job_id) then
    argerror(fname, 2, "job_id: positive integer expected, got " .. describe_value(job_id), 3)
  end
end

local function positive(fname, name, v, level)
  if v ~= nil and not (v > 0 and v < math.huge) then
    argerror(fname, 3, name .. ": positive number expected", level + 1)
  end
end

--- interval (default 1), max_interval (default 30, or interval if larger), timeout (or nil).
function M.intervals(fname, opts)
  positive(fname, "interval", opts.interval, 3)
  positive(fname, "max_interval", opts.max_interval, 3)
  local interval = opts.interval or 1
  local max_interval = opts.max_interval or math.max(30, interval)
  if max_interval < interval then
    argerror(fname, 3, "max_interval: must not be less than interval", 3)
  end
  local timeout = opts.timeout
  if timeout ~= nil and (timeout ~= timeout or timeout < 0) then
    argerror(fname, 3, "timeout: non-negative number expected", 3)
  end
  return interval, max_interval, timeout
end

--- "return" (default): a manual or scheduled job is returned as it is; "wait": it is waited for.
function M.check_blocked(fname, v)
  if v == nil or v == "return" then return "return" end
  if v ~= "wait" then
    argerror(fname, 3, ("blocked: \"wait\" or \"return\" expected, got '%s'"):format(tostring(v)), 3)
  end
  return v
end

-- ---- time and errors -------------------------------------------------------

--- Sleeps delay seconds, never past deadline; false when the deadline has come.
function M.pause(client, delay, deadline)
  if deadline then
    local left = deadline - client:now()
    if left <= 0 then return false end
    if delay > left then delay = left end
  end
  client:sleep(delay)
  return true
end

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

--- "/projects/:id/jobs/:job_id", the way the client writes it.
function M.job_path(project, job_id)
  local p = type(project) == "string" and escape(project) or ("%d"):format(project)
  return ("/projects/%s/jobs/%d"):format(p, job_id)
end

function M.timeout_error(project, job, timeout)
  return setmetatable({
    kind = "timeout",
    message = ("job %d is still %s after %g s"):format(job.id, tostring(job.status), timeout),
    method = "GET",
    path = M.job_path(project, job.id),
    job = job,
  }, core.error_mt)
end

-- ---- wait ------------------------------------------------------------------

local WAIT_OPTS = {
  interval = "number", max_interval = "number", timeout = "number",
  on_update = "function", blocked = "string",
}

local function wait(client, project, job_id, opts, interval, max_interval, deadline, timeout)
  local job, err = client:get(project, job_id)
  if not job then return nil, err end
  local on_update = opts.on_update
  if on_update then on_update(job) end
  local delay, changed = interval, true
  while true do
    if FINISHED[job.status] then return job end
    if opts.blocked ~= "wait" and BLOCKED[job.status] then return job end
    delay = changed and interval or math.min(delay * 1.5, max_interval)
    if not M.pause(client, delay, deadline) then
      return nil, M.timeout_error(project, job, timeout)
    end
    local status = job.status
    job, err = client:get(project, job_id)
    if not job then return nil, err end
    changed = job.status ~= status
    if changed and on_update then on_update(job) end
  end
end

--- client:wait(project, job_id [, opts]) -> job | nil, err
function M.wait(client, project, job_id, opts)
  M.check_job_args("wait", project, job_id)
  opts = M.check_opts("wait", opts, WAIT_OPTS)
  local interval, max_interval, timeout = M.intervals("wait", opts)
  M.check_blocked("wait", opts.blocked)
  local deadline = timeout and client:now() + timeout
  return wait(client, project, job_id, opts, interval, max_interval, deadline, timeout)
end

-- ---- retry_until_success ---------------------------------------------------

local RETRY_OPTS = {
  attempts = "number", when = "any", on_attempt = "function", base_delay = "number",
  max_delay = "number", interval = "number", max_interval = "number", timeout = "number",
  on_update = "function", blocked = "string",
}

local function check_when(when)
  if when == nil then return function() return true end end
  if type(when) == "function" then return when end
  if type(when) ~= "table" then
    argerror("retry_until_success", 3,
      "when: function or list of failure_reason strings expected, got " .. type(when), 3)
  end
  local set = {}
  for i, v in ipairs(when) do
    if type(v) ~= "string" then
      argerror("retry_until_success", 3, ("when[%d]: string expected, got %s"):format(i, type(v)), 3)
    end
    set[v] = true
  end
  return function(job) return job.failure_reason ~= nil and set[job.failure_reason] == true end
end

local function exhausted(job, runs, why)
  return setmetatable({
    kind = "exhausted",
    message = ("job %d %s"):format(job.id, why),
    job = job,
    attempts = runs,
  }, core.error_mt)
end

local function describe(job)
  if job.status == "failed" and job.failure_reason then
    return ("failed (%s)"):format(job.failure_reason)
  end
  return tostring(job.status)
end

--- client:retry_until_success(project, job_id [, opts]) -> job | nil, err
function M.retry_until_success(client, project, job_id, opts)
  local fname = "retry_until_success"
  M.check_job_args(fname, project, job_id)
  opts = M.check_opts(fname, opts, RETRY_OPTS)
  local attempts = opts.attempts or 3
  if attempts < 1 or attempts % 1 ~= 0 or attempts == math.huge then
    argerror(fname, 3, "attempts: positive integer expected", 2)
  end
  local when = check_when(opts.when)
  positive(fname, "base_delay", opts.base_delay, 2)
  positive(fname, "max_delay", opts.max_delay, 2)
  local base_delay = opts.base_delay or 2
  local max_delay = opts.max_delay or math.max(60, base_delay)
  local interval, max_interval, timeout = M.intervals(fname, opts)
  M.check_blocked(fname, opts.blocked)
  local deadline = timeout and client:now() + timeout
  local on_attempt = opts.on_attempt

  local id, runs = job_id, 0
  while true do
    local job, err = wait(client, project, id, opts, interval, max_interval, deadline, timeout)
    if not job then return nil, err end
    if not FINISHED[job.status] then
      return nil, exhausted(job, runs, ("is %s: it waits for someone (blocked = \"wait\" waits too)")
        :format(job.status))
    end
    runs = runs + 1
    if on_attempt then on_attempt(job, runs) end
    if job.status == "success" then return job end
    local run_s = runs == 1 and "run" or "runs"
    if job.status == "skipped" then
      return nil, exhausted(job, runs, ("was skipped after %d %s"):format(runs, run_s))
    end
    if runs >= attempts then
      return nil, exhausted(job, runs, ("%s after %d %s"):format(describe(job), runs, run_s))
    end
    if not when(job) then
      return nil, exhausted(job, runs, ("%s, and opts.when did not allow a retry"):format(describe(job)))
    end
    -- backoff with jitter: base_delay * 2^(runs-1), at most max_delay, between half and all of it
    local d = math.min(base_delay * 2 ^ (runs - 1), max_delay)
    if not M.pause(client, d / 2 + math.random() * d / 2, deadline) then
      return nil, M.timeout_error(project, job, timeout)
    end
    local new
    new, err = client:retry(project, job.id)
    if not new then return nil, err end
    id = new.id
  end
end

return M
