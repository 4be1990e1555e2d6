-- The keys of the jobs buffer, one after the other, each on the job the spec
-- chose ($GITLAB_NVIM_<KEY>), each pressed as a user would; after each the
-- scenario waits until no request is under way and keeps what was said.
return function(T)
  local plugin = require("gitlab.jobs.nvim")
  plugin.setup{ refresh = 60 }
  vim.cmd("GitlabJobs " .. os.getenv("GITLAB_NVIM_PROJECT"))
  local buf = vim.api.nvim_get_current_buf()
  local name = vim.api.nvim_buf_get_name(buf)
  T.wait(function() return #T.lines(buf) > 1 end, "the jobs")
  T.out.steps = {}

  -- keys typed on the row of job id (an env variable's value)
  local function press(keys, var, answer)
    local id = os.getenv(var)
    local row
    for i, line in ipairs(T.lines(buf)) do
      if line:match("^%d+") == id then row = i end
    end
    assert(row, "no row for job " .. tostring(id))
    vim.api.nvim_win_set_cursor(0, { row, 0 })
    if answer then T.answers[#T.answers + 1] = answer end
    local seen = #T.notes
    T.keys(keys)
    T.wait(function() return not plugin.busy() end, keys .. " on job " .. id)
    local step = { keys = keys, job = tonumber(id), notes = {}, windows = #vim.api.nvim_list_wins() }
    for i = seen + 1, #T.notes do step.notes[#step.notes + 1] = T.notes[i].msg end
    step.buffer = vim.api.nvim_buf_get_name(0)
    step.lines = T.lines(0)
    T.out.steps[#T.out.steps + 1] = step
  end

  press("rr", "GITLAB_NVIM_RETRY")
  press("cc", "GITLAB_NVIM_CANCEL")
  press("pp", "GITLAB_NVIM_PLAY", os.getenv("GITLAB_NVIM_VARIABLES"))
  press("aa", "GITLAB_NVIM_ARTIFACTS", os.getenv("GITLAB_NVIM_SAVE_TO"))
  press("R", "GITLAB_NVIM_RETRY")
  press("<CR>", "GITLAB_NVIM_RETRY")
  local log = vim.api.nvim_buf_get_name(0)
  T.keys("q")
  T.out.after_q = { windows = #vim.api.nvim_list_wins(), log_left = vim.fn.bufexists(log) == 1,
    buffer = vim.api.nvim_buf_get_name(0) }
  T.keys("q")
  T.out.jobs_buffer_left = vim.fn.bufexists(name) == 1
end
