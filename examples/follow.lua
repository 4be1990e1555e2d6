-- tail -f for a CI job: prints its log as it grows, until the job finishes.
--
--   GITLAB_URL=https://gitlab.example.com GITLAB_TOKEN=glpat-... \
--     lua examples/follow.lua PROJECT JOB_ID
--
-- On a terminal the log keeps its colours. Otherwise (a pipe, a file) it is
-- made plain, line by line, the way the terminal would have shown it: no
-- colour codes, no section markers, only the last state of a `\r` progress line.
-- Status changes go to stderr when that is a terminal. The exit status is 0
-- when the job succeeded, 1 when it did not.
local gitlab = require("gitlab.jobs")
local cli = dofile((arg[0]:match("^(.-)[^/]*$")) .. "cli.lua")

local project, job_id = arg[1], tonumber(arg[2] or "")
if not project or not job_id then cli.usage("follow.lua PROJECT JOB_ID") end
project = cli.project(project)
local colour = cli.isatty(1) and not os.getenv("NO_COLOR")
local progress = cli.isatty(2)

-- A line as a terminal would leave it: what follows its last \r, without escapes.
local function plain(line)
  line = gitlab.trace.strip_ansi(line):gsub("\r+\n", "\n")
  return line:match("([^\r]*)$")
end

-- Chunks end anywhere, even inside an escape sequence: keep the unfinished
-- last line until the rest of it comes (or the job ends).
local partial = ""
local function write_plain(text, final)
  text = partial .. text
  local cut = final and #text + 1 or text:match(".*\n()")
  if not cut and #text > 65536 then cut = #text + 1 end   -- a very long line: give it out
  if not cut then
    partial = text
    return
  end
  partial = text:sub(cut)
  for line in text:sub(1, cut - 1):gmatch("[^\n]*\n?") do
    if line ~= "" then io.stdout:write(plain(line)) end
  end
end

local client = gitlab.new()   -- url and token from $GITLAB_URL and $GITLAB_TOKEN
local job, err = client:follow(project, job_id, {
  on_chunk = function(text)
    if colour then io.stdout:write(text) else write_plain(text) end
    io.stdout:flush()
  end,
  on_update = function(j)
    if progress then io.stderr:write(("\27[2m-- job %d %s: %s\27[0m\n"):format(j.id, j.name, j.status)) end
  end,
  on_reset = function()
    -- the log got shorter (erased, or replaced): what follows is the new log from its start
    partial = ""
    io.stderr:write("\n-- the job's log was erased or replaced; it starts again below --\n")
  end,
})
if not colour then write_plain("", true) end
client:close()
if not job then cli.fail(err) end
if progress or job.status ~= "success" then
  io.stderr:write(("-- job %d %s"):format(job.id, job.status),
    job.failure_reason and (" (" .. job.failure_reason .. ")") or "", "\n")
end
os.exit(job.status == "success" and 0 or 1)
