-- The build's lists agree: the rockspec builds the sources the Makefile
-- builds and installs every Lua module there is; the C files include each
-- other one way only; and no file outgrows its one concern.
local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function lines_of(path)
  local n = 0
  for _ in read(path):gmatch("[^\n]*\n") do n = n + 1 end
  return n
end

local function ls(pattern)
  local out = {}
  local p = assert(io.popen("ls " .. pattern .. " 2>/dev/null"))
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end

local function rockspec()
  local env = {}
  local chunk = assert((loadstring or load)(read("gitlab-jobs-scm-1.rockspec"), "rockspec", "t", env))
  if setfenv then setfenv(chunk, env) end
  chunk()
  return env
end

-- The words of a make variable, its continuation lines joined.
local function make_var(name)
  local text = read("Makefile"):gsub("\\\n", " ")
  local value = text:match("\n" .. name .. " = ([^\n]*)")
  assert(value, "no " .. name .. " in the Makefile")
  local out = {}
  for w in value:gmatch("%S+") do out[#out + 1] = w end
  return out
end

describe("the build", function()
  it("compiles the same C sources from the Makefile and the rockspec, every one of src/", function()
    local src = make_var("SRC")
    local rock = rockspec().build.modules["gitlab.jobs.core"].sources
    assert.are.same(src, rock)
    local listed = {}
    for _, f in ipairs(src) do listed[f] = true end
    for _, f in ipairs(ls("src/*.c")) do
      assert.is_true(listed[f] == true, f .. " is not built")
    end
  end)

  it("installs every Lua module of lua/ from the rockspec, and none that is not there", function()
    local modules = rockspec().build.modules
    local seen = {}
    for _, f in ipairs(ls("lua/gitlab/jobs.lua lua/gitlab/jobs/*.lua")) do
      local name = f:gsub("^lua/", ""):gsub("%.lua$", ""):gsub("/", ".")
      assert.are.equal(f, modules[name], "rockspec module " .. name)
      seen[name] = true
    end
    for name, v in pairs(modules) do
      if type(v) == "string" then assert.is_true(seen[name] == true, name .. " has no file") end
    end
  end)

  it("has no include cycle between the C files (x.c and x.h are one piece)", function()
    local graph = {}
    for _, f in ipairs(ls("src/*.[ch]")) do
      local piece = f:match("src/([%w_]+)%.[ch]$")
      graph[piece] = graph[piece] or {}
      for inc in read(f):gmatch('#include "([%w_]+)%.h"') do
        if inc ~= piece then graph[piece][inc] = true end
      end
    end
    local state = {}
    local function visit(u, path)
      state[u] = "open"
      for v in pairs(graph[u] or {}) do
        assert.is_true(state[v] ~= "open",
          "include cycle: " .. table.concat(path, " -> ") .. " -> " .. u .. " -> " .. v)
        if not state[v] then
          local longer = { (table.unpack or unpack)(path) }
          longer[#longer + 1] = u
          visit(v, longer)
        end
      end
      state[u] = "done"
    end
    local n = 0
    for u in pairs(graph) do
      n = n + 1
      if not state[u] then visit(u, {}) end
    end
    assert.is_true(n >= 10, "expected the C core split into pieces")
  end)

  it("keeps each C file under 600 lines and each Lua module under 400", function()
    for _, f in ipairs(ls("src/*.c src/*.h")) do
      assert.is_true(lines_of(f) <= 600, ("%s has %d lines"):format(f, lines_of(f)))
    end
    for _, f in ipairs(ls("lua/gitlab/jobs.lua lua/gitlab/jobs/*.lua")) do
      assert.is_true(lines_of(f) <= 400, ("%s has %d lines"):format(f, lines_of(f)))
    end
  end)
end)
