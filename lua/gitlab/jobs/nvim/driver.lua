--- Drives a client's started calls from a libuv timer: poll(0) runs while
-- any call is under way, so the editor's loop never waits for the network.
local message = require("gitlab.jobs.nvim.message")

local M = {}

local INTERVAL = 20 -- milliseconds between polls while calls run

--- A driver for client: driver:start(method, ..., callback) begins a call as
-- client:start does (bad arguments raise there, nothing is sent) and returns
-- its handle; callbacks run from the timer, in the editor's main loop.
function M.new(client)
  local d = { client = client }
  local timer = vim.loop.new_timer()
  local closed = false
  local started = false -- a call began since the last poll (a callback may start the next)

  local function tick()
    if closed then return end
    started = false
    local ok, left = pcall(client.poll, client, 0)
    if not ok then
      -- a callback raised: say so; the other calls go on at the next poll
      message.error(left)
      return
    end
    if left == 0 and not started then
      timer:stop()
      if d.retired then d.close() end
    end
  end
  local scheduled = vim.schedule_wrap(tick)

  function d.start(_, ...)
    if closed or d.retired then error("gitlab-jobs: the client was closed", 0) end
    local handle = client:start(...)
    started = true
    if not timer:is_active() then timer:start(0, INTERVAL, scheduled) end
    return handle
  end

  --- Are calls under way?
  function d.busy() return not closed and timer:is_active() end

  --- Lets the calls under way finish, then frees the client; no call may
  -- start on it any more.
  function d.retire()
    d.retired = true
    if not timer:is_active() then d.close() end
  end

  --- Stops every call (their callbacks never run) and frees the client.
  function d.close()
    if closed then return end
    closed = true
    timer:stop()
    timer:close()
    client:close()
  end

  return d
end

return M
