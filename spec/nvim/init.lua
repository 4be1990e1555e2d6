-- The init file of the headless Neovim the nvim specs run (nvim --headless -u
-- spec/nvim/init.lua): the plugin is loaded from this checkout as a plugin
-- manager would (on the runtime path), then the scenario named by
-- $GITLAB_NVIM_SCENARIO (a file returning function(T)) runs once the editor
-- is up, and what the user saw is written as JSON to $GITLAB_NVIM_OUT.
-- Meanwhile a 10 ms libuv timer counts its ticks and the longest gap between
-- two of them: a request that blocked the editor's loop would show there.
local here = debug.getinfo(1, "S").source:sub(2)
local root = vim.fn.fnamemodify(here, ":p:h:h:h")
vim.opt.runtimepath:prepend(root)
vim.opt.swapfile = false
vim.opt.shadafile = "NONE"

local out_path = assert(os.getenv("GITLAB_NVIM_OUT"), "GITLAB_NVIM_OUT is not set")
local scenario = assert(os.getenv("GITLAB_NVIM_SCENARIO"), "GITLAB_NVIM_SCENARIO is not set")

local T = {
  root = root,
  out = {},      -- what the scenario reports, beside what is gathered here
  notes = {},    -- every vim.notify: { msg, level }
  calls = {},    -- every started call: { method, ticks (while it ran), ok, done, kind (of its error) }
  answers = {},  -- what vim.ui.input answers next, in order
  prompts = {},  -- the prompts vim.ui.input was shown
}

-- The loop's pulse: ticks, and the longest wait between two (ms).
local ticks, last, max_gap = 0, vim.loop.hrtime(), 0
local pulse = vim.loop.new_timer()
pulse:start(10, 10, function()
  local now = vim.loop.hrtime()
  max_gap = math.max(max_gap, (now - last) / 1e6)
  last, ticks = now, ticks + 1
end)

vim.notify = function(msg, level)
  T.notes[#T.notes + 1] = { msg = msg, level = level }
end

-- A UI for vim.ui.input (as a plugin such as a picker would give): the next
-- answer of T.answers, nil (cancelled) when there is none.
vim.ui.input = function(opts, on_confirm)
  T.prompts[#T.prompts + 1] = opts.prompt
  on_confirm(table.remove(T.answers, 1))
end

-- Every call the client starts, with the ticks of the pulse while it ran:
-- the methods table of the module's clients is wrapped once it is loaded.
local function watch_calls()
  local methods = require("gitlab.jobs.nvim.loader").load().core.methods
  local start = methods.start
  methods.start = function(self, method, ...)
    local args = { ... }
    local callback = args[#args]
    local call = { method = method, ticks = ticks }
    T.calls[#T.calls + 1] = call
    args[#args] = function(value, err, ...)
      call.ticks, call.ok, call.done = ticks - call.ticks, value ~= nil, true
      if value == nil then call.kind = err.kind end
      return callback(value, err, ...)
    end
    return start(self, method, unpack(args))
  end
end

--- Waits (the loop running) until cond() is true; raises naming what after ms
-- (default 20 s).
function T.wait(cond, what, ms)
  if not vim.wait(ms or 20000, cond, 10) then error("timed out waiting for " .. what, 2) end
end

--- Types keys as a user would, mappings included, handled at once.
function T.keys(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), "mx", false)
end

--- The lines of buf (default: the current buffer).
function T.lines(buf)
  return vim.api.nvim_buf_get_lines(buf or 0, 0, -1, false)
end

--- The messages of vim.notify so far that contain text (plain).
function T.notes_with(text)
  local found = {}
  for _, n in ipairs(T.notes) do
    if n.msg:find(text, 1, true) then found[#found + 1] = n.msg end
  end
  return found
end

--- The buffer of the current window once it shows more than its first line.
function T.filled(what)
  local buf = vim.api.nvim_get_current_buf()
  T.wait(function() return #T.lines(buf) > 1 end, what)
  return buf
end

--- The highlight groups on row (0-based) of buf, from extmarks of namespace ns.
function T.groups(buf, ns, row)
  local groups = {}
  local id = vim.api.nvim_get_namespaces()[ns]
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, id, { row, 0 }, { row, -1 }, { details = true })) do
    groups[#groups + 1] = { col = m[3], end_col = m[4].end_col, group = m[4].hl_group }
  end
  return groups
end

--- Calls the fake's control API (outside the API: no latency, not logged).
function T.control(method, path, body)
  local cmd = { "curl", "-sS", "-X", method, os.getenv("GITLAB_URL") .. "/__control" .. path }
  if body then vim.list_extend(cmd, { "-H", "Content-Type: application/json", "-d", vim.fn.json_encode(body) }) end
  local text = vim.fn.system(cmd)
  assert(vim.v.shell_error == 0, "control " .. path .. ": " .. text)
  return vim.fn.json_decode(text)
end

local function finish()
  T.out.notes, T.out.calls, T.out.prompts = T.notes, T.calls, T.prompts
  T.out.ticks, T.out.max_gap_ms = ticks, max_gap
  local f = assert(io.open(out_path, "w"))
  f:write(vim.fn.json_encode(T.out))
  f:close()
  vim.cmd("qall!")
end

vim.api.nvim_create_autocmd("VimEnter", { once = true, callback = function()
  vim.schedule(function()
    local ok, err = xpcall(function()
      watch_calls()
      dofile(scenario)(T)
    end, debug.traceback)
    if not ok then T.out.error = err end
    finish()
  end)
end })
