-- :GitlabPipeline {id} of a finished pipeline (not asked again), then
-- :GitlabPipeline alone: the latest pipeline of the repository's branch.
return function(T)
  require("gitlab.jobs.nvim").setup{ refresh = 1 }
  vim.cmd("GitlabPipeline " .. os.getenv("GITLAB_NVIM_PIPELINE"))
  local buf = T.filled("the pipeline's jobs")
  T.out.given = { name = vim.api.nvim_buf_get_name(buf), lines = T.lines(buf) }
  -- longer than the refresh: a pipeline whose jobs all finished is not asked again
  vim.wait(1500)
  T.out.given.calls = #T.calls

  vim.cmd("GitlabPipeline")
  T.wait(function() return vim.api.nvim_buf_get_name(0) ~= T.out.given.name end, "the branch's pipeline")
  buf = T.filled("the branch's pipeline's jobs")
  T.out.branch = { name = vim.api.nvim_buf_get_name(buf), lines = T.lines(buf) }
end
