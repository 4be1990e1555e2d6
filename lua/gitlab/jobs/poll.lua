--- The status poll behind client:wait, client:retry_until_success and
-- client:follow: look at a job until it is finished (or waits for someone),
-- pausing longer while nothing changes. Every pause goes through client:sleep
-- and every reading of time through client:now, so a host (or a spec)
-- decides how time passes. Internal: used by the client's helpers.
-- @module gitlab.jobs.poll
local errors = require("gitlab.jobs.errors")

local M = {}

local FINISHED = { success = true, failed = true, canceled = true, skipped = true }
local BLOCKED = { manual = true, scheduled = true }

--- Is status one of a finished job (success, failed, canceled, skipped)?
-- @string status
-- @treturn boolean
function M.finished(status) return FINISHED[status] == true end

--- The options every poll takes, beside the caller's own.
M.OPTIONS = {
  interval = "number", max_interval = "number", timeout = "number",
  on_update = "function", blocked = "string",
}

--- Raises unless v is nil or a number in (0, inf): a bad option of fname's
-- third argument. level as errors.argerror's.
function M.positive(fname, name, v, level)
  if v ~= nil and not (v > 0 and v < math.huge) then
    errors.argerror(fname, 3, name .. ": positive number expected", level + 1)
  end
end

--- The poll's settings from opts (checked already against the option types),
-- with the deadline counted from now: interval (default 1), max_interval
-- (default 30, or interval if larger), timeout and deadline (or nil),
-- blocked ("return" or "wait") and on_update.
-- Raised errors blame the caller's caller (the user of client:wait, ...).
function M.settings(client, fname, opts)
  M.positive(fname, "interval", opts.interval, 3)
  M.positive(fname, "max_interval", opts.max_interval, 3)
  local interval = opts.interval or 1
  local max_interval = opts.max_interval or math.max(30, interval)
  if max_interval < interval then
    errors.argerror(fname, 3, "max_interval: must not be less than interval", 3)
  end
  local timeout = opts.timeout
  if timeout ~= nil and (timeout ~= timeout or timeout < 0) then
    errors.argerror(fname, 3, "timeout: non-negative number expected", 3)
  end
  local blocked = opts.blocked or "return"
  if blocked ~= "wait" and blocked ~= "return" then
    errors.argerror(fname, 3, ("blocked: \"wait\" or \"return\" expected, got '%s'"):format(blocked), 3)
  end
  return {
    interval = interval, max_interval = max_interval, timeout = timeout,
    deadline = timeout and client:now() + timeout,
    blocked = blocked, on_update = opts.on_update,
  }
end

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

--- Looks at the job until it is finished, or manual or scheduled unless
-- s.blocked is "wait"; returns it, or nil, err (a failing look, the deadline).
-- on_look(job), when given, runs after every look; it returns true when it
-- saw something new (the pause then starts over from interval), or nil, err
-- to stop.
function M.watch(client, project, job_id, s, on_look)
  local job, err = client:get(project, job_id)
  if not job then return nil, err end
  if s.on_update then s.on_update(job) end
  local delay, changed = s.interval, true
  while true do
    if on_look then
      local active, lerr = on_look(job)
      if lerr then return nil, lerr end
      changed = changed or active
    end
    if FINISHED[job.status] then return job end
    if s.blocked ~= "wait" and BLOCKED[job.status] then return job end
    delay = changed and s.interval or math.min(delay * 1.5, s.max_interval)
    if not M.pause(client, delay, s.deadline) then
      return nil, errors.timeout(project, job, s.timeout)
    end
    local status = job.status
    job, err = client:get(project, job_id)
    if not job then return nil, err end
    changed = job.status ~= status
    if changed and s.on_update then s.on_update(job) end
  end
end

return M
