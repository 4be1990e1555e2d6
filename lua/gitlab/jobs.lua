--- gitlab.jobs: the GitLab Jobs API for Lua.
-- The one-request calls live in the C module gitlab.jobs.core; this facade
-- is what users require. It sets no globals.
local core = require("gitlab.jobs.core")

local M = {
  VERSION = core.VERSION,
  core = core,
  --- The job statuses GitLab knows, in its own order.
  statuses = core.statuses,
}

--- Creates a client; see README.md for the options.
M.new = core.new

--- Is err an error object returned by this module?
function M.is_error(err)
  return type(err) == "table" and getmetatable(err) == core.error_mt
end

-- The helpers: pure Lua methods on every client, beside the C ones.
local pager = require("gitlab.jobs.pager")
local policy = require("gitlab.jobs.policy")
local trace = require("gitlab.jobs.trace")
core.methods.each = pager.each
core.methods.all = pager.all
core.methods.wait = policy.wait
core.methods.retry_until_success = policy.retry_until_success
core.methods.follow = trace.follow
core.methods.batch = require("gitlab.jobs.batch").batch

--- Predicates over jobs, for opts.where and filter.apply.
M.filter = require("gitlab.jobs.filter")
--- strip_ansi(text) and sections(log).
M.trace = { strip_ansi = trace.strip_ansi, sections = trace.sections }

return M
