-- :GitlabFollow {job_id} on a job the spec scripted: the log as it grows
-- (each change of the buffer: its line count, its last line, the bytes read),
-- then as it ends: lines, highlights, folds, and what was said.
return function(T)
  require("gitlab.jobs.nvim").setup{ refresh = 0.1 }
  local id = os.getenv("GITLAB_NVIM_JOB")
  vim.cmd("GitlabFollow " .. id)
  local buf = vim.api.nvim_get_current_buf()
  T.out.name = vim.api.nvim_buf_get_name(buf)
  T.out.growth = {}
  vim.api.nvim_buf_attach(buf, false, { on_lines = function()
    vim.schedule(function() -- after the change is whole
      local lines = T.lines(buf)
      T.out.growth[#T.out.growth + 1] = { rows = #lines, last = lines[#lines], bytes = vim.b[buf].gitlab_log_bytes }
    end)
  end })
  T.wait(function() return #T.notes_with("job " .. id) > 0 end, "the job's end", 60000)
  T.out.lines = T.lines(buf)
  T.out.bytes = vim.b[buf].gitlab_log_bytes
  T.out.groups, T.out.folds = {}, {}
  for row = 0, #T.out.lines - 1 do
    T.out.groups[row + 1] = T.groups(buf, "gitlab-jobs-log", row)
    T.out.folds[row + 1] = { level = vim.fn.foldlevel(row + 1), closed = vim.fn.foldclosed(row + 1) }
  end
  T.out.modifiable = vim.bo[buf].modifiable
end
