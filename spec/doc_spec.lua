-- The API reference against the module as loaded: every function, method
-- and client option the module exports has an LDoc entry (doc/ldoc/core.luadoc
-- for the C module and the client, the comments of lua/ for the Lua modules),
-- and every entry names something it exports. The entries are read by LDoc
-- itself, through the filter doc/ldoc/entries.lua, from doc/config.ld's files:
-- what `make doc` builds from.
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local core = require("gitlab.jobs.core")

local MODULES = {
  ["gitlab.jobs"] = gitlab,
  ["gitlab.jobs.core"] = core,
  ["gitlab.jobs.filter"] = require("gitlab.jobs.filter"),
  ["gitlab.jobs.pager"] = require("gitlab.jobs.pager"),
  ["gitlab.jobs.wait"] = require("gitlab.jobs.wait"),
  ["gitlab.jobs.trace"] = require("gitlab.jobs.trace"),
  ["gitlab.jobs.batch"] = require("gitlab.jobs.batch"),
  ["gitlab.jobs.poll"] = require("gitlab.jobs.poll"),
  ["gitlab.jobs.errors"] = require("gitlab.jobs.errors"),
}

-- Entries documented ahead of the code that exports them (a method's name
-- as "client:name", an option's as its name): allowed to name nothing yet,
-- and emptied once they are exported.
local COMING = {}

-- The arguments before the options table of each client method that takes one.
local BEFORE_OPTS = {
  list = { 1 }, pipeline_jobs = { 1, 1 }, bridges = { 1, 1 }, trace = { 1, 1 }, cancel = { 1, 1 },
  play = { 1, 1 }, artifacts = { 1, 1 }, artifacts_by_ref = { 1, "main", "build" },
  artifact = { 1, 1, "a" }, artifact_by_ref = { 1, "main", "build", "a" }, wait = { 1, 1 },
  retry_until_success = { 1, 1 }, follow = { 1, 1 }, batch = { {} },
}

local unpack = table.unpack or unpack

-- LDoc's entries ({module, name, type, params = {...}}) and what it warned.
local function ldoc_entries()
  local here = assert(io.popen("pwd")):read("*l")
  local path = here .. "/doc/ldoc/?.lua;;"
  local cmd = ("cd %q && LUA_PATH=%q LUA_PATH_5_2=%q ldoc -c doc/config.ld --filter entries.print . 2>&1")
    :format(here, path, path)
  local p = assert(io.popen(cmd))
  local entries, warnings = {}, {}
  for line in p:lines() do
    local m, name, kind, params = line:match("^([%w_.]+)\t([%w_.:]+)\t(%w+)\t(.*)$")
    if m then
      local list = {}
      for w in params:gmatch("%S+") do list[#list + 1] = w end
      entries[#entries + 1] = { module = m, name = name, type = kind, params = list }
    elseif line:find("%.lua[doc]*:%d+:") or line:find("^ldoc:") or line:find("cannot find") then
      warnings[#warnings + 1] = line
    end
  end
  p:close()
  return entries, warnings
end

-- The public names (not starting with _) of table t, sorted.
local function public(t)
  local out = {}
  for k in pairs(t) do
    if type(k) == "string" and not k:find("^_") then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

describe("the API reference", function()
  local entries, warnings, by_name
  setup(function()
    entries, warnings = ldoc_entries()
    by_name = {}
    for _, e in ipairs(entries) do by_name[e.module .. " " .. e.name] = e end
  end)
  fake.each_spec()

  it("is read by LDoc without a warning, every module under its own name", function()
    assert.are.same({}, warnings)
    local seen = {}
    for _, e in ipairs(entries) do seen[e.module] = true end
    for name in pairs(MODULES) do assert.is_true(seen[name] == true, name .. " has no entries") end
    for name in pairs(seen) do assert.is_truthy(MODULES[name], "an LDoc module that is not one: " .. name) end
  end)

  it("has an entry for everything each module exports", function()
    local missing = {}
    for name, t in pairs(MODULES) do
      for _, k in ipairs(public(t)) do
        if not by_name[name .. " " .. k] then missing[#missing + 1] = name .. "." .. k end
      end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end)

  it("has an entry for every method of a client and of a started call, either kind of client", function()
    local missing = {}
    for _, methods in ipairs({ core.methods, core.transport_methods }) do
      for _, k in ipairs(public(methods)) do
        if not by_name["gitlab.jobs.core client:" .. k] then missing["client:" .. k] = true end
      end
    end
    local c = gitlab.new({ url = "http://127.0.0.1:" .. fake.closed_port(), retries = { max = 0 } })
    local handle = c:start("get", 1, 1, function() end)
    for _, k in ipairs(public(getmetatable(handle).__index)) do
      if not by_name["gitlab.jobs.core handle:" .. k] then missing["handle:" .. k] = true end
    end
    handle:cancel()
    c:close()
    assert.are.same({}, missing)
  end)

  it("names nothing the module does not export", function()
    local c = gitlab.new({ url = "http://127.0.0.1:" .. fake.closed_port(), retries = { max = 0 } })
    local handle = c:start("get", 1, 1, function() end)
    local handle_methods = getmetatable(handle).__index
    handle:cancel()
    c:close()
    local stray = {}
    for _, e in ipairs(entries) do
      local t = MODULES[e.module]
      local class, method = e.name:match("^(%a+):([%w_]+)$")
      local exported
      if class == "client" then
        exported = core.methods[method] ~= nil and core.transport_methods[method] ~= nil
      elseif class == "handle" then
        exported = handle_methods[method] ~= nil
      elseif e.module == "gitlab.jobs.core" and e.name == "client_options" then
        exported = true -- checked option by option below
      else
        exported = t ~= nil and t[e.name] ~= nil
      end
      if exported == (COMING[e.name] == true) then
        -- named but not exported, or exported while still listed as coming
        stray[#stray + 1] = e.module .. " " .. e.name
      end
    end
    assert.are.same({}, stray)
  end)

  it("names only options the client and its methods take", function()
    local thread = coroutine.create(function() end)
    -- a value of no option's type: a known option raises on its type, an unknown one as unknown
    local function unknown(f, name)
      local ok, msg = pcall(f)
      return not ok and tostring(msg):find("unknown option '" .. name .. "'", 1, true) ~= nil
    end
    local options = by_name["gitlab.jobs.core client_options"]
    assert.is_truthy(options, "no client_options entry")
    local stray = {}
    for _, name in ipairs(options.params) do
      if unknown(function() gitlab.new({ url = "http://x", [name] = thread }) end, name) ~= (COMING[name] == true) then
        stray[#stray + 1] = "new: " .. name
      end
    end
    assert.is_true(#options.params >= 14)
    local c = fake.client({ url = "http://127.0.0.1:" .. fake.closed_port() })
    local checked = 0
    for _, e in ipairs(entries) do
      local method = e.name:match("^client:([%w_]+)$")
      for _, p in ipairs(e.params) do
        local opt = p:match("^opts%.([%w_]+)$")
        if method and opt then
          local before = assert(BEFORE_OPTS[method], "BEFORE_OPTS has no arguments for " .. method)
          local args = { unpack(before) }
          args[#args + 1] = { [opt] = thread }
          if unknown(function() return c[method](c, unpack(args, 1, #before + 1)) end, opt) then
            stray[#stray + 1] = method .. ": " .. opt
          end
          checked = checked + 1
        end
      end
    end
    assert.is_true(checked > 40)
    assert.are.same({}, stray)
    assert.are.same({}, fake.requests())
  end)
end)
