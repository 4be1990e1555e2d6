--- gitlab.trace: job logs. strip_ansi and sections work on log text;
-- follow (client:follow) streams a running job's log as it grows.
-- @module gitlab.jobs.trace
local errors = require("gitlab.jobs.errors")
local poll = require("gitlab.jobs.poll")

local M = {}

--- The text without ANSI escape sequences (colours, erase-line, cursor moves,
-- OSC titles and links). Other bytes, `\r` included, are kept as they are.
-- @string text
-- @treturn string
function M.strip_ansi(text)
  if type(text) ~= "string" then errors.typeerror("trace.strip_ansi", 1, "text", "string", text, 2) end
  if not text:find("\27", 1, true) then return text end
  text = text:gsub("\27%[[0-?]*[ -/]*[@-~]", "")          -- CSI: colours, \e[0K, ...
  text = text:gsub("\27%][^\7\27]*\7", "")                 -- OSC ended by BEL
  text = text:gsub("\27%][^\7\27]*\27\\", "")              -- OSC ended by ST
  text = text:gsub("\27[ -/]*[0-~]", "")                   -- other escapes (\e7, \e(B, ...)
  return text
end

--- The sections of a log, from GitLab's markers
-- `section_start:<unix>:<name>[collapsed=true]\r\e[0K` and `section_end:<unix>:<name>\r\e[0K`,
-- in the order they start: { name, start, ["end"], duration, collapsed }.
-- A section still open (a running job) has no end and no duration.
function M.sections(log)
  if type(log) ~= "string" then errors.typeerror("trace.sections", 1, "log", "string", log, 2) end
  local out, open = {}, {}
  local pos = 1
  while true do
    local s, e, what, t, name = log:find("section_(%a+):(%d+):([%w_%.%-]+)", pos)
    if not s then break end
    pos = e + 1
    if what == "start" then
      local opts, close = log:match("^(%[[^%]\r\n]*%])()", pos)
      if close then pos = close end
      local collapsed = opts ~= nil and opts:find("collapsed=true", 1, true) ~= nil
      local sec = { name = name, start = tonumber(t), collapsed = collapsed }
      out[#out + 1] = sec
      open[#open + 1] = sec
    elseif what == "end" then
      -- closes the innermost open section of that name
      for i = #open, 1, -1 do
        local sec = open[i]
        if sec.name == name then
          sec["end"] = tonumber(t)
          sec.duration = sec["end"] - sec.start
          table.remove(open, i)
          break
        end
      end
    end
  end
  return out
end

local FOLLOW_OPTS = { on_chunk = "function", on_reset = "function" }
for k, v in pairs(poll.OPTIONS) do FOLLOW_OPTS[k] = v end

--- client:follow(project, job_id [, opts]): streams the job's log to
-- opts.on_chunk(text) until the job finishes; returns the final job.
function M.follow(client, project, job_id, opts)
  errors.job_args(client, "follow", project, job_id)
  opts = errors.options("follow", opts, FOLLOW_OPTS, 3, 2)
  local on_chunk = opts.on_chunk
  if on_chunk == nil then
    errors.typeerror("follow", 3, "on_chunk", "function", nil, 2)
  end
  local s = poll.settings(client, "follow", opts)
  local on_reset = opts.on_reset

  local delivered = 0   -- bytes of the log given to on_chunk
  local last_byte       -- the last of them, read again to see that the log is still the same
  local ranges          -- the server sends only the rest (Range): known from its first answer

  local function give(chunk)
    delivered = delivered + #chunk
    last_byte = chunk:sub(-1)
    on_chunk(chunk)
  end

  -- Delivers what the log holds beyond `delivered`: grew, reset, or nil, nil, err.
  -- Asked for the rest only, a server that honours Range answers 206 (or 416:
  -- nothing new, or, its length below what was delivered, a log that got
  -- shorter) and each byte crosses the wire once. A server that answers with
  -- the whole log instead is read from one byte before: no byte at all means
  -- the log got shorter, another byte that it was replaced; either way nothing
  -- is delivered and reset is true.
  local function read_new()
    if ranges ~= false then
      local before = delivered
      local n, status, total = client:_trace_rest(project, job_id, { offset = delivered, sink = give })
      if not n then return nil, nil, status end
      if status == 206 or status == 416 then
        ranges = true
        return delivered > before, status == 416 and total ~= nil and total < before
      end
      -- the whole log came, what was delivered skipped: from now on, the byte before is checked
      local first = ranges == nil
      ranges = false
      return delivered > before, not first and total ~= nil and total < before
    end
    local check = delivered > 0
    local skip, reset, grew = check, false, false
    local function sink(chunk)
      if reset or chunk == "" then return end
      if skip then
        skip = false
        if chunk:sub(1, 1) ~= last_byte then
          reset = true
          return
        end
        chunk = chunk:sub(2)
        if chunk == "" then return end
      end
      grew = true
      give(chunk)
    end
    local n, terr = client:trace(project, job_id, { offset = check and delivered - 1 or 0, sink = sink })
    if not n then return nil, nil, terr end
    return grew, reset or (check and skip)
  end

  -- After every look at the job, the log is read: a finished job's log is
  -- then complete. New bytes count as a change.
  return poll.watch(client, project, job_id, s, function(job)
    local grew, reset, terr = read_new()
    if terr then return nil, terr end
    if reset then
      if not on_reset then return nil, errors.reset(project, job, delivered) end
      on_reset(job, delivered)
      delivered, last_byte = 0, nil
      local _, _, rerr = read_new()
      if rerr then return nil, rerr end
      grew = true
    end
    return grew
  end)
end

return M
