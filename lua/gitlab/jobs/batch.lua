--- client:batch(calls [, opts]): many one-request calls over parallel
-- connections, on top of client:start and client:poll (one after the other
-- through a Lua transport).
-- @module gitlab.jobs.batch
local core = require("gitlab.jobs.core")
local errors = require("gitlab.jobs.errors")
local unpack = table.unpack or unpack

local M = {}

local OPTIONS = { concurrency = "number" }

-- Raised errors blame batch's caller.
local function check(calls, opts)
  if type(calls) ~= "table" then
    errors.typeerror("batch", 1, "calls", "array of calls", calls, 3)
  end
  for i = 1, #calls do
    local call = calls[i]
    if type(call) ~= "table" or type(call[1]) ~= "string" then
      errors.argerror("batch", 1, ("calls[%d]: {method, args...} expected"):format(i), 3)
    end
  end
  opts = errors.options("batch", opts, OPTIONS, 2, 3)
  local n = opts.concurrency
  if n == nil then return 8 end
  if not errors.whole(n, 1) then
    errors.argerror("batch", 2, "concurrency: positive integer expected", 3)
  end
  return n
end

local function args_of(call, callback)
  local n = call.n or #call
  local args = { unpack(call, 2, n) }
  args[n] = callback
  return args, n
end

-- With a Lua transport the calls go one after the other, each run from Lua,
-- so that the transport may yield (start and poll would call it from C).
local function one_by_one(client, calls)
  local results = {}
  for i, call in ipairs(calls) do
    local value, page = client[call[1]](client, unpack(call, 2, call.n or #call))
    if value == nil then
      results[i] = { err = page }
    else
      results[i] = { value = value, page = page }
    end
  end
  return results
end

--- Returns an array, in the order of calls, of {value =, page =, err =}.
-- @tparam client client
-- @tab calls such as `{{"get", project, 1}, {"retry", project, 2}}`
-- @tparam[opt] table opts `concurrency` (default 8)
-- @treturn table
function M.batch(client, calls, opts)
  local concurrency = check(calls, opts)
  -- Every call's arguments are checked, as the call checks them, before
  -- anything is sent.
  for i, call in ipairs(calls) do
    core.check(client, { name = "batch", arg = 1, prefix = ("calls[%d]: "):format(i) },
      call[1], unpack(call, 2, call.n or #call))
  end
  if core.hook(client, "transport") then return one_by_one(client, calls) end
  local results, handles = {}, {}
  local next_i, running = 1, 0
  local function launch()
    while running < concurrency and next_i <= #calls do
      local i = next_i
      next_i = i + 1
      running = running + 1
      local args, n = args_of(calls[i], function(value, page)
        running = running - 1
        handles[i] = nil
        if value == nil then
          results[i] = { err = page }
        else
          results[i] = { value = value, page = page }
        end
      end)
      handles[i] = client:start(calls[i][1], unpack(args, 1, n))
    end
  end
  local ok, err = pcall(function()
    launch()
    while running > 0 do
      client:poll(1)
      launch()
    end
  end)
  if not ok then
    for _, h in pairs(handles) do h:cancel() end
    error(err, 0)
  end
  return results
end

return M
