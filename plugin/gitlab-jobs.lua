-- gitlab-jobs: CI jobs in Neovim. Only the commands are defined here; the
-- module is loaded the first time one runs. See :help gitlab-jobs.
if vim.g.loaded_gitlab_jobs then return end
vim.g.loaded_gitlab_jobs = 1

local function command(name, fn, nargs, desc)
  vim.api.nvim_create_user_command(name, function(o)
    require("gitlab.jobs.nvim").command(fn, o.fargs)
  end, { nargs = nargs, desc = desc })
end

command("GitlabJobs", "jobs", "?", "gitlab-jobs: the latest jobs of a project")
command("GitlabPipeline", "pipeline", "?", "gitlab-jobs: the jobs of a pipeline")
command("GitlabFollow", "follow", 1, "gitlab-jobs: follow a job's log")
