--- The jobs buffer: a project's latest jobs, or a pipeline's, newest first,
-- refreshed while any of them is unfinished. Keys act on the job under the
-- cursor; each sends its request once, and says how it went with vim.notify.
local render = require("gitlab.jobs.nvim.render")
local message = require("gitlab.jobs.nvim.message")
local follow = require("gitlab.jobs.nvim.follow")

local M = {}

local ns = vim.api.nvim_create_namespace("gitlab-jobs")
local PER_PAGE = 100
-- Statuses that change by themselves: while a job shows one, the list is asked again.
local MOVING = {
  created = true, waiting_for_resource = true, preparing = true, waiting_for_callback = true,
  pending = true, running = true, canceling = true, scheduled = true,
}

local function set_lines(buf, lines)
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
end

-- The job on the cursor's line in win (the first line is the header).
local function job_at(view, win)
  local row = vim.api.nvim_win_get_cursor(win)[1]
  return view.jobs[row - 1]
end

local function draw(view, jobs)
  local keep = {}
  for _, win in ipairs(vim.fn.win_findbuf(view.buf)) do
    local job = job_at(view, win)
    keep[win] = job and job.id
  end
  view.jobs = jobs
  local lines, marks = render.table(view.jobs, os.time(), vim.fn.strdisplaywidth)
  set_lines(view.buf, lines)
  vim.api.nvim_buf_clear_namespace(view.buf, ns, 0, -1)
  for _, m in ipairs(marks) do vim.api.nvim_buf_add_highlight(view.buf, ns, m.group, m.row, m.col, m.end_col) end
  -- each window's cursor stays on its job
  for win, id in pairs(keep) do
    for i, job in ipairs(view.jobs) do
      if job.id == id then vim.api.nvim_win_set_cursor(win, { i + 1, 0 }) end
    end
  end
end

local fetch

-- Asks for the list again in `refresh` seconds, if a job may still change.
local function schedule(view)
  for _, job in ipairs(view.jobs) do
    if MOVING[job.status] then
      view.timer:start(math.floor(view.ctx.refresh() * 1000), 0, vim.schedule_wrap(function() fetch(view) end))
      return
    end
  end
end

-- Asks for the jobs; while an answer is awaited, one more ask waits its turn.
function fetch(view)
  if view.closed then return end
  if view.fetching then
    view.again = true
    return
  end
  view.fetching = true
  view.timer:stop()
  local function done(jobs, err)
    view.fetching = false
    if view.closed then return end
    if jobs then
      table.sort(jobs, function(a, b) return a.id > b.id end)
      draw(view, jobs)
    else
      message.error(err, view.what)
      if #view.jobs == 0 then set_lines(view.buf, { view.what .. ": " .. message.describe(err) }) end
    end
    if view.again then
      view.again = false
      return fetch(view)
    end
    if jobs then schedule(view) end
  end
  local ok, err
  if view.pipeline then
    ok, err = pcall(view.ctx.start, "pipeline_jobs", view.project, view.pipeline, { per_page = PER_PAGE }, done)
  else
    ok, err = pcall(view.ctx.start, "list", view.project, { per_page = PER_PAGE }, done)
  end
  if not ok then
    view.fetching = false
    message.error(err, view.what)
  end
end

-- Is an action on job awaiting its answer? Says so when it is.
local function busy(view, job)
  if not view.busy[job.id] then return false end
  message.warn(("job %d: %s already under way"):format(job.id, view.busy[job.id]))
  return true
end

-- Sends one action for job; busy until its answer, so a second press sends nothing.
-- args: the call's arguments after the job id; says(value): the notice.
local function act(view, job, label, method, args, says, refresh)
  if busy(view, job) then return end
  view.busy[job.id] = label
  local call = { method, view.project, job.id }
  for _, a in ipairs(args) do call[#call + 1] = a end
  call[#call + 1] = function(value, err)
    view.busy[job.id] = nil
    if value == nil then
      message.error(err, ("%s of job %d %s"):format(label, job.id, tostring(job.name)))
      return
    end
    message.info(says(value))
    if refresh and not view.closed then fetch(view) end
  end
  local ok, err = pcall(view.ctx.start, unpack(call))
  if not ok then
    view.busy[job.id] = nil
    message.error(err, label)
  end
end

--- "A=1 B=two" as play's variables, or nil, the word that is not NAME=value.
function M.variables(text)
  local vars, any = {}, false
  for word in text:gmatch("%S+") do
    local name, value = word:match("^([%a_][%w_]*)=(.*)$")
    if not name then return nil, word end
    vars[name], any = value, true
  end
  return any and vars or false
end

local function retry(view, job)
  act(view, job, "retry", "retry", {}, function(new)
    return ("retried job %d %s: new job %d, %s"):format(job.id, tostring(job.name), new.id, new.status)
  end, true)
end

local function cancel(view, job)
  act(view, job, "cancel", "cancel", {}, function(j)
    return ("cancel of job %d %s: %s"):format(j.id, tostring(j.name), j.status)
  end, true)
end

local function play(view, job)
  if job.status ~= "manual" then
    message.warn(("job %d %s is %s: only a manual job can be played"):format(job.id, tostring(job.name), job.status))
    return
  end
  if busy(view, job) then return end
  vim.ui.input({ prompt = ("Variables for %s (NAME=value ..., empty for none): "):format(job.name) }, function(text)
    if text == nil then return end
    local vars, bad = M.variables(text)
    if vars == nil then
      message.error(("variables: NAME=value expected, got '%s'"):format(bad), "play")
      return
    end
    act(view, job, "play", "play", vars and { { variables = vars } } or {}, function(j)
      return ("played job %d %s: %s"):format(j.id, tostring(j.name), j.status)
    end, true)
  end)
end

local function artifacts(view, job)
  if not job.artifacts_file then
    message.warn(("job %d %s has no artifacts archive"):format(job.id, tostring(job.name)))
    return
  end
  if busy(view, job) then return end
  vim.ui.input({
    prompt = ("Save the artifacts of job %d to: "):format(job.id),
    default = ("artifacts-%d.zip"):format(job.id), completion = "file",
  }, function(path)
    if path == nil or path == "" then return end
    path = vim.fn.fnamemodify(path, ":p")
    act(view, job, "download", "artifacts", { { path = path } }, function(n)
      return ("artifacts of job %d %s: %d bytes saved to %s"):format(job.id, tostring(job.name), n, path)
    end, false)
  end)
end

local function close(view)
  if view.closed then return end
  view.closed = true
  view.timer:stop()
  view.timer:close()
end

local KEYS = {
  ["<CR>"] = function(view, job) follow.open(view.ctx, view.project, job.id, true) end,
  r = retry, c = cancel, p = play, a = artifacts,
}

--- Opens the jobs of project (of its pipeline pipeline_id, if given) in the
-- current window. ctx: start(method, ...) as driver:start, refresh().
function M.open(ctx, project, pipeline_id)
  render.define_highlights()
  local name = pipeline_id and ("gitlab://%s/-/pipelines/%d"):format(project, pipeline_id)
    or ("gitlab://%s/-/jobs"):format(project)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b) == name then vim.api.nvim_buf_delete(b, { force = true }) end
  end
  local buf = vim.api.nvim_create_buf(true, true)
  vim.api.nvim_buf_set_name(buf, name)
  local view = {
    ctx = ctx, buf = buf, project = project, pipeline = pipeline_id, jobs = {}, busy = {},
    timer = vim.loop.new_timer(), closed = false,
    what = pipeline_id and ("jobs of pipeline %d"):format(pipeline_id) or ("jobs of %s"):format(project),
  }
  set_lines(buf, { "loading the " .. view.what .. " ..." })
  vim.bo[buf].filetype = "gitlab-jobs"
  vim.bo[buf].bufhidden = "wipe" -- a list out of sight is not refreshed for nothing
  vim.api.nvim_win_set_buf(0, buf)
  local function map(lhs, f, desc)
    vim.keymap.set("n", lhs, f, { buffer = buf, nowait = true, silent = true, desc = desc })
  end
  for lhs, f in pairs(KEYS) do
    map(lhs, function()
      local job = job_at(view, 0)
      if not job then return message.warn("no job on this line") end
      f(view, job)
    end, "gitlab-jobs")
  end
  map("R", function() fetch(view) end, "gitlab-jobs: refresh")
  map("q", function() vim.api.nvim_buf_delete(buf, { force = true }) end, "gitlab-jobs: close")
  vim.api.nvim_create_autocmd("BufWipeout", { buffer = buf, once = true, callback = function() close(view) end })
  fetch(view)
  return buf
end

return M
