-- Runs inside HAProxy (Lua 5.3): an HTTP service whose GitLab calls are
-- started and polled, yielding to HAProxy's event loop between polls.
local gitlab = require("gitlab.jobs")

core.register_service("gitlab", "http", function(applet)
  local client = gitlab.new{ url = os.getenv("GITLAB_URL"), token = os.getenv("GITLAB_TOKEN"), retries = false }
  local results, polls = {}, 0
  client:start("list", "acme/platform/api", { scope = "failed" }, function(jobs) results.failed = #jobs end)
  client:start("get", 1, 1009, function(job) results.name = job.name end)
  client:start("get", 1, 999999, function(_, e) results.status = e.status end)
  -- polls: how often HAProxy's loop ran while calls were still under way
  while client:poll(0) > 0 do
    polls = polls + 1
    core.msleep(10) -- HAProxy's loop runs meanwhile
  end
  client:close()
  local body = ("ok failed=%d name=%s status=%d polls=%d %s\n"):format(
    results.failed, results.name, results.status, polls, _VERSION)
  applet:set_status(200)
  applet:add_header("content-type", "text/plain")
  applet:add_header("content-length", tostring(#body))
  applet:start_response()
  applet:send(body)
end)
