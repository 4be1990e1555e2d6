-- Runs inside Neovim (LuaJIT): started calls driven by a libuv timer, the
-- editor's loop never blocked. spec/hosts/run.sh starts it against the fake
-- GitLab and reads the last line it prints.
local out = assert(os.getenv("GITLAB_HOST_OUT"))
local function finish(line)
  local f = assert(io.open(out, "w"))
  f:write(line, "\n")
  f:close()
  vim.cmd("qall!")
end

local ok, err = pcall(function()
  local gitlab = require("gitlab.jobs")
  local client = gitlab.new{ url = os.getenv("GITLAB_URL"), token = os.getenv("GITLAB_TOKEN"), retries = false }
  local results, ticks = {}, 0
  client:start("list", "acme/platform/api", { scope = "failed" }, function(jobs) results.failed = #jobs end)
  client:start("get", 1, 1009, function(job) results.name = job.name end)
  client:start("get", 1, 999999, function(_, e) results.status = e.status end)
  local timer = vim.loop.new_timer()
  -- ticks: how often the editor's loop ran while calls were still under way
  timer:start(0, 10, vim.schedule_wrap(function()
    if client:poll(0) > 0 then
      ticks = ticks + 1
    else
      timer:stop()
      client:close()
      finish(("ok failed=%d name=%s status=%d ticks=%d json=%s"):format(
        results.failed, results.name, results.status, ticks, package.loaded.cjson and "cjson" or "vim.json"))
    end
  end))
end)
if not ok then finish("error " .. tostring(err)) end
