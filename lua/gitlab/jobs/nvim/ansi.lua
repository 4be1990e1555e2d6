--- A job log line as Neovim shows it: ANSI colours become highlight spans,
-- GitLab's section markers are taken out and reported, and of a `\r`
-- progress line the last state is kept, as a terminal would show it.
local M = {}

local COLORS = { "Black", "Red", "Green", "Yellow", "Blue", "Magenta", "Cyan", "White" }
M.COLORS = COLORS

--- The group of a colour (0-7, or nil) and boldness: GitlabJobsAnsiRed,
-- GitlabJobsAnsiRedBold, GitlabJobsAnsiBold; nil for plain text.
function M.group(fg, bold)
  if fg then return "GitlabJobsAnsi" .. COLORS[fg + 1] .. (bold and "Bold" or "") end
  if bold then return "GitlabJobsAnsiBold" end
  return nil
end

--- A fresh colour state; it carries from line to line, as in a terminal.
function M.state() return { fg = nil, bold = false } end

-- Applies the parameters of one SGR sequence (ESC [ params m) to state.
local function sgr(state, params)
  local list = {}
  for p in (params .. ";"):gmatch("([^;:]*)[;:]") do list[#list + 1] = tonumber(p) or 0 end
  local i = 1
  while i <= #list do
    local n = list[i]
    if n == 0 then
      state.fg, state.bold = nil, false
    elseif n == 1 then
      state.bold = true
    elseif n == 22 then
      state.bold = false
    elseif n >= 30 and n <= 37 then
      state.fg = n - 30
    elseif n >= 90 and n <= 97 then
      state.fg = n - 90
    elseif n == 39 then
      state.fg = nil
    elseif n == 38 or n == 48 then
      -- 256 colours (5;N) or true colour (2;R;G;B): not kept, their numbers skipped
      i = i + (list[i + 1] == 5 and 2 or list[i + 1] == 2 and 4 or 0)
    end
    i = i + 1
  end
end

-- Reads text's escape sequences into state; with out (a table), also
-- collects the visible bytes (out.text) and their spans (out.spans).
local function scan(state, text, out)
  local pieces, col, pos = {}, 0, 1
  local run_col, run_group = 0, M.group(state.fg, state.bold)
  local function close_run()
    if out and run_group and col > run_col then
      out.spans[#out.spans + 1] = { col = run_col, end_col = col, group = run_group }
    end
  end
  while true do
    local s = text:find("\27", pos, true)
    local plain = text:sub(pos, (s or #text + 1) - 1)
    pieces[#pieces + 1] = plain
    col = col + #plain
    if not s then break end
    local params, final, e = text:match("^%[([0-?]*)[ -/]*([@-~])()", s + 1)
    if params then
      if final == "m" then
        close_run()
        sgr(state, params)
        run_col, run_group = col, M.group(state.fg, state.bold)
      end
      pos = e
    else
      -- OSC (ended by BEL or ST), other escapes, or a lone ESC: all dropped
      pos = text:match("^%][^\7\27]*\7()", s + 1) or text:match("^%][^\7\27]*\27\\()", s + 1)
        or text:match("^[ -/]*[0-~]()", s + 1) or s + 1
    end
  end
  close_run()
  if out then out.text = table.concat(pieces) end
end

-- The line without its section markers, and the markers in order.
local function sections(raw)
  local events, pieces, pos = {}, {}, 1
  while true do
    local s, e, kind, name = raw:find("section_(%a+):%d+:([%w_%.%-]+)", pos)
    if not s then break end
    if kind == "start" or kind == "end" then
      pieces[#pieces + 1] = raw:sub(pos, s - 1)
      local opts, after = raw:match("^(%[[^%]\r\n]*%])()", e + 1)
      if kind == "end" then opts, after = nil, nil end
      local p = after or e + 1
      p = raw:match("^\r?\27%[0?K()", p) or raw:match("^\r()", p) or p
      events[#events + 1] = {
        kind = kind, name = name,
        collapsed = opts ~= nil and opts:find("collapsed=true", 1, true) ~= nil,
      }
      pos = p
    else
      pieces[#pieces + 1] = raw:sub(pos, e)
      pos = e + 1
    end
  end
  pieces[#pieces + 1] = raw:sub(pos)
  return table.concat(pieces), events
end

--- One line of a log (without its "\n"): the text shown, its highlight spans
-- { col, end_col, group } (bytes), and the section markers it held
-- { kind = "start" or "end", name, collapsed }. state carries the colours on.
function M.line(state, raw)
  local text, events = sections((raw:gsub("\r$", "")))
  -- a progress line: what follows the last `\r` that still shows something
  local parts = {}
  for part in (text .. "\r"):gmatch("([^\r]*)\r") do parts[#parts + 1] = part end
  local shown = #parts
  for i = #parts, 1, -1 do
    local probe = { spans = {} }
    scan({ fg = state.fg, bold = state.bold }, parts[i], probe)
    if probe.text:find("%S") then
      shown = i
      break
    end
  end
  local out = { spans = {} }
  for i, part in ipairs(parts) do scan(state, part, i == shown and out or nil) end
  return out.text, out.spans, events
end

--- Defines the colour groups (default: a colorscheme or the user's win).
function M.define_highlights()
  for i, color in ipairs(COLORS) do
    local base = ("ctermfg=%d guifg=%s"):format(i - 1, color)
    vim.cmd(("highlight default %s %s"):format(M.group(i - 1, false), base))
    vim.cmd(("highlight default %s %s cterm=bold gui=bold"):format(M.group(i - 1, true), base))
  end
  vim.cmd("highlight default GitlabJobsAnsiBold cterm=bold gui=bold")
end

return M
