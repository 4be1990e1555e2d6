--- The project of a repository: from its origin remote, https or ssh form.
local M = {}

--- The project path ("group/sub/project") a remote URL names, or nil. base,
-- the GitLab url, lets a path prefix (https://host/gitlab) be taken off.
function M.project_of(remote, base)
  if type(remote) ~= "string" then return nil end
  remote = remote:gsub("%s+$", "")
  local path = remote:match("^%a[%w+.-]*://[^/]+(/.*)$") -- https://, ssh://, git://
  if not path then
    path = remote:match("^[^/:]+:(.+)$")                   -- scp-like: git@host:group/project.git
  end
  if not path then return nil end
  path = path:gsub("/+$", ""):gsub("%.git$", ""):gsub("^/+", "")
  local prefix = base and base:match("^%a[%w+.-]*://[^/]+/(.-)/*$")
  if prefix and prefix ~= "" and path:sub(1, #prefix + 1) == prefix .. "/" then
    path = path:sub(#prefix + 2)
  end
  if not path:find("/", 1, true) then return nil end
  return path
end

-- The directory to ask git in: the current file's, else the working directory.
local function here()
  local file = vim.api.nvim_buf_get_name(0)
  if file ~= "" and vim.loop.fs_stat(file) then return vim.fn.fnamemodify(file, ":p:h") end
  return vim.fn.getcwd()
end

-- One line of git's output, or nil. git is local and quick: called directly.
local function git(...)
  local out = vim.fn.systemlist({ "git", "-C", here(), ... })
  if vim.v.shell_error ~= 0 or not out[1] or out[1] == "" then return nil end
  return out[1]
end

--- The project of the current repository's origin remote; raises saying why
-- there is none.
function M.project(base)
  local remote = git("remote", "get-url", "origin")
  if not remote then
    error("gitlab-jobs: no project given, and no origin remote here (" .. here() .. ")", 0)
  end
  local project = M.project_of(remote, base)
  if not project then
    error("gitlab-jobs: the origin remote names no GitLab project: " .. remote:gsub("//[^/@]*@", "//"), 0)
  end
  return project
end

--- The current branch; raises when HEAD is detached or there is no repository.
function M.branch()
  local branch = git("symbolic-ref", "--short", "-q", "HEAD")
  if not branch then
    error("gitlab-jobs: not on a branch here: give a pipeline id", 0)
  end
  return branch
end

return M
