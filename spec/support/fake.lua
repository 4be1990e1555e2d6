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
  return strip_nulls(cjson.decode(text))
end

function M.reset() return M.control("POST", "/reset", {}) end
function M.requests() return M.control("GET", "/requests") end
function M.clear_requests() return M.control("DELETE", "/requests") end
function M.stats() return M.control("GET", "/stats") end
function M.config(t) return M.control("POST", "/config", t) end
function M.fault(t) return M.control("POST", "/faults", t) end
function M.set_job(id, t) return M.control("POST", "/jobs/" .. id, t) end
function M.script(id, t) return M.control("POST", "/jobs/" .. id .. "/script", t) end

--- The API requests received since the last reset (control calls excluded).
function M.api_requests()
  return M.requests()
end

--- A client on the fake with the valid token and no retries, unless opts say otherwise.
function M.client(opts)
  local o = { url = M.url, token = M.TOKEN, retries = { max = 0 } }
  for k, v in pairs(opts or {}) do o[k] = v end
  return gitlab.new(o)
end

-- Clients a spec file wants closed after each spec (fake.client does not keep
-- them: specs that prove garbage collection must be able to lose theirs).
local tracked = {}

--- Keeps c to be closed by close_clients; returns c.
function M.track(c)
  tracked[#tracked + 1] = c
  return c
end

--- Closes every client given to track (closing twice is harmless).
function M.close_clients()
  for i = #tracked, 1, -1 do
    tracked[i]:close()
    tracked[i] = nil
  end
end

--- Asserts that a call failed with an error object, and adds the error to
-- seen (for the check that no token shows in any error); returns it.
function M.failed(seen, value, err)
  local check = require("luassert")
  check.is_nil(value, "expected the call to fail")
  check.is_true(gitlab.is_error(err))
  seen[#seen + 1] = err
  return err
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

--- A client on the fake whose sleep and clock are a fake clock: client, clock.
function M.timed_client(opts)
  local clk = M.clock()
  local o = { sleep = clk.sleep, clock = clk.clock }
  for k, v in pairs(opts or {}) do o[k] = v end
  return M.client(o), clk
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

--- Every token the specs use: none may ever show in an error.
M.SECRETS = { M.TOKEN, M.READONLY, M.EXPIRED, M.OAUTH, M.JOB_TOKEN }

--- Raises when tostring(err), err.message or err.body of any error in errs
-- holds a token; returns how many errors were looked at.
function M.assert_tokenless(errs)
  for i, err in ipairs(errs) do
    for _, text in ipairs({ tostring(err), tostring(err.message), tostring(err.body) }) do
      for _, secret in ipairs(M.SECRETS) do
        assert(not text:find(secret, 1, true), ("error #%d shows a token: %s"):format(i, text))
      end
    end
  end
  return #errs
end

--- A port on 127.0.0.1 where nothing listens: connecting to it is refused.
function M.closed_port()
  local socket = require("socket")
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return port
end

return M
