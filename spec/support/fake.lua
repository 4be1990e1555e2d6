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

return M
