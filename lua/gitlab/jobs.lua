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

return M
