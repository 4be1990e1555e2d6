--- :checkhealth gitlab-jobs: the module loaded and for which Lua, libcurl's
-- version, the url set and answering, a token present (never shown).
local M = {}

local function reporter()
  local h = vim.health or require("health")
  return {
    start = h.start or h.report_start, ok = h.ok or h.report_ok, warn = h.warn or h.report_warn,
    error = h.error or h.report_error, info = h.info or h.report_info,
  }
end

-- libcurl's own words (curl_version()) from the library the module runs on.
local function curl_version()
  local has_ffi, ffi = pcall(require, "ffi")
  if not has_ffi then return nil end
  pcall(ffi.cdef, "const char *curl_version(void);")
  for _, name in ipairs({ "libcurl.so.4", "curl" }) do
    local loaded, lib = pcall(ffi.load, name)
    if loaded then
      local ok, v = pcall(function() return ffi.string(lib.curl_version()) end)
      if ok then return v end
    end
  end
  return nil
end

-- One request, polled as every other, the editor's loop running meanwhile.
local function probe(plugin, project)
  local done, value, err = false, nil, nil
  plugin.start("list", project, { per_page = 1 }, function(v, e)
    done, value, err = true, v, e
  end)
  if not vim.wait(60000, function() return done end, 20) then return nil, "no answer within 60 s" end
  return value, err
end

function M.check()
  local r = reporter()
  local plugin = require("gitlab.jobs.nvim")
  local loader = require("gitlab.jobs.nvim.loader")
  local message = require("gitlab.jobs.nvim.message")
  r.start("gitlab-jobs")
  local loaded, gitlab = pcall(loader.load)
  if not loaded then
    r.error(message.describe(gitlab), { "run `make LUA_VERSIONS=jit` in " .. tostring(loader.root()) })
    return
  end
  r.ok(("gitlab.jobs %s loaded from %s, for %s"):format(gitlab.VERSION, loader.core_path(), jit.version))
  local curl = curl_version()
  if curl then r.ok("libcurl: " .. curl) else r.warn("libcurl's version could not be read") end

  local got, s = pcall(plugin.settings)
  if not got then
    r.error(message.describe(s))
    return
  end
  r.ok("url: " .. s.url:gsub("//[^/@]*@", "//"))
  if s.token then
    r.ok(("token: set, from %s (not shown)"):format(s.token_from))
  else
    r.warn("no token: set $GITLAB_TOKEN, or setup{ token_cmd = ... }")
  end
  local has_project, project = pcall(require("gitlab.jobs.nvim.git").project, s.url)
  if not has_project then
    r.info("not checked whether the url answers: " .. message.describe(project))
    return
  end
  local value, err = probe(plugin, project)
  if value then
    r.ok(("%s answers: the jobs of %s can be read"):format(s.url:gsub("//[^/@]*@", "//"), project))
  elseif type(err) == "table" and err.kind == "http" and (err.status == 401 or err.status == 403) then
    r.error("the token was refused: " .. message.describe(err))
  elseif type(err) == "table" and err.kind == "http" then
    r.warn("the url answers, but: " .. message.describe(err))
  else
    r.error("the url does not answer: " .. message.describe(err))
  end
end

return M
