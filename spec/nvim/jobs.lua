-- :GitlabJobs without a project, in a repository whose origin names it: the
-- table as shown and its highlights; then a job finishes on the server and
-- the table, refreshed while jobs are unfinished, shows it.
return function(T)
  require("gitlab.jobs.nvim").setup{ refresh = 0.2 }
  vim.cmd("GitlabJobs")
  T.out.loading = T.lines()
  local buf = T.filled("the jobs")
  T.out.name = vim.api.nvim_buf_get_name(buf)
  T.out.lines = T.lines(buf)
  T.out.groups = {}
  for row = 1, #T.out.lines - 1 do T.out.groups[row] = T.groups(buf, "gitlab-jobs", row) end

  local id = os.getenv("GITLAB_NVIM_FINISH")
  T.control("POST", "/jobs/" .. id, { status = "success" })
  T.wait(function()
    for _, line in ipairs(T.lines(buf)) do
      if line:match("^" .. id .. "%s+success") then return true end
    end
  end, "job " .. id .. " shown finished")
  T.out.refreshed = T.lines(buf)
end
