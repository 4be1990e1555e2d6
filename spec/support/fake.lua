--- Test support: drives the fake GitLab started by spec/run.sh.
local http = require("socket.http")
local ltn12 = require("ltn12")
local cjson = require("cjson").new()
local gitlab = require("gitlab.jobs")

local M = {
  url = assert(os.getenv("GITLAB_FAKE_URL"), "GITLAB_FAKE_URL is not set: run the specs with `make test`"),
  url2 = os.getenv("GITLAB_FAKE_URL2"),
  TOKEN = "glpat-valid-token",
  READONLY = "glpat-readonly",
  EXPIRED = "glpat-expired",
  OAUTH = "oauth-valid-token",
  JOB_TOKEN = "job-token-running",
}

local function strip_nulls(v)
  if v == cjson.null then return nil end
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = strip_nulls(x) end
  end
  return v
end

--- A Lua transport over luasocket (a socket per request): the stepped driver's way.
function M.socket_transport(req)
  local out = {}
  local _, status, headers = http.request{ url = req.url, method = req.method, headers = req.headers,
    source = req.body and ltn12.source.string(req.body) or nil, sink = ltn12.sink.table(out) }
  if type(status) ~= "number" then return nil, tostring(status) end
  return { status = status, headers = headers, body = table.concat(out) }
end

--- The bytes of the file at path, or nil when there is none.
function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- s (any value, as tostring gives it) quoted for a POSIX shell.
function M.shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- The ids of a list of jobs (or of anything with an id), in order.
function M.ids(list)
  local out = {}
  for i, item in ipairs(list) do out[i] = item.id end
  return out
end

--- The items of t from index from to index to (default: the end; past it: the end).
function M.slice(t, from, to)
  local out = {}
  for i = from, math.min(to or #t, #t) do out[#out + 1] = t[i] end
  return out
end

--- Decodes a JSON text as the control API's answers are: null as nil.
function M.decode(text)
  return strip_nulls(cjson.decode(text))
end

--- Calls the control API; returns the decoded answer.
function M.control(method, path, body)
  local out = {}
  local data = body and cjson.encode(body) or nil
  local _, code = http.request{
    url = M.url .. "/__control" .. path,
    method = method,
    headers = data and { ["content-type"] = "application/json", ["content-length"] = #data } or nil,
    source = data and ltn12.source.string(data) or nil,
    sink = ltn12.sink.table(out),
  }
  local text = table.concat(out)
  assert(code == 200, ("control %s %s: %s %s"):format(method, path, tostring(code), text))
  if text == "" then return nil end
  return M.decode(text)
end

function M.reset() return M.control("POST", "/reset", {}) end
function M.clear_requests() return M.control("DELETE", "/requests") end
function M.stats() return M.control("GET", "/stats") end
function M.config(t) return M.control("POST", "/config", t) end
function M.fault(t) return M.control("POST", "/faults", t) end
function M.set_job(id, t) return M.control("POST", "/jobs/" .. id, t) end
function M.script(id, t) return M.control("POST", "/jobs/" .. id .. "/script", t) end

-- The path of the requests M.now sends: the fake logs them like any API
-- request, M.requests leaves them out.
local MARK = "/api/v4/__now__"

--- The API requests received since the last reset (control calls and M.now's
-- marks excluded), oldest first.
function M.requests()
  local out = {}
  for _, r in ipairs(M.control("GET", "/requests")) do
    if r.path ~= MARK then out[#out + 1] = r end
  end
  return out
end

--- The fake's own clock, now: the time its request log gives a request sent
-- after every request made before this call was answered.
function M.now()
  local tag = ("%d-%d"):format(os.time(), math.random(1, 1e9))
  http.request(M.url .. MARK .. "?mark=" .. tag)
  local log = M.control("GET", "/requests")
  for i = #log, 1, -1 do
    if log[i].path == MARK and log[i].query == "mark=" .. tag then return log[i].time end
  end
  error("the fake did not log the clock mark")
end

--- What the control API knows of a job ({job = as the API renders it, kind,
-- project_id, pipeline_id, retried, log_size, ...}), or nil for an unknown id.
function M.job(id)
  local out = {}
  local _, code = http.request{ url = M.url .. "/__control/jobs/" .. id, sink = ltn12.sink.table(out) }
  if code == 404 then return nil end
  assert(code == 200, ("control GET /jobs/%s: %s %s"):format(id, tostring(code), table.concat(out)))
  return M.decode(table.concat(out))
end

-- Every client M.client made, to be closed after each spec. The table is
-- weak: a spec that proves garbage collection can still lose its client.
local tracked = setmetatable({}, { __mode = "v" })
local serial = 0

--- Keeps c to be closed by close_clients; returns c.
function M.track(c)
  serial = serial + 1
  tracked[serial] = c
  return c
end

--- Closes every client given to track (closing twice is harmless).
function M.close_clients()
  for k, c in pairs(tracked) do
    c:close()
    tracked[k] = nil
  end
end

--- A client on the fake with the valid token and no retries, unless the
-- option tables given say otherwise (a later one wins); closed after the spec
-- (see each_spec).
function M.client(...)
  local o = { url = M.url, token = M.TOKEN, retries = { max = 0 } }
  for i = 1, select("#", ...) do
    for k, v in pairs(select(i, ...) or {}) do o[k] = v end
  end
  return M.track(gitlab.new(o))
end

--- Sets up the enclosing describe block: before each spec the fake is reset,
-- then setup (if given) runs; after it every client of M.client is closed.
function M.each_spec(setup)
  local busted = require("busted")
  busted.before_each(function()
    M.reset()
    if setup then setup() end
  end)
  busted.after_each(M.close_clients)
end

--- Every token the specs use: none may ever show in an error.
M.SECRETS = { M.TOKEN, M.READONLY, M.EXPIRED, M.OAUTH, M.JOB_TOKEN }

--- Client options for each way a token is sent: PRIVATE-TOKEN, Bearer, JOB-TOKEN.
M.CREDENTIALS = {
  { token = M.TOKEN }, { token = false, oauth_token = M.OAUTH }, { token = false, job_token = M.JOB_TOKEN },
}

--- Raises when tostring(err), err.message, err.body or err.path holds a token;
-- returns err.
function M.assert_tokenless(err)
  for _, field in ipairs({ "tostring(err)", "message", "body", "path" }) do
    local text = field == "tostring(err)" and tostring(err) or err[field]
    for _, secret in ipairs(M.SECRETS) do
      if type(text) == "string" and text:find(secret, 1, true) then
        error(("a token shows in the error's %s: %s"):format(field, text), 2)
      end
    end
  end
  return err
end

--- Asserts that a call failed with an error object that has a message and
-- shows no token; returns the error.
function M.failed(value, err)
  local check = require("luassert")
  check.is_nil(value, "expected the call to fail")
  check.is_true(gitlab.is_error(err), "expected an error object, got " .. tostring(err))
  check.is_string(err.message)
  check.is_string(tostring(err))
  M.assert_tokenless(err)
  return err
end

--- Streams a job's log to a sink that keeps every chunk, with trace's other
-- options: what trace returned (n, err), the chunks joined, and the chunks.
function M.stream(c, project, job_id, opts)
  local chunks = {}
  local o = { sink = function(s) chunks[#chunks + 1] = s end }
  for k, v in pairs(opts or {}) do o[k] = v end
  local n, err = c:trace(project, job_id, o)
  return n, err, table.concat(chunks), chunks
end

--- Asserts low <= value <= high (with a millisecond to spare for the clocks'
-- rounding): for a value computed at a moment known only to lie between two.
function M.assert_between(value, low, high, what)
  assert(type(value) == "number", ("%s: a number expected, got %s"):format(what or "value", tostring(value)))
  assert(value >= low - 1e-3 and value <= high + 1e-3,
    ("%s is %s, expected between %s and %s"):format(what or "value", value, low, high))
end

--- Raises unless f raises an error whose message contains every given text.
function M.raises(f, ...)
  local ok, err = pcall(f)
  assert(not ok, "expected an error, the call succeeded")
  err = tostring(err)
  for i = 1, select("#", ...) do
    local want = select(i, ...)
    assert(err:find(want, 1, true), ("error %q does not mention %q"):format(err, want))
  end
  return err
end

--- A fake clock for clients: sleeping moves it forward at once, so nothing
-- really waits. clk.sleeps lists every wait asked for; clk.events, when a
-- spec appends its own markers to it, gets each wait too, in order. An hour of
-- fake waiting raises: a loop that would never end fails instead of hanging.
function M.clock(start)
  local clk = { t = start or 0, sleeps = {}, events = {}, limit = 3600 }
  function clk.sleep(s)
    if clk.t - (start or 0) + s > clk.limit then
      error(("fake clock: more than %d s of waiting, after %d sleeps"):format(clk.limit, #clk.sleeps), 2)
    end
    clk.t = clk.t + s
    clk.sleeps[#clk.sleeps + 1] = s
    clk.events[#clk.events + 1] = s
  end
  function clk.clock() return clk.t end
  return clk
end

--- A client on the fake whose sleep and clock are a fake clock, with the
-- option tables given (as for M.client): client, clock.
function M.timed_client(...)
  local clk = M.clock()
  return M.client({ sleep = clk.sleep, clock = clk.clock }, ...), clk
end

--- The API requests since the last reset whose method and path match
-- (path: a Lua pattern on the path without the query; method nil: any).
function M.requests_to(method, pattern)
  local out = {}
  for _, r in ipairs(M.requests()) do
    if (method == nil or r.method == method) and r.path:find(pattern) then out[#out + 1] = r end
  end
  return out
end

--- Runs a Lua chunk in a fresh interpreter of the version under test, with
-- env (shell assignments) before it; returns what it wrote, stderr included.
function M.run_lua(code, env)
  local lua, v = os.getenv("GITLAB_SPEC_LUA"), os.getenv("GITLAB_SPEC_VERSION")
  assert(lua and v, "spec/run.sh sets GITLAB_SPEC_LUA and GITLAB_SPEC_VERSION")
  local prelude = "package.path='lua/?.lua;'..package.path; package.cpath='build/" .. v .. "/?.so;'..package.cpath;"
  local p = assert(io.popen(("%s %s -e %q 2>&1"):format(env or "", lua, prelude .. code)))
  local out = p:read("*a")
  p:close()
  return out
end

--- A port on 127.0.0.1 where nothing listens: connecting to it is refused.
function M.closed_port()
  local socket = require("socket")
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return port
end

--- A port on 127.0.0.1 that accepts no connection: it listens, but its
-- backlog is full, so a connection attempt hangs until it times out.
-- Returns the port and a function that frees it.
function M.silent_port()
  local socket = require("socket")
  local srv = assert(socket.tcp())
  assert(srv:bind("127.0.0.1", 0))
  assert(srv:listen(0)) -- room for one connection, which the filler takes
  local _, port = srv:getsockname()
  local filler = assert(socket.tcp())
  filler:settimeout(5)
  assert(filler:connect("127.0.0.1", port))
  return port, function()
    filler:close()
    srv:close()
  end
end

--- How many sockets this process has open (from /proc/self/fd).
function M.open_sockets()
  local stat = assert(io.open("/proc/self/stat"))
  local pid = stat:read("*n")
  stat:close()
  local p = assert(io.popen("ls -l /proc/" .. pid .. "/fd 2>/dev/null"))
  local n = 0
  for line in p:lines() do
    if line:find("socket:", 1, true) then n = n + 1 end
  end
  p:close()
  return n
end

return M
