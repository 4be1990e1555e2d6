-- :checkhealth gitlab-jobs, the token coming from token_cmd: the report's lines.
return function(T)
  require("gitlab.jobs.nvim").setup{ token_cmd = { "printf", "%s\n", os.getenv("GITLAB_NVIM_SECRET") } }
  vim.cmd("checkhealth gitlab-jobs")
  T.out.lines = T.lines()
end
