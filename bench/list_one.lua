-- One run of the list case for bench/side_by_side.py, in a process of its own
-- so that its CPU time and peak memory are its own. Prints the number of jobs.
--   lua bench/list_one.lua each|all PROJECT      the client (GITLAB_URL, GITLAB_TOKEN)
--   lua bench/list_one.lua stream|keep < pages   the floors: one JSON page a line on
--                                                stdin (curl's output), decoded with
--                                                lua-cjson; stream touches each job,
--                                                keep also holds every job in one array
local mode, project = arg[1], tonumber(arg[2])
local n = 0

if mode == "each" or mode == "all" then
  local gitlab = require("gitlab.jobs")
  local client = gitlab.new{ retries = { max = 0 } }
  if mode == "each" then
    for job in client:each("list", project) do
      if job.id then n = n + 1 end
    end
  else
    n = #assert(client:all("list", project))
  end
  client:close()
elseif mode == "stream" or mode == "keep" then
  local cjson = require("cjson")
  local kept = {}
  for line in io.lines() do
    if line ~= "" then
      for _, job in ipairs(cjson.decode(line)) do
        if job.id then n = n + 1 end
        if mode == "keep" then kept[n] = job end
      end
    end
  end
  assert(mode ~= "keep" or #kept == n)
else
  error("usage: list_one.lua each|all PROJECT, or stream|keep < pages")
end
print(n)
