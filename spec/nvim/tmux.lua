-- :GitlabJobs in a real terminal (tmux): once the table is drawn, says so
-- in $GITLAB_NVIM_READY and waits for the spec to capture the screen
-- ($GITLAB_NVIM_CAPTURED appears).
return function(T)
  require("gitlab.jobs.nvim").setup{ refresh = 60 }
  vim.cmd("GitlabJobs " .. os.getenv("GITLAB_NVIM_PROJECT"))
  T.filled("the jobs")
  vim.cmd("redraw")
  local f = assert(io.open(os.getenv("GITLAB_NVIM_READY"), "w"))
  f:close()
  T.wait(function() return vim.loop.fs_stat(os.getenv("GITLAB_NVIM_CAPTURED")) ~= nil end, "the capture", 60000)
end
