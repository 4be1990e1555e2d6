--- How the helpers complain: a bad argument raises, naming it; a failure at
-- run time is an error object (the core's metatable, the fields of the C
-- calls' errors), returned as nil, err. Internal: used by the helpers.
-- @module gitlab.jobs.errors
local core = require("gitlab.jobs.core")

local M = {}

-- Every level below is error()'s as seen by the function's caller, as if it
-- had called error(msg, level) itself: 2 blames the caller's caller.

--- Raises "bad argument #n to 'fname' (msg)".
function M.argerror(fname, n, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), level + 1)
end

--- Raises "bad argument #n to 'fname' (name: want expected, got <type>)".
function M.typeerror(fname, n, name, want, value, level)
  M.argerror(fname, n, ("%s: %s expected, got %s"):format(name, want, type(value)), level + 1)
end

--- Checks an options table against spec (name -> Lua type, or "any");
-- returns it, or {} for nil.
function M.options(fname, opts, spec, argn, level)
  level = level + 1
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    M.typeerror(fname, argn, "options", "table", opts, level)
  end
  for k, v in pairs(opts) do
    if type(k) ~= "string" then
      M.argerror(fname, argn, "option names must be strings", level)
    end
    local want = spec[k]
    if want == nil then
      M.argerror(fname, argn, ("unknown option '%s'"):format(k), level)
    end
    if want ~= "any" and type(v) ~= want then
      M.typeerror(fname, argn, k, want, v, level)
    end
  end
  return opts
end

--- Is v a whole number in [lo, math.huge)?
function M.whole(v, lo)
  return type(v) == "number" and v >= lo and v % 1 == 0 and v < math.huge
end

--- A project and a job id, checked by the core exactly as client:get checks
-- them: blamed on fname's first two arguments.
function M.job_args(client, fname, project, job_id)
  core.check(client, { name = fname, shift = 0 }, "get", project, job_id)
end

-- ---- error objects ---------------------------------------------------------

--- An error object: fields (kind and message at least) with the core's metatable.
function M.new(fields)
  assert(fields.kind and fields.message, "an error object needs kind and message")
  return setmetatable(fields, core.error_mt)
end

--- "/projects/:id", the way the client writes it.
function M.project_path(project)
  return "/projects/" .. (type(project) == "string" and core.escape(project) or ("%d"):format(project))
end

--- "/projects/:id/jobs/:job_id", the way the client writes it.
function M.job_path(project, job_id)
  return ("%s/jobs/%d"):format(M.project_path(project), job_id)
end

--- A URL the server sent, fit for a message: without userinfo or query
-- (where a token could hide), and not too long.
function M.shown_url(url)
  local s = url:gsub("^([%a][%w+.-]*://)[^/?#]*@", "%1...@")
  local q = s:find("[?#]")
  if q then s = s:sub(1, q - 1) .. "?..." end
  if #s > 200 then s = s:sub(1, 200) .. "..." end
  return s
end

--- The answer to GET path linked its next page to url, which the client
-- will not follow (why).
function M.bad_link(path, url, why)
  return M.new({
    kind = "decode",
    message = ("the next page's Link <%s> cannot be followed: %s"):format(M.shown_url(url), why),
    method = "GET",
    path = path,
  })
end

--- The job is not finished when the time is up.
function M.timeout(project, job, timeout)
  return M.new({
    kind = "timeout",
    message = ("job %d is still %s after %g s"):format(job.id, tostring(job.status), timeout),
    method = "GET",
    path = M.job_path(project, job.id),
    job = job,
  })
end

--- retry_until_success gave up on job after runs runs.
function M.exhausted(job, runs, why)
  return M.new({
    kind = "exhausted",
    message = ("job %d %s"):format(job.id, why),
    job = job,
    attempts = runs,
  })
end

--- follow saw the log shrink below what it had delivered.
function M.reset(project, job, delivered)
  return M.new({
    kind = "reset",
    message = ("the log of job %s shrank below the %d bytes already delivered (erased?)"):format(
      tostring(job.id), delivered),
    method = "GET",
    path = M.job_path(project, job.id) .. "/trace",
    job = job,
    offset = delivered,
  })
end

return M
