--- The commands of `gitlab-jobs`, and main: from the arguments to the exit
-- status. Each command does one thing through the library and prints it,
-- as JSON (what GitLab sent, see gitlab.jobs.cli_json) or for reading.
-- @module gitlab.jobs.cli_run
-- @local
local cli = require("gitlab.jobs.cli")
local json = require("gitlab.jobs.cli_json")
local out = require("gitlab.jobs.cli_out")
local unpack = table.unpack or unpack

local M = {}

-- ---- what the commands share ------------------------------------------------------

-- The predicate of the filter options, or nil when none was given.
local function where(filter, a)
  local ps = {}
  local function add(p) ps[#ps + 1] = p end
  if #a.status > 0 then add(filter.status(unpack(a.status))) end
  if a.name then add(filter.name(a.name)) end
  if #a.stage > 0 then add(filter.stage(unpack(a.stage))) end
  if #a.ref > 0 then add(filter.ref(unpack(a.ref))) end
  if #a.failure_reason > 0 then add(filter.failure_reason(unpack(a.failure_reason))) end
  if a.since then add(filter.created_after(a.since)) end
  if a["until"] then add(filter.created_before(a["until"])) end
  if #ps == 0 then return nil end
  return filter.all(unpack(ps))
end

-- Every item of a list method, with the pages read shown as progress.
local function collect(s, what, iter)
  local items = {}
  s.rec.on_page(function(n)
    out.progress(s.ctx, ("%s: %d page%s read"):format(what, n, n == 1 and "" or "s"))
  end)
  for item in iter do items[#items + 1] = item end
  s.rec.on_page(nil)
  out.done(s.ctx)
  return items
end

local function show_jobs(s, jobs)
  if s.a.json then
    s.ctx.out:write(json.array(s.rec, jobs), "\n")
  elseif #jobs > 0 then
    out.jobs(s.ctx, jobs, s.gitlab.filter.parse_time)
  end
  return cli.OK
end

local function show_job(s, job)
  if s.a.json then
    s.ctx.out:write(json.text(s.rec, job), "\n")
  else
    out.job(s.ctx, job, s.gitlab.filter.parse_time)
  end
  return cli.OK
end

-- An action's answer: the job as JSON, or as a one-row table.
local function show_action(s, job, err)
  if not job then return nil, err end
  if s.a.json then return show_job(s, job) end
  return show_jobs(s, { job })
end

-- The options of a poll (wait, follow, retry-until-success), its status shown as progress.
local function poll_opts(s, o)
  o = o or {}
  o.timeout, o.interval = s.a.timeout, s.a.interval
  if s.a.manual then o.blocked = "wait" end
  o.on_update = function(j)
    out.progress(s.ctx, ("waiting for job %s %s: %s"):format(tostring(j.id), tostring(j.name), tostring(j.status)))
  end
  return o
end

-- How a poll ended: 0 when the job succeeded, 3 when it did not, 4 when the
-- time ran out first; show(job) prints the final job.
local function ended(s, job, err, show)
  out.done(s.ctx)
  if not job then
    if err.kind == "timeout" then
      s.ctx.err:write(tostring(err), "\n")
      return cli.TIMEOUT
    end
    return nil, err
  end
  if show then show(job) end
  return job.status == "success" and cli.OK or cli.UNSUCCESSFUL
end

-- A sink that writes a log to stdout, without ANSI sequences when strip is
-- set: whole lines at a time, so that no sequence is cut in two.
local function log_writer(s, strip)
  local partial = ""
  local o = s.ctx.out
  return function(chunk)
    if not strip then
      if chunk then o:write(chunk) o:flush() end
      return
    end
    local text = partial .. (chunk or "")
    local cut = (chunk == nil or #text > 65536) and #text or (text:find("\n[^\n]*$") or 0)
    partial = text:sub(cut + 1)
    if cut > 0 then
      o:write(s.gitlab.trace.strip_ansi(text:sub(1, cut)))
      o:flush()
    end
  end
end

-- A download's on_progress: a bar on stderr, redrawn at most ten times a second.
local function download_progress(s, label)
  if not s.ctx.progress then return nil end
  local last = -1
  return function(done, total)
    local now = s.client:now()
    if now - last < 0.1 and done ~= total then return end
    last = now
    out.progress(s.ctx, out.bar(done, total, label))
  end
end

-- A download to a file: its path and size, as JSON or a line.
local function saved(s, path, n, err)
  out.done(s.ctx)
  if not n then return nil, err end
  if s.a.json then
    s.ctx.out:write(json.object({ "path", "bytes" }, { path = path, bytes = n }), "\n")
  else
    s.ctx.out:write(("%s  %s\n"):format(path, out.bytes(n)))
  end
  return cli.OK
end

-- ---- the commands ------------------------------------------------------------------

local C = {}

function C.list(s, a)
  local opts = { scope = #a.scope > 0 and a.scope or nil, limit = a.limit > 0 and a.limit or nil,
    where = where(s.gitlab.filter, a) }
  return show_jobs(s, collect(s, "jobs", s.client:each("list", a.project, opts)))
end

function C.pipeline(s, a)
  local opts = { scope = #a.scope > 0 and a.scope or nil, include_retried = a.include_retried or nil,
    where = where(s.gitlab.filter, a) }
  return show_jobs(s, collect(s, "jobs", s.client:each("pipeline_jobs", a.project, a.pipeline_id, opts)))
end

function C.bridges(s, a)
  return show_jobs(s, collect(s, "bridges", s.client:each("bridges", a.project, a.pipeline_id)))
end

function C.get(s, a)
  local job, err = s.client:get(a.project, a.job_id)
  if not job then return nil, err end
  return show_job(s, job)
end

function C.job(s)
  local job, err = s.client:job()
  if not job then return nil, err end
  return show_job(s, job)
end

function C.trace(s, a)
  local write = log_writer(s, a.strip)
  local n, err = s.client:trace(a.project, a.job_id, { sink = write })
  write(nil)
  if not n then return nil, err end
  return cli.OK
end

function C.follow(s, a)
  local write = log_writer(s, a.strip)
  local job, err = s.client:follow(a.project, a.job_id, poll_opts(s, {
    on_chunk = write,
    on_reset = function()
      write(nil)
      s.ctx.err:write("-- the job's log was erased or replaced; it starts again below --\n")
    end,
  }))
  write(nil)
  return ended(s, job, err)
end

function C.wait(s, a)
  local job, err = s.client:wait(a.project, a.job_id, poll_opts(s))
  return ended(s, job, err, function(j)
    if a.json then show_job(s, j) else s.ctx.out:write(out.status(s.ctx, j.status), "\n") end
  end)
end

function C.retry(s, a) return show_action(s, s.client:retry(a.project, a.job_id)) end
function C.erase(s, a) return show_action(s, s.client:erase(a.project, a.job_id)) end

function C.cancel(s, a)
  return show_action(s, s.client:cancel(a.project, a.job_id, a.force and { force = true } or nil))
end

function C.play(s, a)
  return show_action(s, s.client:play(a.project, a.job_id, #a.variable > 0 and { variables = a.variable } or nil))
end

C["retry-until-success"] = function(s, a)
  local job, err = s.client:retry_until_success(a.project, a.job_id, poll_opts(s, {
    attempts = a.attempts, when = #a.when > 0 and a.when or nil, base_delay = a.base_delay,
    on_attempt = function(j, n)
      out.progress(s.ctx, ("run %d: job %s %s"):format(n, tostring(j.id), tostring(j.status)))
    end,
  }))
  if not job and err.kind == "exhausted" then
    out.done(s.ctx)
    show_action(s, err.job)
    s.ctx.err:write(tostring(err), "\n")
    return cli.UNSUCCESSFUL
  end
  return ended(s, job, err, function(j) show_action(s, j) end)
end

function C.artifacts(s, a)
  local path = a.output or "artifacts.zip"
  return saved(s, path, s.client:artifacts(a.project, a.job_id,
    { path = path, on_progress = download_progress(s, path) }))
end

function C.artifact(s, a)
  if a.output then
    return saved(s, a.output, s.client:artifact(a.project, a.job_id, a.path,
      { path = a.output, on_progress = download_progress(s, a.output) }))
  end
  local o = s.ctx.out
  local n, err = s.client:artifact(a.project, a.job_id, a.path, {
    sink = function(chunk) o:write(chunk) end,
    on_progress = download_progress(s, a.path),
  })
  out.done(s.ctx)
  o:flush()
  if not n then return nil, err end
  return cli.OK
end

function C.failures(s, a)
  local count, latest, reasons = {}, {}, {}
  for _, job in ipairs(collect(s, "jobs", s.client:each("list", a.project, { limit = a.limit }))) do
    if job.status == "failed" then
      local r = job.failure_reason or "unknown_failure"
      if not count[r] then reasons[#reasons + 1] = r end
      count[r] = (count[r] or 0) + 1
      latest[r] = latest[r] or job.id -- newest first: the first seen is the latest
    end
  end
  table.sort(reasons, function(x, y)
    if count[x] ~= count[y] then return count[x] > count[y] end
    return x < y
  end)
  local rows = {}
  for i, r in ipairs(reasons) do rows[i] = { reason = r, count = count[r], latest = latest[r] } end
  if a.json then
    local parts = {}
    for i, row in ipairs(rows) do parts[i] = json.object({ "reason", "count", "latest" }, row) end
    s.ctx.out:write("[", table.concat(parts, ","), "]\n")
  elseif #rows > 0 then
    local cells = {}
    for i, row in ipairs(rows) do cells[i] = { row.reason, tostring(row.count), tostring(row.latest) } end
    out.table(s.ctx, { { "REASON", flex = true }, { "COUNT" }, { "LATEST" } }, cells)
  end
  return cli.OK
end

M.COMMANDS = C

-- ---- main ------------------------------------------------------------------------

-- stderr with every secret replaced: no token ever shows in a message.
local function redacting(f, secrets)
  local w = {}
  function w.write(_, ...)
    local text = table.concat({ ... })
    for _, secret in ipairs(secrets) do
      local i = text:find(secret, 1, true)
      while i do
        text = text:sub(1, i - 1) .. "[MASKED]" .. text:sub(i + #secret)
        i = text:find(secret, i + 8, true)
      end
    end
    f:write(text)
    return w
  end
  function w.flush() f:flush() end
  return w
end

-- Why the library refused what the command line gave it (a raised bad
-- argument, or a call that needs a token it was not given), or nil when e is
-- anything else. The text is the library's, without its position and its
-- function's name: "token: holds a CR, ...".
local function refused(e)
  if type(e) ~= "string" then return nil end
  local inner = e:match("^[^\n]-bad argument #%d+ to '[^']*' %((.*)%)$")
  return inner or e:match("^[^\n]-gitlab%.jobs: ([^\n]*needs a job token.*)$")
end

local function client_options(a)
  local o = { url = a.url, token = a.token, ca_file = a.ca_file }
  if a.retries then o.retries = { max = a.retries } end
  return o
end

--- Runs the command line args with the library gitlab and its JSON recorder
-- rec (gitlab.jobs.cli_json.capture); returns the exit status.
function M.main(args, gitlab, rec)
  local a, why, usage = cli.parse(gitlab, args)
  local ctx = out.context({ quiet = a and a.quiet, no_color = a and a.no_color })
  local secrets = {}
  for _, t in ipairs({ a and a.token or "", os.getenv("GITLAB_TOKEN") or "", os.getenv("CI_JOB_TOKEN") or "" }) do
    if #t >= 4 then secrets[#secrets + 1] = t end
  end
  ctx.err = redacting(ctx.err, secrets)
  if not a then
    ctx.err:write(cli.NAME, ": ", why, "\n", usage, "\n")
    return cli.USAGE
  end
  local s = { ctx = ctx, a = a, gitlab = gitlab, rec = rec }
  local ok, code, err = xpcall(function()
    s.client = gitlab.new(client_options(a))
    return C[a.command](s, a)
  end, function(e)
    if gitlab.is_error(e) or refused(e) then return e end
    return debug.traceback(tostring(e), 2)
  end)
  if s.client then s.client:close() end
  if ok and code then return code end
  out.done(ctx)
  local e = ok and err or code
  if gitlab.is_error(e) then
    ctx.err:write(tostring(e), "\n")
    return cli.FAILED
  end
  local reason = refused(e)
  if reason then
    -- the library refused an argument before sending anything
    local _, commands = cli.parser(gitlab)
    ctx.err:write(cli.NAME, ": ", reason, "\n", commands[a.command]:get_usage(), "\n")
    return cli.USAGE
  end
  ctx.err:write(cli.NAME, ": internal error: ", tostring(e), "\n")
  return cli.FAILED
end

return M
