--- gitlab-jobs in Neovim: CI jobs in the editor, never freezing it. Every
-- request is started and polled from a libuv timer (see driver.lua).
--
--   require("gitlab.jobs.nvim").setup{ url = ..., token = ..., token_cmd = ..., refresh = 5 }
--   :GitlabJobs [project]   :GitlabPipeline [id]   :GitlabFollow {job_id}
require("gitlab.jobs.nvim.loader").install()
local message = require("gitlab.jobs.nvim.message")

local M = {}

local OPTIONS = { url = "string", token = "string", token_cmd = "string|table", refresh = "number", client = "table" }
local DEFAULT_REFRESH = 5

local config = {}   -- as setup left it; the plugin has one configuration
local session       -- { client, driver }, made when a command first needs it
local retired = {}  -- the drivers of earlier sessions, finishing their calls

--- Lets the client go once the requests under way have their answers (the
-- buffers waiting for them go on); the next request makes a new client, with
-- the configuration as it is then.
function M.reset()
  if session then
    session.driver.retire()
    retired[#retired + 1] = session.driver
  end
  session = nil
end

--- Configures the plugin; every key is optional (see :help gitlab-jobs-setup).
function M.setup(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("gitlab-jobs: setup: a table expected, got " .. type(opts), 2) end
  local copy = {}
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then error(("gitlab-jobs: setup: unknown option '%s'"):format(tostring(k)), 2) end
    if not want:find(type(v), 1, true) then
      error(("gitlab-jobs: setup: %s: %s expected, got %s"):format(k, want:gsub("|", " or "), type(v)), 2)
    end
    copy[k] = v
  end
  if copy.refresh and not (copy.refresh > 0 and copy.refresh < math.huge) then
    error("gitlab-jobs: setup: refresh: a positive number of seconds expected", 2)
  end
  M.reset()
  config = copy
end

-- The token from token_cmd, run the first time it is needed and kept.
local function command_token(cfg)
  if cfg.token_from_cmd == nil then
    local out = vim.fn.system(cfg.token_cmd)
    if vim.v.shell_error ~= 0 then
      error(("gitlab-jobs: token_cmd failed (exit status %d)"):format(vim.v.shell_error), 0)
    end
    out = out:gsub("%s+$", "") -- the newline a command prints last
    if out == "" then error("gitlab-jobs: token_cmd printed no token", 0) end
    cfg.token_from_cmd = out
  end
  return cfg.token_from_cmd
end

--- What the client is made with: url, token (or nil) and where the token
-- came from (token_from: "setup", "token_cmd", "$GITLAB_TOKEN" or nil).
-- Runs token_cmd the first time. Raises when there is no url.
function M.settings()
  local url = config.url or os.getenv("GITLAB_URL") or os.getenv("CI_SERVER_URL")
  if not url or url == "" then
    error("gitlab-jobs: no GitLab url: set $GITLAB_URL or setup{ url = ... }", 0)
  end
  local s = { url = url, refresh = config.refresh or DEFAULT_REFRESH }
  local env = os.getenv("GITLAB_TOKEN")
  if config.token then
    s.token, s.token_from = config.token, "setup"
  elseif config.token_cmd then
    s.token, s.token_from = command_token(config), "token_cmd"
  elseif env and env ~= "" then
    s.token, s.token_from = env, "$GITLAB_TOKEN"
  end
  return s
end

local function open_session()
  if session then return session end
  local gitlab = require("gitlab.jobs.nvim.loader").load()
  local s = M.settings()
  local opts = {}
  for k, v in pairs(config.client or {}) do opts[k] = v end
  opts.url, opts.token = s.url, s.token or false
  local client = gitlab.new(opts)
  session = { client = client, driver = require("gitlab.jobs.nvim.driver").new(client) }
  return session
end

--- Starts a call as client:start(method, ..., callback) does, on the
-- plugin's client, polled from its timer; returns the call's handle.
function M.start(...)
  local d = open_session().driver
  return d:start(...)
end

--- Are requests under way? (For a statusline.)
function M.busy()
  for i = #retired, 1, -1 do
    if retired[i].busy() then return true end
    table.remove(retired, i)
  end
  return session ~= nil and session.driver.busy()
end

-- What the buffers are given: how to start a call, and how often to look again.
local ctx = {
  start = M.start,
  refresh = function() return config.refresh or DEFAULT_REFRESH end,
}

local function project_arg(arg)
  if arg == nil or arg == "" then
    return require("gitlab.jobs.nvim.git").project(M.settings().url)
  end
  return arg:match("^%d+$") and tonumber(arg) or arg
end

local function id_arg(arg, what)
  if type(arg) == "number" and arg > 0 and arg == math.floor(arg) then return arg end -- from Lua
  if type(arg) ~= "string" or not arg:match("^%d+$") then
    error(("gitlab-jobs: %s id expected (digits), got '%s'"):format(what, tostring(arg)), 0)
  end
  return tonumber(arg)
end

--- :GitlabJobs [project]: the project's latest jobs (default: the project of
-- the current repository's origin remote).
function M.jobs(project)
  return require("gitlab.jobs.nvim.jobs").open(ctx, project_arg(project))
end

--- :GitlabPipeline [id]: a pipeline's jobs (default: the latest pipeline of
-- the current branch, from the project's latest jobs).
function M.pipeline(id)
  local jobs = require("gitlab.jobs.nvim.jobs")
  local project = project_arg(nil)
  if id ~= nil and id ~= "" then return jobs.open(ctx, project, id_arg(id, "a pipeline")) end
  local branch = require("gitlab.jobs.nvim.git").branch()
  M.start("list", project, { per_page = 100 }, function(list, err)
    if not list then return message.error(err, "latest pipeline of " .. branch) end
    table.sort(list, function(a, b) return a.id > b.id end)
    for _, job in ipairs(list) do
      if job.ref == branch and job.pipeline then return jobs.open(ctx, project, job.pipeline.id) end
    end
    message.warn(("no pipeline of branch %s among the latest %d jobs of %s"):format(branch, #list, project))
  end)
end

--- :GitlabFollow {job_id}: the job's log, growing as it runs.
function M.follow(job_id)
  local id = id_arg(job_id, "a job")
  return require("gitlab.jobs.nvim.follow").open(ctx, project_arg(nil), id, false)
end

--- Runs a command from plugin/gitlab-jobs.lua: a failure is one notice,
-- never a traceback.
function M.command(name, args)
  local ok, err = pcall(M[name], args[1])
  if not ok then message.error(err) end
end

return M
