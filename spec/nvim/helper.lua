--- The busted side of the nvim specs: runs a scenario of spec/nvim/ in a real
-- `nvim --headless` against the fake GitLab, and reads what it reports.
local fake = require("fake")
local assert = require("luassert")

local M = {}

local ROOT = (function()
  local p = io.popen("pwd")
  local dir = p:read("*l")
  p:close()
  return dir
end)()

local quote = fake.shell_quote
M.quote = quote

--- Runs a shell command; raises with its output unless it succeeds.
function M.sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local text = p:read("*a")
  local ok, _, code = p:close()
  if ok ~= true and ok ~= 0 then error(("%s: exit %s\n%s"):format(cmd, tostring(code), text), 2) end
  return text
end

--- A fresh temporary directory.
function M.tmpdir()
  return (M.sh("mktemp -d"):gsub("%s+$", ""))
end

--- A git repository whose origin remote is project on the fake (https form
-- unless ssh is given), on branch main: where :GitlabJobs finds its project.
function M.repo(project, ssh)
  local dir = M.tmpdir()
  local host = fake.url:match("^%a+://([^/]+)")
  local remote = ssh and ("git@%s:%s.git"):format(host:gsub(":%d+$", ""), project)
    or ("%s/%s.git"):format(fake.url, project)
  M.sh(("git init -q %s && git -C %s checkout -q -b main && git -C %s remote add origin %s")
    :format(quote(dir), quote(dir), quote(dir), quote(remote)))
  return dir
end

--- The environment every run gets: the fake's url and the valid token, and
-- its own config and data homes (no user plugin is loaded).
local function env_of(home, env)
  local all = {
    GITLAB_URL = fake.url, GITLAB_TOKEN = fake.TOKEN,
    XDG_CONFIG_HOME = home .. "/config", XDG_DATA_HOME = home .. "/data", XDG_STATE_HOME = home .. "/state",
    XDG_CACHE_HOME = home .. "/cache",
  }
  for k, v in pairs(env or {}) do all[k] = v end
  local parts = {}
  for k, v in pairs(all) do
    if v ~= false then parts[#parts + 1] = k .. "=" .. quote(v) end
  end
  table.sort(parts)
  return table.concat(parts, " ")
end
M.env_of = env_of

--- The shell command that starts the nvim of a scenario, and the path of
-- its report; opts.env (false unsets), opts.cwd (default: a fresh
-- directory, no repository), opts.headless.
function M.command(scenario, opts)
  local home = M.tmpdir()
  local out = home .. "/out.json"
  local env = env_of(home, opts.env)
  local cmd = ("cd %s && env -u GITLAB_TOKEN %s GITLAB_NVIM_SCENARIO=%s GITLAB_NVIM_OUT=%s nvim%s -u %s -i NONE -n")
    :format(quote(opts.cwd or home), env, quote(ROOT .. "/spec/nvim/" .. scenario .. ".lua"), quote(out),
      opts.headless and " --headless" or "", quote(ROOT .. "/spec/nvim/init.lua"))
  return cmd, out, home
end

local read = fake.read_file
M.read = read

--- What a scenario's nvim reported (raises with its error when it failed).
function M.result(out, what)
  local text = read(out)
  assert(text and text ~= "", (what or "nvim") .. " wrote no result")
  local r = fake.decode(text)
  if r.error then error("in nvim: " .. r.error, 2) end
  return r
end

--- Runs scenario (spec/nvim/<scenario>.lua) in nvim --headless, with the
-- fake answering each request after 1 s; returns its report.
function M.run(scenario, opts)
  opts = opts or {}
  opts.headless = true
  local cmd, out = M.command(scenario, opts)
  fake.clear_requests() -- the spec's own questions are not the plugin's
  fake.config{ latency = opts.latency or 1 }
  local ok, err = pcall(M.sh, "timeout 120 sh -c " .. quote(cmd))
  fake.config{ latency = 0 }
  if not ok then error(err, 2) end
  return M.result(out, scenario)
end

--- Asserts the editor never waited on the network: every call ended, the
-- pulse ticked many times during each one the fake answered (10 ms apart,
-- the answer takes 1 s),
-- and never paused for as long as half an answer.
function M.assert_responsive(r)
  assert(#r.calls > 0, "no call was started")
  for i, call in ipairs(r.calls) do
    assert(call.done, ("call %d (%s) never ended"):format(i, call.method))
    -- (a refused connection fails at once: no answer to wait for)
    assert(call.kind == "network" or call.ticks >= 20,
      ("the 10 ms timer ticked %d times during call %d (%s)"):format(call.ticks, i, call.method))
  end
  assert(r.max_gap_ms < 500, ("the 10 ms timer waited %.0f ms once"):format(r.max_gap_ms))
end

--- Asserts no message showed a Lua traceback, a Lua source position or a token.
function M.assert_clean_notes(r)
  for _, n in ipairs(r.notes) do
    assert(not n.msg:find("traceback", 1, true), "a traceback was shown: " .. n.msg)
    assert(not n.msg:find("%.lua:%d+:"), "a Lua position was shown: " .. n.msg)
    for _, secret in ipairs(fake.SECRETS) do
      assert(not n.msg:find(secret, 1, true), "a token was shown: " .. n.msg)
    end
  end
end

--- What vim.notify showed in r, the texts alone.
function M.messages(r)
  local texts = {}
  for i, n in ipairs(r.notes) do texts[i] = n.msg end
  return texts
end

-- The characters of a line (UTF-8 sequences), one display cell each here.
local function chars(line)
  local t = {}
  for c in line:gmatch("[%z\1-\127\194-\244][\128-\191]*") do t[#t + 1] = c end
  return t
end

--- The table of lines (a header, then rows) cut at the header's columns:
-- an array of rows, each { HEADER = cell text }. Raises when a cell runs
-- into the next column (no space before a column's start): not aligned.
function M.cells(lines)
  local header = chars(lines[1])
  local starts, names = {}, {}
  local i = 1
  while i <= #header do
    if header[i] ~= " " and (i == 1 or header[i - 1] == " ") then
      starts[#starts + 1] = i
      local j = i
      while j <= #header and header[j] ~= " " do j = j + 1 end
      names[#names + 1] = table.concat(header, "", i, j - 1)
      i = j
    else
      i = i + 1
    end
  end
  local rows = {}
  for r = 2, #lines do
    local c = chars(lines[r])
    local row = {}
    for k, s in ipairs(starts) do
      assert(s == 1 or c[s - 1] == nil or c[s - 1] == " ",
        ("line %d is not aligned: column %s does not start at %d: %s"):format(r, names[k], s, lines[r]))
      local e = starts[k + 1] and starts[k + 1] - 1 or #c
      row[names[k]] = (table.concat(c, "", s, math.min(e, #c)):gsub("%s+$", ""))
    end
    rows[#rows + 1] = row
  end
  return rows
end

--- Asserts the rows (from cells) show jobs, in order: id, status, stage,
-- name, ref, and the failure reason of a failed job.
function M.assert_rows(rows, jobs)
  assert.are.equal(#jobs, #rows, "rows")
  for i, job in ipairs(jobs) do
    local row = rows[i]
    assert.are.same({ tostring(job.id), job.status, job.stage, job.name, job.ref },
      { row.ID, row.STATUS, row.STAGE, row.NAME, row.REF }, "row " .. i)
    assert.are.equal(job.status == "failed" and job.failure_reason or "", row.REASON, "reason of " .. job.id)
    assert.is_truthy(row.TIME:match("^%d+[smhd]"), "time of " .. job.id .. ": " .. row.TIME)
  end
end

local function sleep(seconds) require("socket").sleep(seconds) end

--- Waits (seconds at most) for path to exist; raises after that.
function M.until_file(path, seconds)
  for _ = 1, seconds * 20 do
    if read(path) then return end
    sleep(0.05)
  end
  error("no " .. path .. " after " .. seconds .. " s", 2)
end

--- Waits (seconds at most) for the tmux server of command prefix tmux to
-- have no session left, then stops it.
function M.until_gone(tmux, seconds)
  for _ = 1, seconds * 20 do
    local status = os.execute(tmux .. "has-session >/dev/null 2>&1")
    if status ~= true and status ~= 0 then break end
    sleep(0.05)
  end
  os.execute(tmux .. "kill-server >/dev/null 2>&1")
end

M.ROOT = ROOT
return M
