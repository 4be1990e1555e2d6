--- The log buffer: a job's log grows in it as the job runs, its colours as
-- highlights and GitLab's sections as folds (collapsed ones closed), until the
-- job finishes. Each look is a job GET, then a trace GET of the bytes past
-- those already shown; the next look comes `refresh` seconds later.
local ansi = require("gitlab.jobs.nvim.ansi")
local message = require("gitlab.jobs.nvim.message")

local M = {}

local FINISHED = { success = true, failed = true, canceled = true, skipped = true }
local ns = vim.api.nvim_create_namespace("gitlab-jobs-log")

local function set_lines(f, first, last, lines)
  vim.bo[f.buf].modifiable = true
  vim.api.nvim_buf_set_lines(f.buf, first, last, false, lines)
  vim.bo[f.buf].modifiable = false
end

-- Makes one fold in win (rows 0-based), closed if its section is collapsed.
local function make_fold(win, fold)
  vim.api.nvim_win_call(win, function()
    vim.cmd(("%d,%dfold"):format(fold.first + 1, fold.last + 1))
    if not fold.collapsed then vim.cmd(("%dfoldopen"):format(fold.first + 1)) end
  end)
end

-- Every fold again, in the order they were made (a window new to the buffer).
local function refold(f, win)
  vim.api.nvim_win_call(win, function()
    vim.wo.foldmethod = "manual"
    vim.cmd("normal! zE")
  end)
  for i = 1, f.made do make_fold(win, f.folds[i]) end
end

-- A section's fold, made once its lines are in the buffer (make_folds).
local function add_fold(f, first, last, collapsed)
  if last <= first then return end
  f.folds[#f.folds + 1] = { first = first, last = last, collapsed = collapsed }
end

-- Makes the folds added since the last time, in every window on the buffer.
local function make_folds(f)
  for i = f.made + 1, #f.folds do
    for _, win in ipairs(vim.fn.win_findbuf(f.buf)) do make_fold(win, f.folds[i]) end
  end
  f.made = #f.folds
end

-- A section marker on row: a start opens a section; an end closes the
-- innermost open one of its name, on the row before when this row goes on
-- with another section's start.
local function on_marker(f, ev, row, starts_after)
  if ev.kind == "start" then
    f.open[#f.open + 1] = { name = ev.name, first = row, collapsed = ev.collapsed }
    return
  end
  for i = #f.open, 1, -1 do
    local sec = f.open[i]
    if sec.name == ev.name then
      table.remove(f.open, i)
      add_fold(f, sec.first, starts_after and row - 1 or row, sec.collapsed)
      return
    end
  end
end

-- Appends text (log bytes) to the buffer: complete lines are added for
-- good; the unfinished last line is shown, and replaced as it grows.
local function append(f, text, final)
  local data = f.pending .. text
  local lines, marks, start = {}, {}, 1
  while true do
    local nl = data:find("\n", start, true)
    if not nl then break end
    local row = f.rows + #lines
    local shown, spans, events = ansi.line(f.state, data:sub(start, nl - 1))
    lines[#lines + 1] = shown
    for _, s in ipairs(spans) do marks[#marks + 1] = { row, s } end
    for i, ev in ipairs(events) do
      local starts_after = false
      for j = i + 1, #events do starts_after = starts_after or events[j].kind == "start" end
      on_marker(f, ev, row, starts_after)
    end
    start = nl + 1
  end
  f.pending = data:sub(start)
  local tail -- the unfinished last line, as shown for now
  if f.pending ~= "" and final then
    -- the log ends without a newline: its last line is complete now
    local shown, spans = ansi.line(f.state, f.pending)
    lines[#lines + 1] = shown
    for _, s in ipairs(spans) do marks[#marks + 1] = { f.rows + #lines - 1, s } end
    f.pending = ""
  elseif f.pending ~= "" then
    tail = ansi.line({ fg = f.state.fg, bold = f.state.bold }, f.pending)
  end
  -- windows at the end of the log stay at its end
  local tailing = {}
  for _, win in ipairs(vim.fn.win_findbuf(f.buf)) do
    if vim.api.nvim_win_get_cursor(win)[1] >= vim.api.nvim_buf_line_count(f.buf) then
      tailing[#tailing + 1] = win
    end
  end
  local done = #lines
  lines[done + 1] = tail
  set_lines(f, f.rows, -1, lines)
  vim.api.nvim_buf_clear_namespace(f.buf, ns, f.rows, -1)
  for _, m in ipairs(marks) do
    vim.api.nvim_buf_add_highlight(f.buf, ns, m[2].group, m[1], m[2].col, m[2].end_col)
  end
  f.rows = f.rows + done
  make_folds(f)
  local last = vim.api.nvim_buf_line_count(f.buf)
  for _, win in ipairs(tailing) do vim.api.nvim_win_set_cursor(win, { last, 0 }) end
end

local function stop(f)
  if f.done then return end
  f.done = true
  if f.handle then f.handle:cancel() end
  f.timer:stop()
  f.timer:close()
end

local function finish(f)
  local job = f.job
  -- sections still open (a job that stopped inside one) end with the log
  for i = #f.open, 1, -1 do add_fold(f, f.open[i].first, f.rows - 1, f.open[i].collapsed) end
  f.open = {}
  make_folds(f)
  stop(f)
  local text = ("job %d %s: %s"):format(job.id, tostring(job.name), job.status)
  if job.status == "success" then message.info(text) else message.warn(text) end
end

local look

-- Starts one call for f: its value goes to on_value; a failure, raised at
-- start or answered, is said (what: of which) and ends the follow.
local function ask(f, what, on_value, method, ...)
  local args = { ... }
  args[#args + 1] = function(value, err)
    f.handle = nil
    if f.done then return end
    if value == nil then
      message.error(err, what)
      return stop(f)
    end
    on_value(value)
  end
  local ok, handle = pcall(f.ctx.start, method, unpack(args))
  if not ok then
    message.error(handle, what)
    return stop(f)
  end
  f.handle = handle
end

-- Reads the log past what is shown; last: the job was seen finished.
local function read(f, last)
  local chunks = {}
  local function sink(chunk) chunks[#chunks + 1] = chunk end
  ask(f, ("log of job %d"):format(f.job_id), function()
    local text = table.concat(chunks)
    f.bytes = f.bytes + #text
    vim.b[f.buf].gitlab_log_bytes = f.bytes
    append(f, text, last)
    if last then return finish(f) end
    f.timer:start(math.floor(f.ctx.refresh() * 1000), 0, vim.schedule_wrap(function() look(f) end))
  end, "trace", f.project, f.job_id, { offset = f.bytes, sink = sink })
end

function look(f)
  if f.done then return end
  ask(f, ("job %d"):format(f.job_id), function(job)
    f.job = job
    vim.b[f.buf].gitlab_job_status = job.status
    read(f, FINISHED[job.status] == true)
  end, "get", f.project, f.job_id)
end

-- The buffer of a job's log, found by name (or nil).
local function find(name)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_valid(b) and vim.api.nvim_buf_get_name(b) == name then return b end
  end
end

--- Opens the log of job_id in project in a new buffer (in a split when split
-- is true) and follows it. ctx: start(method, ...) as driver:start, refresh().
function M.open(ctx, project, job_id, split)
  ansi.define_highlights()
  local name = ("gitlab://%s/-/jobs/%d"):format(project, job_id)
  local old = find(name)
  if old then vim.api.nvim_buf_delete(old, { force = true }) end
  local buf = vim.api.nvim_create_buf(true, true)
  vim.api.nvim_buf_set_name(buf, name)
  vim.bo[buf].filetype = "gitlab-jobs-log"
  vim.bo[buf].modifiable = false
  if split then vim.cmd("split") end
  vim.api.nvim_win_set_buf(0, buf)
  vim.wo.foldmethod = "manual"
  local f = {
    ctx = ctx, buf = buf, project = project, job_id = job_id,
    bytes = 0, pending = "", rows = 0, state = ansi.state(), open = {}, folds = {}, made = 0,
    timer = vim.loop.new_timer(), done = false,
  }
  vim.b[buf].gitlab_log_bytes = 0
  vim.keymap.set("n", "q", function() vim.api.nvim_buf_delete(buf, { force = true }) end,
    { buffer = buf, nowait = true, silent = true, desc = "gitlab-jobs: close" })
  vim.api.nvim_create_autocmd("BufWipeout", { buffer = buf, once = true, callback = function() stop(f) end })
  vim.api.nvim_create_autocmd("BufWinEnter", {
    buffer = buf, callback = function() refold(f, vim.api.nvim_get_current_win()) end,
  })
  look(f)
  return buf
end

return M
