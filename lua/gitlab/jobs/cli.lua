--- The `gitlab-jobs` command: its options and commands, parsed with argparse,
-- and the run from arguments to exit status. The commands themselves are in
-- gitlab.jobs.cli_run; the same tables make the man page (gitlab.jobs.cli_man).
-- @module gitlab.jobs.cli
-- @local
local M = {}

M.NAME = "gitlab-jobs"

-- Exit statuses (see the man page).
M.OK, M.FAILED, M.USAGE, M.UNSUCCESSFUL, M.TIMEOUT = 0, 1, 2, 3, 4

-- ---- converters: each returns the value, or nil and why -----------------------

local function id(s)
  if not s:match("^%d+$") then return nil, ("positive integer expected, got '%s'"):format(s) end
  local n = tonumber(s)
  if n < 1 or n > 2 ^ 53 then return nil, ("positive integer up to 2^53 expected, got '%s'"):format(s) end
  return n
end

local function count(s)
  if not s:match("^%d+$") then return nil, ("non-negative integer expected, got '%s'"):format(s) end
  return tonumber(s)
end

local function seconds(s)
  local n = tonumber(s)
  if not n or n ~= n or n < 0 or n == math.huge then
    return nil, ("a number of seconds expected, got '%s'"):format(s)
  end
  return n
end

local function positive_seconds(s)
  local n, why = seconds(s)
  if n == 0 then return nil, ("more than 0 seconds expected, got '%s'"):format(s) end
  return n, why
end

local function project(s)
  if s == "" or s == "." or s == ".." then return nil, ("'%s' is not a project"):format(s) end
  if s:match("^%d+$") then return id(s) end
  return s
end

local function pattern(s)
  local ok, why = pcall(string.find, "", s)
  if not ok then return nil, ("bad Lua pattern '%s': %s"):format(s, tostring(why):gsub("^.-:%d+: ", "")) end
  return s
end

local function variable(s)
  local name, value = s:match("^([^=]+)=(.*)$")
  if not name then return nil, ("NAME=VALUE expected, got '%s'"):format(s) end
  return { key = name, value = value }
end

local function nonempty(s)
  if s == "" then return nil, "a non-empty value expected" end
  return s
end

-- The converters that ask the library (its statuses, its reading of times),
-- made for each parser so that nothing is kept between runs.
local function library_converters(gitlab)
  return {
    status = function(s)
      for _, known in ipairs(gitlab.statuses) do
        if s == known then return s end
      end
      return nil, ("unknown status '%s'"):format(s)
    end,
    -- ISO 8601 as gitlab.filter reads it (a date alone, or a time with Z or an offset)
    iso = function(s)
      if not gitlab.filter.parse_time(s) then
        return nil, ("ISO 8601 time with Z or an offset expected, got '%s'"):format(s)
      end
      return s
    end,
  }
end

-- ---- the options and commands ---------------------------------------------------
-- Each option: { "--name", ARGNAME or false (a flag), description, [convert =
-- a function, or the name of a library converter], [many = true] (may be
-- repeated), [default =] (shown in the help and the man page) }.

M.GLOBAL = {
  { "--url", "URL", "The GitLab to talk to (default: $GITLAB_URL, else $CI_SERVER_URL).", convert = nonempty },
  { "--token", "TOKEN", "An access token, sent as PRIVATE-TOKEN (default: $GITLAB_TOKEN; "
    .. "$CI_JOB_TOKEN is sent as the job token when there is no other)." },
  { "--json", false, "Print the JSON GitLab sent, one document (an array for lists)." },
  { "--no-color", false, "No colours, even on a terminal." },
  { "--quiet", false, "No progress on stderr." },
  { "--retries", "N", "Retries of a request that failed on the way (default 3).", convert = count },
  { "--ca-file", "FILE", "The CA bundle to verify the server against, instead of the system's." },
}

local FILTERS = {
  { "--status", "S", "Only jobs with this status (repeat: any of them).", convert = "status", many = true },
  { "--name", "LUA_PATTERN", "Only jobs whose name matches this Lua pattern (unanchored).", convert = pattern },
  { "--stage", "S", "Only jobs of this stage (repeat: any of them).", many = true },
  { "--ref", "R", "Only jobs of this branch or tag (repeat: any of them).", many = true },
  { "--failure-reason", "R", "Only jobs that failed for this reason (repeat: any of them).", many = true },
  { "--since", "ISO8601", "Only jobs created after this time.", convert = "iso" },
  { "--until", "ISO8601", "Only jobs created before this time.", convert = "iso" },
}

local SCOPE = { "--scope", "S", "Ask GitLab for jobs with this status only (repeat: any of them).",
  convert = "status", many = true }
local TIMEOUT = { "--timeout", "S", "Give up after S seconds (exit status 4).", convert = seconds }
local INTERVAL = { "--interval", "S", "Look at the job every S seconds at first (default 1; "
  .. "longer while nothing changes).", convert = positive_seconds }
local MANUAL = { "--manual", false, "Wait while the job is manual or scheduled, too." }

local P, JOB, PIPE = { "PROJECT", "A numeric id or a path (group/sub/project)." },
  { "JOB_ID", "A job id." }, { "PIPELINE_ID", "A pipeline id." }

local function with(list, ...)
  local out = {}
  for _, o in ipairs({ ... }) do out[#out + 1] = o end
  for _, o in ipairs(list or {}) do out[#out + 1] = o end
  return out
end

M.COMMANDS = {
  { "list", { P }, "List a project's jobs, newest first, reading every page as needed.",
    with(FILTERS, SCOPE, { "--limit", "N", "At most N jobs (0: all).", convert = count,
      default = "100" }) },
  { "pipeline", { P, PIPE }, "List a pipeline's jobs.",
    with(FILTERS, { "--include-retried", false, "Show the jobs that were retried, too." }, SCOPE) },
  { "bridges", { P, PIPE }, "List a pipeline's trigger jobs." },
  { "get", { P, JOB }, "Show one job, as key: value lines." },
  { "job", {}, "Show the job of the job token ($CI_JOB_TOKEN)." },
  { "trace", { P, JOB }, "Write the job's log to stdout, raw bytes.",
    { { "--strip", false, "Remove ANSI escape sequences (colours)." } } },
  { "follow", { P, JOB }, "Write the job's log as it grows, until the job ends.",
    { { "--strip", false, "Remove ANSI escape sequences (colours)." }, TIMEOUT, INTERVAL, MANUAL } },
  { "wait", { P, JOB }, "Wait until the job finishes; print its status.", { TIMEOUT, INTERVAL, MANUAL } },
  { "retry", { P, JOB }, "Retry the job; print the new job." },
  { "cancel", { P, JOB }, "Cancel the job.",
    { { "--force", false, "Kill a job that is canceling (GitLab 17.10 and later)." } } },
  { "erase", { P, JOB }, "Erase the job's log and artifacts." },
  { "play", { P, JOB }, "Play a manual job.",
    { { "-v --variable", "NAME=VALUE", "A variable for the job (repeat for more).", convert = variable,
      many = true } } },
  { "retry-until-success", { P, JOB }, "Wait for the job and retry it while it fails, until it passes.",
    { { "--attempts", "N", "Runs in all, the first included (default 3).", convert = id },
      { "--when", "REASON", "Retry only a job that failed for this reason (repeat: any of them).", many = true },
      TIMEOUT, INTERVAL,
      { "--base-delay", "S", "The first pause between runs (default 2; it doubles).", convert = positive_seconds } } },
  { "artifacts", { P, JOB }, "Download the job's artifacts archive, atomically.",
    { { "-o --output", "FILE", "Where to write it (default artifacts.zip)." } } },
  { "artifact", { P, JOB, { "PATH", "A file's path inside the archive." } },
    "Download one file of the job's artifacts (default: to stdout).",
    { { "-o --output", "FILE", "Write it to FILE, atomically, instead." } } },
  { "failures", { P }, "Count the failure reasons of a project's last jobs, most frequent first.",
    { { "--limit", "N", "Look at the last N jobs.", convert = id, default = "100" } } },
}

-- ---- argparse ------------------------------------------------------------------

local CONVERT_OF_ARG = { PROJECT = project, JOB_ID = id, PIPELINE_ID = id, PATH = nonempty }

-- A converter whose complaint names what it converts.
local function named(name, convert)
  return function(s)
    local v, why = convert(s)
    if v == nil then return nil, name .. ": " .. why end
    return v
  end
end

local function add_option(parser, o, converters)
  local el
  if o[2] then
    el = parser:option(o[1]):argname("<" .. o[2] .. ">")
    local convert = converters[o.convert] or o.convert
    if convert then el:convert(named(o[1]:match("%-%-[%w-]+"), convert)) end
    if o.many then el:count("*") end
    if o.default then el:default(o.default) end
  else
    el = parser:flag(o[1])
  end
  el:description(o[3])
end

--- The argparse parser of the command, and its commands' parsers by name;
-- gitlab is the library (require("gitlab.jobs")).
function M.parser(gitlab)
  local converters = library_converters(gitlab)
  local argparse = require("argparse")
  local p = argparse(M.NAME)
    :description("The GitLab CI jobs of a project, from a shell or a CI script.")
    :epilog("Exit status: 0 done (wait, follow, retry-until-success: the job succeeded), 1 a run-time "
      .. "error, 2 a usage error, 3 the job ended failed, canceled or skipped (or the retries were "
      .. "exhausted), 4 --timeout passed first. See gitlab-jobs(1).")
    :command_target("command")
    :help_max_width(80)
  p:flag("--version"):description("Print the version and exit."):action(function()
    io.stdout:write(M.NAME, " ", gitlab.VERSION, "\n")
    os.exit(0)
  end)
  for _, o in ipairs(M.GLOBAL) do add_option(p, o, converters) end
  local commands = {}
  for _, c in ipairs(M.COMMANDS) do
    local cmd = p:command(c[1]):summary(c[3]):description(c[3])
    commands[c[1]] = cmd
    for _, a in ipairs(c[2]) do
      cmd:argument(a[1]):target(a[1]:lower()):argname(a[1]):description(a[2])
        :convert(named(a[1], CONVERT_OF_ARG[a[1]]))
    end
    for _, o in ipairs(c[4] or {}) do add_option(cmd, o, converters) end
  end
  return p, commands
end

-- The command named in args, for the usage of a failed parse: the first word
-- that is not an option or an option's value.
local function command_in(args)
  local takes = {}
  for _, o in ipairs(M.GLOBAL) do if o[2] then takes[o[1]] = true end end
  local i = 1
  while args[i] do
    local a = args[i]
    if a == "--" then return nil end
    if a:sub(1, 1) ~= "-" then return a end
    i = i + ((takes[a] and 2) or 1)
  end
end

--- Parses args: the result table, or nil, the reason and the usage to show.
function M.parse(gitlab, args)
  local p, commands = M.parser(gitlab)
  local ok, res = p:pparse(args)
  if ok then return res end
  local cmd = commands[command_in(args) or ""]
  local why = tostring(res):gsub("\nDid you mean (.-)%?$", " (did you mean %1?)"):gsub("\n", "; ")
  return nil, why, (cmd or p):get_usage()
end

return M
