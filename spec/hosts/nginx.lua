-- Runs inside nginx's Lua module (LuaJIT, as OpenResty): a content handler
-- whose client has a transport over ngx.socket.tcp, which yields to nginx's
-- event loop on every read and write.
local gitlab = require("gitlab.jobs")

-- A small HTTP/1.1 transport over a cosocket (plain http, one request per connection).
local function transport(req)
  local scheme, host, port, path = req.url:match("^(https?)://([^:/]+):?(%d*)(.*)$")
  if scheme ~= "http" then return nil, "this example transport speaks plain http only" end
  local sock = ngx.socket.tcp()
  sock:settimeouts(5000, 5000, 30000)
  local ok, err = sock:connect(host, tonumber(port) or 80)
  if not ok then return nil, err end
  local lines = { ("%s %s HTTP/1.1"):format(req.method, path ~= "" and path or "/"),
                  "Host: " .. host .. (port ~= "" and (":" .. port) or ""), "Connection: close" }
  for name, value in pairs(req.headers) do lines[#lines + 1] = name .. ": " .. value end
  lines[#lines + 1] = "Content-Length: " .. #(req.body or "")
  ok, err = sock:send(table.concat(lines, "\r\n") .. "\r\n\r\n" .. (req.body or ""))
  if not ok then return nil, err end
  local status_line = sock:receive("*l")
  if not status_line then return nil, "no answer" end
  local res = { status = tonumber(status_line:match("^HTTP/%d%.%d (%d%d%d)")), headers = {} }
  while true do
    local line, e = sock:receive("*l")
    if not line then return nil, e end
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then res.headers[name:lower()] = value end
  end
  local len = tonumber(res.headers["content-length"])
  res.body = len and sock:receive(len) or sock:receive("*a")
  sock:close()
  return res
end

-- ticks: how often another light thread ran while the calls were under way,
-- which it can only do when the transport yields to nginx's loop
local ticks, done = 0, false
local ticker = ngx.thread.spawn(function()
  while not done do
    ngx.sleep(0.01)
    ticks = ticks + 1
  end
end)
local client = gitlab.new{ url = os.getenv("GITLAB_URL"), token = os.getenv("GITLAB_TOKEN"),
                           transport = transport, sleep = ngx.sleep, retries = false }
local failed = assert(client:all("list", "acme/platform/api", { scope = "failed" }))
local job = assert(client:get(1, 1009))
local _, err = client:get(1, 999999)
local log = assert(client:trace(1, 1008))
done = true
ngx.thread.wait(ticker)
ngx.say(("ok failed=%d name=%s status=%d log=%d ticks=%d %s"):format(#failed, job.name, err.status, #log,
  ticks, jit and jit.version or _VERSION))
