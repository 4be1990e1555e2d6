--- gitlab.filter: predicates over jobs, for `opts.where` and for plain arrays.
-- Each predicate is a plain function p(job) -> boolean. A job that lacks the
-- field a predicate looks at does not match it.
-- @module gitlab.jobs.filter
local core = require("gitlab.jobs.core")
local errors = require("gitlab.jobs.errors")

local M = {}

local KNOWN_STATUS = {}
for _, s in ipairs(core.statuses) do KNOWN_STATUS[s] = true end

-- Raises for argument i of filter.<fname>; level as errors.argerror's. The
-- checks are never tail calls, so that the level counts the frames up to the
-- user's call on every Lua.
local function bad(fname, i, msg, level)
  errors.argerror("filter." .. fname, i, msg, level + 1)
end

-- A set of the strings given as varargs (at least one).
local function string_set(fname, what, ...)
  local n = select("#", ...)
  if n == 0 then bad(fname, 1, what .. ": at least one string expected", 3) end
  local set = {}
  for i = 1, n do
    local v = select(i, ...)
    if type(v) ~= "string" then
      bad(fname, i, ("%s: string expected, got %s"):format(what, type(v)), 3)
    end
    set[v] = true
  end
  return set
end

local function field_in(field, set)
  return function(job)
    local v = job[field]
    return v ~= nil and set[v] == true
  end
end

--- The job's status is one of the given ones (each a status GitLab knows).
-- @string ... statuses
-- @treturn function a predicate
function M.status(...)
  local set = string_set("status", "status", ...)
  for i = 1, select("#", ...) do
    local s = select(i, ...)
    if not KNOWN_STATUS[s] then bad("status", i, ("status: unknown status '%s'"):format(s), 2) end
  end
  return function(job) return set[job.status] == true end
end

--- The job's name matches a Lua pattern (unanchored: use ^ and $ to anchor).
-- @string pattern
-- @treturn function a predicate
function M.name(pattern)
  if type(pattern) ~= "string" then
    bad("name", 1, "pattern: string expected, got " .. type(pattern), 2)
  end
  local ok, msg = pcall(string.find, "", pattern)
  if not ok then bad("name", 1, "pattern: " .. tostring(msg), 2) end
  return function(job)
    local n = job.name
    return type(n) == "string" and n:find(pattern) ~= nil
  end
end

--- The job's stage is one of the given ones.
-- @string ... stages
-- @treturn function a predicate
function M.stage(...) return field_in("stage", string_set("stage", "stage", ...)) end
--- The job's ref (branch or tag) is one of the given ones.
-- @string ... refs
-- @treturn function a predicate
function M.ref(...) return field_in("ref", string_set("ref", "ref", ...)) end

--- failure_reason is any of the given strings (only failed jobs have one).
-- @string ... reasons, such as `"script_failure"`
-- @treturn function a predicate
function M.failure_reason(...)
  return field_in("failure_reason", string_set("failure_reason", "failure_reason", ...))
end

--- The job's tag_list holds any of the given tags.
-- @string ... tags
-- @treturn function a predicate
function M.tag(...)
  local set = string_set("tag", "tag", ...)
  return function(job)
    local tags = job.tag_list
    if type(tags) ~= "table" then return false end
    for _, t in ipairs(tags) do
      if set[t] then return true end
    end
    return false
  end
end

-- ---- times ---------------------------------------------------------------

local function leap(y) return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0 end
local MDAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

--- Parses an ISO 8601 / RFC 3339 time ("2026-11-18T08:14:03.250Z",
-- "2026-11-18T09:14:03+01:00", or a date alone, taken as midnight UTC).
-- Returns whole seconds since the epoch and the fraction as a digit string
-- without trailing zeros (so that comparing is exact), or nil.
-- @function parse_time
-- @string s the time
-- @treturn ?int seconds
-- @treturn string the fraction
local function parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 then return nil end
  local mdays = (mo == 2 and leap(y)) and 29 or MDAYS[mo]
  if d > mdays then return nil end
  local h, mi, sec, frac, off = 0, 0, 0, "", 0
  if rest ~= "" then
    local hh, mm, ss, f, zone = rest:match("^[Tt ](%d%d):(%d%d):(%d%d)(%.?%d*)(.*)$")
    if not hh then return nil end
    if f == "." then return nil end
    h, mi, sec, frac = tonumber(hh), tonumber(mm), tonumber(ss), f:sub(2)
    if h > 23 or mi > 59 or sec > 60 then return nil end
    if zone == "Z" or zone == "z" then
      off = 0
    else
      local sign, oh, om = zone:match("^([%+%-])(%d%d):?(%d%d)$")
      if not sign then return nil end
      oh, om = tonumber(oh), tonumber(om)
      if oh > 23 or om > 59 then return nil end
      off = (oh * 60 + om) * 60
      if sign == "-" then off = -off end
    end
  end
  local secs = core.timegm(y, mo, d, h, mi, sec) - off
  return secs, (frac:gsub("0+$", ""))
end
M.parse_time = parse_time

-- -1, 0 or 1 as instant a is before, equal to or after instant b.
local function compare(as, af, bs, bf)
  if as ~= bs then return as < bs and -1 or 1 end
  local n = math.max(#af, #bf)
  af, bf = af .. ("0"):rep(n - #af), bf .. ("0"):rep(n - #bf)
  if af == bf then return 0 end
  return af < bf and -1 or 1
end

local function created(fname, iso, want)
  local ts, tf = parse_time(iso)
  if not ts then
    bad(fname, 1, ("time: ISO 8601 time with Z or an offset expected, got %s"):format(
      type(iso) == "string" and ("'" .. iso .. "'") or type(iso)), 3)
  end
  return function(job)
    local js, jf = parse_time(job.created_at)
    return js ~= nil and compare(js, jf, ts, tf) == want
  end
end

--- Created strictly after the given time.
-- @string iso an ISO 8601 time, with `Z` or an offset
-- @treturn function a predicate
function M.created_after(iso)
  local p = created("created_after", iso, 1)
  return p
end
--- Created strictly before the given time.
-- @string iso
-- @treturn function a predicate
function M.created_before(iso)
  local p = created("created_before", iso, -1)
  return p
end

-- ---- combinators -----------------------------------------------------------

local function predicates(fname, ...)
  local ps = { ... }
  for i = 1, select("#", ...) do
    if type(ps[i]) ~= "function" then
      bad(fname, i, "predicate: function expected, got " .. type(ps[i]), 3)
    end
  end
  return ps, select("#", ...)
end

--- Every predicate holds (true when none is given).
-- @param ... predicates
-- @treturn function a predicate
function M.all(...)
  local ps, n = predicates("all", ...)
  return function(job)
    for i = 1, n do
      if not ps[i](job) then return false end
    end
    return true
  end
end

--- Some predicate holds (false when none is given).
-- @param ... predicates
-- @treturn function a predicate
function M.any(...)
  local ps, n = predicates("any", ...)
  return function(job)
    for i = 1, n do
      if ps[i](job) then return true end
    end
    return false
  end
end

--- The predicate does not hold.
-- @func p a predicate
-- @treturn function a predicate
function M.negate(p)
  predicates("negate", p)
  return function(job) return not p(job) end
end

--- A new array of the items p accepts, in order.
-- @tab items
-- @func p a predicate
-- @treturn table
function M.apply(items, p)
  if type(items) ~= "table" then bad("apply", 1, "items: table expected, got " .. type(items), 2) end
  if type(p) ~= "function" then bad("apply", 2, "predicate: function expected, got " .. type(p), 2) end
  local out = {}
  for _, item in ipairs(items) do
    if p(item) then out[#out + 1] = item end
  end
  return out
end

return M
