--- The command's human output: aligned tables sized to the terminal, statuses
-- in colour on a terminal, durations, ages and sizes in human units, progress
-- on stderr.
-- @module gitlab.jobs.cli_out
-- @local
local M = {}

-- ---- the terminal --------------------------------------------------------------

--- Are stdout and stderr terminals? One shell asked, for both.
function M.terminals()
  local a, b, c = os.execute("t=0; test -t 1 && t=1; test -t 2 && t=$((t + 2)); exit $t")
  local code = c or a                             -- 5.2+: true|nil, "exit", code
  if type(code) ~= "number" then code = 0 end
  if b == nil and code >= 256 then code = math.floor(code / 256) end -- 5.1: the wait status
  return code % 2 == 1, code >= 2
end

-- The terminal's width by tput (else stty, where TERM is unknown), asked
-- only when stdout is a terminal.
local function tput_cols()
  local p = io.popen("tput cols 2>/dev/null || stty size 2>/dev/null | cut -d' ' -f2")
  if not p then return nil end
  local n = tonumber(p:read("*l") or "")
  p:close()
  return n
end

--- How the command writes, from the environment and the global options:
-- out and err (files), colour (stdout is a terminal, NO_COLOR unset and no
-- --no-color), progress (stderr is a terminal and no --quiet), width (the
-- table's limit: $COLUMNS, else the terminal's, else none), now (for ages).
function M.context(o)
  local getenv = o.getenv or os.getenv
  local tty_out, tty_err = M.terminals()
  local columns = tonumber(getenv("COLUMNS") or "")
  if not (columns and columns > 0) then columns = tty_out and tput_cols() or nil end
  return {
    out = o.out or io.stdout,
    err = o.err or io.stderr,
    colour = tty_out and getenv("NO_COLOR") == nil and not o.no_color,
    progress = not o.quiet and tty_err,
    width = columns and columns > 0 and math.floor(columns) or nil,
    now = os.time(),
  }
end

-- ---- units -------------------------------------------------------------------------

--- Seconds as "45s", "1m 14s", "2h 05m", "3d 04h"; nil as "-".
function M.duration(s)
  if type(s) ~= "number" then return "-" end
  if s < 1 then return s > 0 and "<1s" or "0s" end
  s = math.floor(s + 0.5)
  if s < 60 then return ("%ds"):format(s) end
  if s < 3600 then return ("%dm %02ds"):format(math.floor(s / 60), s % 60) end
  if s < 86400 then return ("%dh %02dm"):format(math.floor(s / 3600), math.floor(s % 3600 / 60)) end
  return ("%dd %02dh"):format(math.floor(s / 86400), math.floor(s % 86400 / 3600))
end

-- A span of time in its largest unit: "45s", "12m", "3h", "5d", "4mo", "2y".
local function span(s)
  if s < 60 then return ("%ds"):format(s) end
  if s < 3600 then return ("%dm"):format(math.floor(s / 60)) end
  if s < 86400 then return ("%dh"):format(math.floor(s / 3600)) end
  if s < 86400 * 60 then return ("%dd"):format(math.floor(s / 86400)) end
  if s < 86400 * 365 then return ("%dmo"):format(math.floor(s / (86400 * 30))) end
  return ("%dy"):format(math.floor(s / (86400 * 365)))
end

--- How long ago epoch seconds t was, seen at now: "3d ago", "in 2h", "now".
function M.age(t, now)
  if type(t) ~= "number" then return "-" end
  local d = math.floor(now - t)
  if d > -5 and d < 5 then return "now" end
  if d < 0 then return "in " .. span(-d) end
  return span(d) .. " ago"
end

--- Bytes as "512 B", "1.5 KiB", "3.2 MiB".
function M.bytes(n)
  local units = { "B", "KiB", "MiB", "GiB", "TiB" }
  local i = 1
  while n >= 1024 and i < #units do n, i = n / 1024, i + 1 end
  return i == 1 and ("%d B"):format(n) or ("%.1f %s"):format(n, units[i])
end

-- ---- colours -----------------------------------------------------------------------

local COLOURS = {
  success = "32", failed = "31", running = "34", canceling = "35",
  canceled = "90", skipped = "90", manual = "36", scheduled = "36",
  created = "33", pending = "33", preparing = "33", waiting_for_resource = "33", waiting_for_callback = "33",
}

--- The status in its colour when ctx.colour says so.
function M.status(ctx, s)
  s = s or "-"
  local c = ctx.colour and COLOURS[s]
  if not c then return s end
  return "\27[" .. c .. "m" .. s .. "\27[0m"
end

-- ---- tables ------------------------------------------------------------------------

-- Display width of UTF-8 text (one column a character).
local function width(s)
  local _, n = s:gsub("[^\128-\191]", "")
  return n
end
M.width = width

-- s cut to n columns, the last one an ellipsis when cut.
local function cut(s, n)
  if width(s) <= n then return s end
  if n < 2 then return n == 1 and "…" or "" end
  local out, w = {}, 0
  for ch in s:gmatch("[^\128-\191][\128-\191]*") do
    if w + 1 > n - 1 then break end
    out[#out + 1] = ch
    w = w + 1
  end
  return table.concat(out) .. "…"
end
M.cut = cut

--- Writes rows as an aligned table. cols: { {title, flex = true|nil,
-- optional = n|nil, paint = function(ctx, text) | nil} }; rows: arrays of
-- strings. When the table is wider than ctx.width, the optional columns go
-- first (lowest n first), then the flexible ones are cut, the widest first.
function M.table(ctx, cols, rows)
  local shown = {}
  for i = 1, #cols do shown[i] = true end
  local w = {}
  for i, c in ipairs(cols) do
    w[i] = width(c[1])
    for _, r in ipairs(rows) do w[i] = math.max(w[i], width(r[i] or "")) end
  end
  local function total()
    local t, n = 0, 0
    for i in ipairs(cols) do
      if shown[i] then t, n = t + w[i], n + 1 end
    end
    return t + 2 * math.max(n - 1, 0)
  end
  local limit = ctx.width
  if limit then
    local order = {}
    for i, c in ipairs(cols) do if c.optional then order[#order + 1] = i end end
    table.sort(order, function(a, b) return cols[a].optional < cols[b].optional end)
    for _, i in ipairs(order) do
      if total() <= limit then break end
      shown[i] = false
    end
    while total() > limit do
      local widest
      for i, c in ipairs(cols) do
        local min = math.max(width(c[1]), 6)
        if shown[i] and c.flex and w[i] > min and (not widest or w[i] > w[widest]) then widest = i end
      end
      if not widest then break end
      w[widest] = w[widest] - 1
    end
  end
  local last = 0
  for i in ipairs(cols) do if shown[i] then last = i end end
  local function line(cells, paint)
    local parts = {}
    for i, c in ipairs(cols) do
      if shown[i] then
        local text = cut(cells[i] or "", w[i])
        local pad = i == last and "" or (" "):rep(w[i] - width(text))
        if paint and c.paint then text = c.paint(ctx, text) end
        parts[#parts + 1] = text .. pad
      end
    end
    ctx.out:write(table.concat(parts, "  "), "\n")
  end
  local titles = {}
  for i, c in ipairs(cols) do titles[i] = c[1] end
  line(titles, false)
  for _, r in ipairs(rows) do line(r, true) end
end

--- Writes `key: value` lines, the values aligned; pairs: { {key, value} }.
function M.pairs(ctx, list)
  local n = 0
  for _, p in ipairs(list) do n = math.max(n, #p[1]) end
  for _, p in ipairs(list) do
    ctx.out:write(p[1], ":", (" "):rep(n - #p[1] + 1), p[2], "\n")
  end
end

-- ---- jobs ------------------------------------------------------------------------

local function reason_of(job)
  return job.status == "failed" and (job.failure_reason or "unknown_failure") or ""
end

--- Writes jobs as a table: ID STATUS STAGE NAME REF DURATION AGE, and REASON
-- when one of them failed. parse_time reads GitLab's times (gitlab.filter's).
function M.jobs(ctx, jobs, parse_time)
  local cols = {
    { "ID" }, { "STATUS", paint = M.status }, { "STAGE", flex = true }, { "NAME", flex = true },
    { "REF", flex = true }, { "DURATION", optional = 2 }, { "AGE", optional = 1 },
  }
  local failed = false
  local rows = {}
  for i, job in ipairs(jobs) do
    rows[i] = {
      tostring(job.id), tostring(job.status or "-"), tostring(job.stage or "-"), tostring(job.name or "-"),
      tostring(job.ref or "-"), M.duration(job.duration), M.age(parse_time(job.created_at), ctx.now),
      reason_of(job),
    }
    failed = failed or job.status == "failed"
  end
  if failed then cols[#cols + 1] = { "REASON", flex = true } end
  M.table(ctx, cols, rows)
end

-- A time as GitLab wrote it, with how long ago it was.
local function when(ctx, iso, parse_time)
  return ("%s (%s)"):format(iso, M.age(parse_time(iso), ctx.now))
end

--- Writes one job as key: value lines, the fields a reader looks for.
function M.job(ctx, job, parse_time)
  local list = {}
  local function add(k, v)
    if v ~= nil and v ~= "" then list[#list + 1] = { k, tostring(v) } end
  end
  add("id", job.id)
  add("name", job.name)
  add("status", M.status(ctx, job.status))
  add("failure_reason", job.status == "failed" and job.failure_reason or nil)
  add("stage", job.stage)
  add("ref", job.ref and (job.ref .. (job.tag and " (tag)" or "")))
  add("pipeline", type(job.pipeline) == "table" and job.pipeline.id or nil)
  add("user", type(job.user) == "table" and job.user.username or nil)
  add("runner", type(job.runner) == "table" and (job.runner.description or job.runner.id) or nil)
  for _, k in ipairs({ "created_at", "started_at", "finished_at", "erased_at" }) do
    add(k, job[k] and when(ctx, job[k], parse_time))
  end
  add("duration", job.duration and M.duration(job.duration))
  add("queued_duration", job.queued_duration and M.duration(job.queued_duration))
  add("allow_failure", job.allow_failure)
  add("coverage", job.coverage)
  add("tag_list", type(job.tag_list) == "table" and table.concat(job.tag_list, ", ") or nil)
  if type(job.artifacts_file) == "table" and job.artifacts_file.filename then
    add("artifacts_file", ("%s (%s)"):format(job.artifacts_file.filename, M.bytes(job.artifacts_file.size or 0)))
  end
  add("artifacts_expire_at", job.artifacts_expire_at and when(ctx, job.artifacts_expire_at, parse_time))
  add("web_url", job.web_url)
  M.pairs(ctx, list)
end

-- ---- progress ----------------------------------------------------------------------

--- Shows text on stderr's current line, when ctx.progress says so.
function M.progress(ctx, text)
  if ctx.progress then
    ctx.err:write("\r", text, "\27[K")
    ctx.err:flush()
  end
end

--- Clears the progress line.
function M.done(ctx)
  if ctx.progress then ctx.err:write("\r\27[K") end
end

--- A download's progress: a bar when the total is known.
function M.bar(done, total, label)
  if not total or total <= 0 then return ("%s %s"):format(label, M.bytes(done)) end
  local cells = 24
  local full = math.floor(cells * done / total + 0.5)
  return ("%s [%s%s] %3d%% %s / %s"):format(label, ("#"):rep(full), ("."):rep(cells - full),
    math.floor(100 * done / total), M.bytes(done), M.bytes(total))
end

return M
