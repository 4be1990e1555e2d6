-- :checkhealth gitlab-jobs: the report's lines. The token comes from
-- token_cmd when $GITLAB_NVIM_SECRET is set, else from the environment.
return function(T)
  local secret = os.getenv("GITLAB_NVIM_SECRET")
  require("gitlab.jobs.nvim").setup(secret and { token_cmd = { "printf", "%s\n", secret } } or {})
  vim.cmd("checkhealth gitlab-jobs")
  T.out.lines = T.lines()
end
