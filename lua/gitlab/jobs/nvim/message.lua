--- What the plugin tells its user: one line through vim.notify, never a
-- traceback, and never a token (error objects leave tokens out by themselves).
local M = {}

local PREFIX = "gitlab-jobs: "

local function say(level, text)
  vim.notify(PREFIX .. text, level)
end

function M.info(text) say(vim.log.levels.INFO, text) end
function M.warn(text) say(vim.log.levels.WARN, text) end

--- An error object (tostring(err): method, path, status and GitLab's own
-- message), or a raised error, as one line: the first, without the Lua
-- position a raised message starts with.
function M.describe(err)
  local text = tostring(err)
  if type(err) ~= "table" then
    text = text:match("^[^\n]*"):gsub("^[^:\n]+%.lua:%d+: ", "")
  end
  return (text:gsub("^gitlab%-jobs: ", ""))
end

--- Reports a failure; what (optional) says which action failed.
function M.error(err, what)
  local text = M.describe(err)
  say(vim.log.levels.ERROR, what and (what .. ": " .. text) or text)
end

return M
