--- Finds the module this checkout built: build/jit/gitlab/jobs/core.so beside
-- the plugin's own lua/ directory. Neovim runs LuaJIT, so only that build fits.
local M = {}

local CORE = "build/jit/gitlab/jobs/core.so"
local HERE = "lua/gitlab/jobs/nvim/loader.lua"

--- The plugin's root directory: where this file sits, else the first entry
-- of the runtime path that holds it.
function M.root()
  local src = debug.getinfo(1, "S").source
  local path = src:sub(1, 1) == "@" and src:sub(2) or vim.api.nvim_get_runtime_file(HERE, false)[1]
  if not path then return nil end
  path = vim.fn.fnamemodify(path, ":p")
  local root = path:sub(1, #path - #HERE)
  return (root:gsub("/$", ""))
end

--- The path of the built module, whether it exists or not.
function M.core_path()
  local root = M.root()
  return root and (root .. "/" .. CORE)
end

-- Opens the built module; raises a message that says what to do when it
-- cannot be loaded.
local function open_core()
  if not jit then
    error(("gitlab-jobs needs a Neovim built with LuaJIT; this one runs %s"):format(_VERSION), 0)
  end
  local path = M.core_path()
  if not path or vim.loop.fs_stat(path) == nil then
    error(("gitlab-jobs: the module is not built: run `make LUA_VERSIONS=jit` in %s")
      :format(path and M.root() or "the plugin's directory"), 0)
  end
  local open, err = package.loadlib(path, "luaopen_gitlab_jobs_core")
  if not open then error(("gitlab-jobs: cannot load %s: %s"):format(path, err), 0) end
  return open("gitlab.jobs.core")
end

--- Makes require("gitlab.jobs.core") take this checkout's build (unless it
-- is loaded already), whichever module asks first. Loads nothing yet.
function M.install()
  if not package.loaded["gitlab.jobs.core"] and not package.preload["gitlab.jobs.core"] then
    package.preload["gitlab.jobs.core"] = open_core
  end
end

--- require("gitlab.jobs"), its C part taken from this checkout's build.
function M.load()
  M.install()
  return require("gitlab.jobs")
end

return M
