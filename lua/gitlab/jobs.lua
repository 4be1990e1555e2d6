--- gitlab.jobs: the GitLab Jobs API for Lua.
-- The one-request calls live in the C module gitlab.jobs.core; this facade
-- is what users require. It sets no globals.
-- @module gitlab.jobs
local core = require("gitlab.jobs.core")

local M = {
  VERSION = core.VERSION,
  core = core,
  --- The job statuses GitLab knows, in its own order.
  statuses = core.statuses,
}

--- The module's version, such as `"0.1.0"` (the C module's).
-- @string VERSION

--- The job statuses GitLab knows, in its own order.
-- @table statuses

--- The C module, @{gitlab.jobs.core}.
-- @table core

--- Creates a client: @{gitlab.jobs.core.new}, whose options are @{gitlab.jobs.core.client_options}.
-- @function new
-- @tparam[opt] table options
-- @treturn client
M.new = core.new

--- Is err an error object returned by this module?
-- @param err any value
-- @treturn boolean
function M.is_error(err)
  return type(err) == "table" and getmetatable(err) == core.error_mt
end

local errors = require("gitlab.jobs.errors")
local hook = core.hook

-- How a client waits and tells time: its own sleep and clock options, called
-- from Lua so that a host's sleep may yield (ngx.sleep, core.msleep).
local function sleep(self, seconds)
  if type(seconds) ~= "number" then
    errors.argerror("sleep", 1, "number expected, got " .. type(seconds), 2)
  end
  local f = hook(self, "sleep")
  if f then f(seconds) else core.sleep(seconds) end
end

local function now(self)
  local f = hook(self, "clock")
  if f then return f() end
  return core.now()
end

-- A client with a Lua transport runs its calls from here: the C core builds
-- each request and reads each answer, and the transport is called by Lua, so
-- it may yield (OpenResty's cosockets, HAProxy's sockets).
local transport_methods = core.transport_methods
for _, name in ipairs(core.calls) do
  transport_methods[name] = function(self, ...)
    local call = self:_begin(name, ...)
    local transport = hook(self, "transport")
    while true do
      local req, wait = call:_request()
      if req then
        local step, seconds = call:_response(transport(req))
        if step == "done" then return call:_result() end
        if step == "wait" then sleep(self, seconds) end
      else
        sleep(self, wait) -- RateLimit-Remaining was 0: wait for the reset
      end
    end
  end
end

-- The helpers: pure Lua methods on every client, beside the C ones.
local pager = require("gitlab.jobs.pager")
local wait = require("gitlab.jobs.wait")
local trace = require("gitlab.jobs.trace")
local batch = require("gitlab.jobs.batch")
for _, methods in ipairs({ core.methods, transport_methods }) do
  methods.sleep = sleep
  methods.now = now
  methods.each = pager.each
  methods.all = pager.all
  methods.wait = wait.wait
  methods.retry_until_success = wait.retry_until_success
  methods.follow = trace.follow
  methods.batch = batch.batch
end

--- Predicates over jobs, for opts.where and filter.apply: @{gitlab.jobs.filter}.
-- @table filter
M.filter = require("gitlab.jobs.filter")
--- Log text: @{gitlab.jobs.trace.strip_ansi} and @{gitlab.jobs.trace.sections}.
-- @table trace
M.trace = { strip_ansi = trace.strip_ansi, sections = trace.sections }

return M
