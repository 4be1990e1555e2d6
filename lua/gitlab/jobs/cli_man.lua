--- The man page of `gitlab-jobs`, gitlab-jobs(1), made from the tables the
-- command parses its arguments with (gitlab.jobs.cli): `make doc` writes it
-- to doc/gitlab-jobs.1, and a spec checks that the page there is this one.
-- @module gitlab.jobs.cli_man
-- @local
local cli = require("gitlab.jobs.cli")

local M = {}

-- Text as roff reads it: backslashes and dashes escaped, no line starting with a dot.
local function roff(s)
  s = s:gsub("\\", "\\e"):gsub("%-", "\\-")
  return (s:gsub("^([.'])", "\\&%1"):gsub("\n([.'])", "\n\\&%1"))
end

local function option_line(o)
  local names = {}
  for n in o[1]:gmatch("%S+") do names[#names + 1] = "\\fB" .. roff(n) .. "\\fR" end
  local s = table.concat(names, ", ")
  if o[2] then s = s .. " \\fI" .. roff(o[2]) .. "\\fR" end
  return s
end

local function options(lines, list)
  for _, o in ipairs(list) do
    lines[#lines + 1] = ".TP"
    lines[#lines + 1] = option_line(o)
    lines[#lines + 1] = roff(o[3] .. (o.default and (" (default: " .. o.default .. ")") or ""))
  end
end

local function synopsis(c)
  local parts = { "\\fBgitlab\\-jobs\\fR", "[\\fIGLOBAL OPTIONS\\fR]", "\\fB" .. roff(c[1]) .. "\\fR" }
  for _, a in ipairs(c[2]) do parts[#parts + 1] = "\\fI" .. a[1] .. "\\fR" end
  for _, o in ipairs(c[4] or {}) do
    parts[#parts + 1] = "[" .. option_line(o) .. "]" .. (o.many and "..." or "")
  end
  return table.concat(parts, " ")
end

local EXIT = {
  { "0", "Done; for \\fBwait\\fR, \\fBfollow\\fR and \\fBretry\\-until\\-success\\fR: the job succeeded." },
  { "1", "A run\\-time error: the error's message on stderr." },
  { "2", "A usage error (an unknown command or option, a missing or malformed argument): a one\\-line "
    .. "reason and the usage on stderr; nothing was sent." },
  { "3", "\\fBwait\\fR, \\fBfollow\\fR, \\fBretry\\-until\\-success\\fR: the job ended failed, canceled "
    .. "or skipped (or manual, or the retries were exhausted)." },
  { "4", "\\fBwait\\fR, \\fBfollow\\fR, \\fBretry\\-until\\-success\\fR: \\fB\\-\\-timeout\\fR passed first." },
}

local ENVIRONMENT = {
  { "GITLAB_URL", "The GitLab to talk to, when \\fB\\-\\-url\\fR is not given." },
  { "CI_SERVER_URL", "The same, when \\fBGITLAB_URL\\fR is not set (as inside a CI job)." },
  { "GITLAB_TOKEN", "The access token, when \\fB\\-\\-token\\fR is not given." },
  { "CI_JOB_TOKEN", "The job token: what \\fBjob\\fR sends, and what the other commands send when "
    .. "there is no other token." },
  { "NO_COLOR", "When set, no colours." },
  { "COLUMNS", "The width tables are sized to (else the terminal's; none when stdout is not a terminal)." },
}

-- Terms in bold, each with its text: { {term, text} }.
local function definitions(lines, list)
  for _, e in ipairs(list) do
    lines[#lines + 1] = ".TP"
    lines[#lines + 1] = "\\fB" .. e[1] .. "\\fR"
    lines[#lines + 1] = e[2]
  end
end

--- The page, as roff text; gitlab is the library, for its version.
function M.render(gitlab)
  local L = {
    ('.TH GITLAB\\-JOBS 1 "" "gitlab\\-jobs %s" "User Commands"'):format(gitlab.VERSION),
    ".SH NAME",
    "gitlab\\-jobs \\- the GitLab CI jobs of a project, from a shell or a CI script",
    ".SH SYNOPSIS",
    "\\fBgitlab\\-jobs\\fR [\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR] [\\fIOPTIONS\\fR]",
    ".br",
    "\\fBgitlab\\-jobs\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR",
    ".SH DESCRIPTION",
    "Lists, shows, follows, waits for, retries, cancels, erases and plays the CI jobs of a GitLab "
      .. "project, and downloads their artifacts. \\fIPROJECT\\fR is a numeric id or a path "
      .. "(\\fIgroup/sub/project\\fR); \\fIJOB_ID\\fR and \\fIPIPELINE_ID\\fR are integers.",
    ".PP",
    "Tables are aligned and sized to the terminal; statuses are coloured only when stdout is a "
      .. "terminal and \\fBNO_COLOR\\fR is unset. Progress (pages read, bytes downloaded, the status "
      .. "waited on) goes to stderr, only when stderr is a terminal and \\fB\\-\\-quiet\\fR is not given. "
      .. "With \\fB\\-\\-json\\fR a command prints the JSON GitLab sent, byte for byte (null fields "
      .. "included), as one document: lists as one array. Nothing prints the token.",
    ".SH GLOBAL OPTIONS",
    "Before or after the command.",
  }
  options(L, M.global())
  L[#L + 1] = ".SH COMMANDS"
  for _, c in ipairs(cli.COMMANDS) do
    L[#L + 1] = ".SS " .. roff(c[1])
    L[#L + 1] = synopsis(c)
    L[#L + 1] = ".PP"
    L[#L + 1] = roff(c[3])
    for _, a in ipairs(c[2]) do
      L[#L + 1] = ".TP"
      L[#L + 1] = "\\fI" .. a[1] .. "\\fR"
      L[#L + 1] = roff(a[2]:sub(1, 1):upper() .. a[2]:sub(2)) .. "."
    end
    options(L, c[4] or {})
  end
  L[#L + 1] = ".SH EXIT STATUS"
  definitions(L, EXIT)
  L[#L + 1] = ".SH ENVIRONMENT"
  definitions(L, ENVIRONMENT)
  L[#L + 1] = ".SH SEE ALSO"
  L[#L + 1] = "The Lua module it is made of, gitlab.jobs: its README and its API reference (\\fBmake doc\\fR)."
  return table.concat(L, "\n") .. "\n"
end

--- The global options as the page lists them: --help and --version first.
function M.global()
  local list = {
    { "-h --help", false, "Show the help (of the command, after one) and exit." },
    { "--version", false, "Print the version and exit." },
  }
  for _, o in ipairs(cli.GLOBAL) do list[#list + 1] = o end
  return list
end

return M
