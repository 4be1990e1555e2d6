-- What goes wrong is said in one message: a refused token, an unknown
-- project, a server that does not answer, an action GitLab refuses, a bad
-- argument, a token command that fails. Each step keeps the messages it got.
return function(T)
  local plugin = require("gitlab.jobs.nvim")
  local project = os.getenv("GITLAB_NVIM_PROJECT")
  T.out.steps = {}
  local function step(name, setup, run)
    plugin.setup(setup)
    local seen = #T.notes
    run()
    T.wait(function() return #T.notes > seen and not plugin.busy() end, name)
    local notes = {}
    for i = seen + 1, #T.notes do notes[#notes + 1] = T.notes[i] end
    T.out.steps[name] = notes
  end

  step("expired token", { token = os.getenv("GITLAB_NVIM_EXPIRED") }, function()
    vim.cmd("GitlabJobs " .. project)
  end)
  step("unknown project", {}, function() vim.cmd("GitlabJobs " .. os.getenv("GITLAB_NVIM_UNKNOWN")) end)
  step("no server", { url = os.getenv("GITLAB_NVIM_DEAD_URL"), client = { retries = { max = 0 } } }, function()
    vim.cmd("GitlabJobs " .. project)
  end)
  step("refused retry", { refresh = 60 }, function()
    vim.cmd("GitlabJobs " .. project)
    local buf = T.filled("the jobs")
    local id = os.getenv("GITLAB_NVIM_UNRETRYABLE")
    for i, line in ipairs(T.lines(buf)) do
      if line:match("^%d+") == id then vim.api.nvim_win_set_cursor(0, { i, 0 }) end
    end
    T.keys("r")
  end)
  step("bad job id", {}, function() vim.cmd("GitlabFollow 12x") end)
  step("failing token_cmd", { token_cmd = { "sh", "-c", "echo nothing here >&2; exit 3" } }, function()
    vim.cmd("GitlabJobs " .. project)
  end)
end
