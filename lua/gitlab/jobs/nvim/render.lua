--- The job table: one line per job, columns aligned on display width, and
-- the highlights of each line. No buffer here, only text.
local parse_time = require("gitlab.jobs.filter").parse_time

local M = {}

M.HEADER = { "ID", "STATUS", "STAGE", "NAME", "REF", "TIME", "REASON" }
local GAP = "  "

--- The highlight group of a status: GitlabJobs followed by the status in
-- CamelCase (GitlabJobsWaitingForResource), which users can link.
function M.status_group(status)
  return "GitlabJobs" .. tostring(status):gsub("_(%a)", string.upper):gsub("^%a", string.upper)
end

--- The default link of each status group, and of the table's other groups.
M.LINKS = {
  GitlabJobsSuccess = "String", GitlabJobsFailed = "DiagnosticError",
  GitlabJobsRunning = "DiagnosticWarn", GitlabJobsPreparing = "DiagnosticWarn",
  GitlabJobsCanceling = "DiagnosticWarn", GitlabJobsPending = "DiagnosticInfo",
  GitlabJobsCreated = "DiagnosticInfo", GitlabJobsWaitingForResource = "DiagnosticInfo",
  GitlabJobsWaitingForCallback = "DiagnosticInfo", GitlabJobsCanceled = "Comment",
  GitlabJobsSkipped = "Comment", GitlabJobsManual = "Special", GitlabJobsScheduled = "Special",
  GitlabJobsHeader = "Title", GitlabJobsReason = "WarningMsg",
}

--- "45s", "2m 05s", "3h 07m", "12d 04h".
function M.span(seconds)
  local s = math.max(0, math.floor(seconds + 0.5))
  local floor = math.floor
  if s < 60 then return ("%ds"):format(s) end
  if s < 3600 then return ("%dm %02ds"):format(floor(s / 60), s % 60) end
  if s < 86400 then return ("%dh %02dm"):format(floor(s / 3600), floor(s % 3600 / 60)) end
  return ("%dd %02dh"):format(floor(s / 86400), floor(s % 86400 / 3600))
end

--- How long the job ran (its duration), or, not started, how long ago it was made.
function M.time(job, now)
  if type(job.duration) == "number" then return M.span(job.duration) end
  local created = type(job.created_at) == "string" and parse_time(job.created_at)
  if created then return M.span(now - created) .. " ago" end
  return ""
end

-- A cell's text on one line: control bytes (a newline in a name) as spaces.
local function cell(v)
  if v == nil then return "" end
  return (tostring(v):gsub("[%z\1-\31\127]", " "))
end

--- lines, marks for jobs (newest first as given): the header, then one line
-- per job. marks: { row (0-based), col, end_col (bytes), group }. now: Unix
-- time; width(text): display width (vim.fn.strdisplaywidth in Neovim).
function M.table(jobs, now, width)
  local rows = { M.HEADER }
  for i, job in ipairs(jobs) do
    rows[i + 1] = {
      cell(job.id), cell(job.status), cell(job.stage), cell(job.name), cell(job.ref),
      M.time(job, now), job.status == "failed" and cell(job.failure_reason) or "",
    }
  end
  local widths = {}
  for _, row in ipairs(rows) do
    for c, text in ipairs(row) do widths[c] = math.max(widths[c] or 0, width(text)) end
  end
  local lines, marks = {}, {}
  for r, row in ipairs(rows) do
    local parts, col = {}, 0
    for c, text in ipairs(row) do
      local pad = c < #row and (" "):rep(widths[c] - width(text)) .. GAP or ""
      if r > 1 and text ~= "" and (c == 2 or c == 7) then
        local group = c == 2 and M.status_group(text) or "GitlabJobsReason"
        marks[#marks + 1] = { row = r - 1, col = col, end_col = col + #text, group = group }
      end
      parts[c] = text .. pad
      col = col + #text + #pad
    end
    lines[r] = table.concat(parts):gsub("%s+$", "")
  end
  marks[#marks + 1] = { row = 0, col = 0, end_col = #lines[1], group = "GitlabJobsHeader" }
  return lines, marks
end

--- Defines the default links (a colorscheme or the user's links win).
function M.define_highlights()
  for group, link in pairs(M.LINKS) do
    vim.cmd(("highlight default link %s %s"):format(group, link))
  end
end

return M
