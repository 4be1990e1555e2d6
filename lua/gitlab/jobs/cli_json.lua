--- The command's --json output: the JSON GitLab sent, byte for byte.
--
-- The library hands back decoded tables, with JSON null read as nil. To print
-- what the server sent, the command loads the C core with a decoder of its
-- own: the core takes its decoder from `require("cjson").new()` when it is
-- loaded, so `capture()` puts a wrapper there for that moment. The wrapper
-- decodes with a private lua-cjson instance as the core would, and remembers
-- the text each table came from (each item of an array too), in a table with
-- weak keys: `text_of(job)` is then that job's JSON as the server wrote it,
-- nulls, key order and number format included. A table the wrapper did not see
-- (the core loaded before, or by another decoder) is encoded again instead.
-- @module gitlab.jobs.cli_json
-- @local
local M = {}

local byte, sub, find = string.byte, string.sub, string.find
local QUOTE, BSLASH = 34, 92
local OPEN = { [91] = true, [123] = true }   -- [ {
local CLOSE = { [93] = true, [125] = true }  -- ] }

local function trim(s, i, j)
  i = find(s, "%S", i) or j + 1
  while j >= i and find(sub(s, j, j), "%s") do j = j - 1 end
  return sub(s, i, j)
end

--- The texts of the elements of the JSON array s, in order, or nil when s is
-- not an array. s is known to be valid JSON (the decoder took it).
function M.split_array(s)
  local i = find(s, "%S")
  if not i or byte(s, i) ~= 91 then return nil end
  local out, depth, start, pos = {}, 0, i + 1, i + 1
  if byte(s, find(s, "%S", pos) or pos) == 93 then return out end
  while true do
    local k = find(s, '[%[%]{}",]', pos)
    if not k then return nil end
    local c = byte(s, k)
    if c == QUOTE then
      pos = k + 1
      while true do
        local q = find(s, '["\\]', pos)
        if not q then return nil end
        if byte(s, q) == BSLASH then pos = q + 2 else pos = q + 1 break end
      end
    elseif OPEN[c] then
      depth, pos = depth + 1, k + 1
    elseif CLOSE[c] then
      if depth == 0 then
        out[#out + 1] = trim(s, start, k - 1)
        return out
      end
      depth, pos = depth - 1, k + 1
    else -- a comma
      if depth == 0 then
        out[#out + 1] = trim(s, start, k - 1)
        start = k + 1
      end
      pos = k + 1
    end
  end
end

--- Loads the library with a decoder that remembers the texts; returns the
-- library (`require("gitlab.jobs")`) and a recorder with `text_of(t)` and
-- `pages` (how many arrays were decoded: pages read) and `on_page(f)`.
function M.capture()
  local cjson = require("cjson")
  local texts = setmetatable({}, { __mode = "k" })
  local rec = { pages = 0 }
  local on_page
  local shim = {
    null = cjson.null,
    new = function()
      local own = cjson.new()
      local decode = own.decode
      return {
        null = own.null,
        decode = function(s)
          local v = decode(s)
          if type(v) == "table" then
            texts[v] = s
            local items = M.split_array(s)
            if items then
              for i = 1, #items do
                if type(v[i]) == "table" then texts[v[i]] = items[i] end
              end
              rec.pages = rec.pages + 1
              if on_page then on_page(rec.pages) end
            end
          end
          return v
        end,
      }
    end,
  }
  local loaded = package.loaded
  local was = loaded.cjson
  loaded.cjson = shim
  local ok, gitlab = pcall(require, "gitlab.jobs")
  loaded.cjson = was
  if not ok then error(gitlab, 0) end
  function rec.text_of(t) return texts[t] end
  function rec.on_page(f) on_page = f end
  return gitlab, rec
end

-- ---- encoding what the command itself makes ----------------------------------

-- lua-cjson writes "/" as "\\/"; GitLab (and jq) write it plain. A "\\/" is
-- an escaped slash only after an even run of backslashes.
local function plain_slashes(text)
  return (text:gsub("(\\*)\\/", function(run)
    if #run % 2 == 0 then return run .. "/" end
  end))
end

local function encode(v)
  return plain_slashes(require("cjson").new().encode(v))
end
M.encode = encode

--- One JSON object with the given keys in that order (values: strings,
-- numbers, booleans or nil, which is written null).
function M.object(keys, t)
  local parts = {}
  for i, k in ipairs(keys) do
    local v = t[k]
    parts[i] = encode(k) .. ":" .. (v == nil and "null" or encode(v))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

--- A table from the server as the server wrote it, else encoded again.
function M.text(rec, t)
  return rec and rec.text_of(t) or encode(t)
end

--- An array of tables from the server, each as the server wrote it.
function M.array(rec, items)
  local parts = {}
  for i, t in ipairs(items) do parts[i] = M.text(rec, t) end
  return "[" .. table.concat(parts, ",") .. "]"
end

return M
