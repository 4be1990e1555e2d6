-- The gitlab-jobs command, installed by `make install PREFIX=<a temporary
-- directory>` for the Lua under test and run by that Lua against the fake
-- GitLab: what it prints on stdout and stderr, and its exit status. The
-- installed script finds its modules by itself (LUA_PATH and LUA_CPATH are
-- unset in its environment). Every run checks that no token shows in either
-- stream.
local fake = require("fake")
local http = require("socket.http")
local ltn12 = require("ltn12")
local cjson = require("cjson").new()
local gitlab = require("gitlab.jobs")

local LUA, VERSION = os.getenv("GITLAB_SPEC_LUA"), os.getenv("GITLAB_SPEC_VERSION")

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- The bytes of the file at path, or nil when there is none.
local function slurp(path)
  local f, s = io.open(path, "rb"), nil
  if f then s = f:read("*a"); f:close() end
  return s
end

local prefix, scratch -- the install, and a directory for the runs' files

local UNSET = { "GITLAB_URL", "GITLAB_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL", "COLUMNS", "NO_COLOR",
  "LUA_PATH", "LUA_CPATH", "LUA_PATH_5_2", "LUA_CPATH_5_2", "LUA_PATH_5_3", "LUA_CPATH_5_3",
  "LUA_PATH_5_4", "LUA_CPATH_5_4" }

-- Runs the installed command with args (an array); opts.env: variables to
-- set (false: leave unset; GITLAB_URL and GITLAB_TOKEN default to the fake's),
-- opts.cwd: where, opts.tty: inside a terminal (script(1)), of opts.tty
-- columns when a number. Returns {code =, out =, err =}; with opts.tty, out
-- holds both streams as the terminal showed them.
local function run(args, opts)
  opts = opts or {}
  local env = { GITLAB_URL = fake.url, GITLAB_TOKEN = fake.TOKEN }
  for k, v in pairs(opts.env or {}) do env[k] = v end
  local words = { "env" }
  for _, k in ipairs(UNSET) do words[#words + 1] = "-u " .. k end
  for k, v in pairs(env) do
    if v then words[#words + 1] = k .. "=" .. q(v) end
  end
  words[#words + 1] = q(LUA) .. " " .. q(prefix .. "/bin/gitlab-jobs")
  for _, a in ipairs(args) do words[#words + 1] = q(a) end
  local cmd = table.concat(words, " ")
  local o, e, rc = scratch .. "/out", scratch .. "/err", scratch .. "/rc"
  if opts.tty then
    local inner = (type(opts.tty) == "number" and ("stty cols %d; "):format(opts.tty) or "") .. cmd
    cmd = ("TERM=xterm script -qec %s /dev/null </dev/null"):format(q(inner))
  end
  local line = ("%s%s >%s 2>%s; echo $? >%s"):format(opts.cwd and ("cd " .. q(opts.cwd) .. " && ") or "",
    cmd, o, e, rc)
  os.execute(line)
  local r = { code = tonumber(slurp(rc)), out = slurp(o) or "", err = slurp(e) or "" }
  if opts.tty then r.out = r.out:gsub("\r\n", "\n") end
  for _, secret in ipairs(fake.SECRETS) do
    assert(not r.out:find(secret, 1, true), "a token shows on stdout: " .. r.out)
    assert(not r.err:find(secret, 1, true), "a token shows on stderr: " .. r.err)
  end
  return r
end

-- The body GitLab (the fake) answers to GET path_and_query with the token.
local function raw(path, headers)
  local body = {}
  local _, code = http.request{ url = fake.url .. path, headers = headers or { ["private-token"] = fake.TOKEN },
    sink = ltn12.sink.table(body) }
  assert(code == 200, "GET " .. path .. ": " .. tostring(code))
  return table.concat(body)
end

-- The request the command made last to a path matching pattern, as path?query.
local function asked(pattern)
  local list = fake.requests_to("GET", pattern)
  local r = assert(list[#list], "no GET " .. pattern)
  return r.path .. (r.query ~= "" and ("?" .. r.query) or ""), r
end

-- A JSON text with the numbers that grow while a job waits or runs
-- (queued_duration, duration) masked: two answers a moment apart compare equal.
local function steady(text)
  return (text:gsub('("[%w_]*duration":)[%d.e+-]+', "%1#"))
end

-- Asserts that the command printed body, the answer GitLab sent, and a newline.
local function assert_sent(body, out)
  assert.are.equal(steady(body) .. "\n", steady(out))
end

local function lines(s)
  local out = {}
  for l in s:gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

-- The first column of each row of a table (its header left out).
local function ids(s)
  local out = {}
  for i, l in ipairs(lines(s)) do
    if i > 1 then out[#out + 1] = tonumber(l:match("^(%d+)")) end
  end
  return out
end

-- A usage error: status 2, nothing on stdout, a reason and the usage on
-- stderr, and nothing sent.
local function assert_usage(r, reason)
  assert.are.equal(2, r.code, r.err)
  assert.are.equal("", r.out)
  local l = lines(r.err)
  assert.is_truthy(l[1]:find("^gitlab%-jobs: "), r.err)
  if reason then assert.is_truthy(l[1]:find(reason, 1, true), r.err) end
  assert.is_truthy(l[2]:find("^Usage: gitlab%-jobs"), r.err)
  assert.are.same({}, fake.requests())
end

-- A run-time error: status 1, the error's tostring on stderr, nothing on stdout.
local function assert_failed(r, err)
  assert.are.equal(1, r.code, r.err)
  assert.are.equal("", r.out)
  assert.are.equal(tostring(err) .. "\n", r.err)
end

describe("gitlab-jobs", function()
  setup(function()
    prefix = os.tmpname()
    os.remove(prefix)
    scratch = prefix .. "/scratch"
    local log = prefix .. ".log"
    os.execute(("make -s --no-print-directory install PREFIX=%s LUA_VERSIONS=%s LUA_INSTALL_VERSION=%s >%s 2>&1")
      :format(q(prefix), q(VERSION), q(VERSION), q(log)))
    local f = io.open(prefix .. "/bin/gitlab-jobs")
    assert(f, "make install did not install the command: " .. (slurp(log) or ""))
    f:close()
    os.remove(log)
    os.execute("mkdir -p " .. q(scratch))
  end)
  teardown(function()
    if prefix then os.execute("rm -rf " .. q(prefix)) end
  end)
  fake.each_spec()

  describe("installed by make install", function()
    it("as an executable script for its Lua, beside its man page", function()
      local bin = prefix .. "/bin/gitlab-jobs"
      local want = VERSION == "jit" and "luajit" or "lua" .. VERSION
      if VERSION:find("^asan") then want = nil end
      if want then
        assert.are.equal("#!/usr/bin/env " .. want, slurp(bin):match("^[^\n]*"))
      end
      assert.is_true(os.execute("test -x " .. q(bin)) == true or os.execute("test -x " .. q(bin)) == 0)
      assert.are.equal(slurp("doc/gitlab-jobs.1"), slurp(prefix .. "/share/man/man1/gitlab-jobs.1"))
      local r = run({ "--version" })
      assert.are.equal(0, r.code)
      assert.are.equal("gitlab-jobs " .. gitlab.VERSION .. "\n", r.out)
    end)

    it("helps with every command, and each command with itself", function()
      local r = run({ "--help" })
      assert.are.equal(0, r.code)
      for _, name in ipairs({ "list", "pipeline", "bridges", "get", "job", "trace", "follow", "wait", "retry",
        "cancel", "erase", "play", "retry-until-success", "artifacts", "artifact", "failures" }) do
        assert.is_truthy(r.out:find("\n   " .. name .. " ", 1, true), name .. " missing from --help")
      end
      r = run({ "play", "--help" })
      assert.are.equal(0, r.code)
      assert.is_truthy(r.out:find("Usage: gitlab-jobs play", 1, true))
      assert.is_truthy(r.out:find("\n           -v <NAME=VALUE>,\n   --variable <NAME=VALUE>\n", 1, true), r.out)
      assert.are.same({}, fake.requests())
    end)
  end)

  describe("refuses a bad command line with status 2, sending nothing", function()
    it("an unknown command or option, a missing or extra argument", function()
      assert_usage(run({ "lsit", "1" }), "unknown command 'lsit' (did you mean 'list'?)")
      assert_usage(run({ "list", "1", "--bogus" }), "unknown option '--bogus'")
      assert_usage(run({ "get", "1" }), "missing argument 'JOB_ID'")
      assert_usage(run({ "get", "1", "2", "3" }), "too many arguments")
      assert_usage(run({}), "a command is required")
    end)

    it("a malformed argument, naming it", function()
      assert_usage(run({ "get", "1", "1002x" }), "JOB_ID: positive integer expected, got '1002x'")
      assert_usage(run({ "get", "..", "1" }), "PROJECT: '..' is not a project")
      assert_usage(run({ "list", "1", "--scope", "bogus" }), "--scope: unknown status 'bogus'")
      assert_usage(run({ "list", "1", "--status", "done" }), "--status: unknown status 'done'")
      assert_usage(run({ "list", "1", "--name", "[" }), "--name: bad Lua pattern '['")
      assert_usage(run({ "list", "1", "--since", "yesterday" }), "--since: ISO 8601 time")
      assert_usage(run({ "list", "1", "--limit", "ten" }), "--limit: non-negative integer expected")
      assert_usage(run({ "wait", "1", "2", "--interval", "0" }), "--interval: more than 0 seconds")
      assert_usage(run({ "play", "1", "1021", "-v", "NOVALUE" }), "--variable: NAME=VALUE expected")
      assert_usage(run({ "retry-until-success", "1", "2", "--attempts", "0" }), "--attempts: positive integer")
    end)

    it("no GitLab, no job token for job, or a token the library refuses", function()
      assert_usage(run({ "list", "1" }, { env = { GITLAB_URL = false } }), "no GitLab URL given")
      assert_usage(run({ "job" }), "needs a job token")
      assert_usage(run({ "list", "1" }, { env = { GITLAB_TOKEN = fake.TOKEN .. "\n" } }),
        "GITLAB_TOKEN: holds a CR, LF")
      assert_usage(run({ "--url", "ftp://x", "list", "1" }), "url: http:// or https:// URL")
    end)
  end)

  describe("list", function()
    it("prints the jobs newest first as a table, --limit of them", function()
      local r = run({ "list", "acme/platform/api", "--limit", "5" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
      local l = lines(r.out)
      assert.are.same({ "ID", "STATUS", "STAGE", "NAME", "REF", "DURATION", "AGE" },
        { l[1]:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)$") })
      assert.are.same({ 1022, 1021, 1020, 1019, 1018 }, ids(r.out))
      assert.is_truthy(l[2]:find("^1022%s+scheduled%s+deploy%s+deploy:canary%s+main%s+%-%s+%S"))
      -- aligned: every row's status starts where the header's does
      local at = l[1]:find("STATUS", 1, true)
      for i = 2, #l do assert.are.equal(at, l[i]:find("%a", 5), l[i]) end
    end)

    it("--json: the page GitLab sent, byte for byte, nulls and all", function()
      local r = run({ "--json", "list", "1", "--limit", "0" })
      assert.are.equal(0, r.code, r.err)
      assert_sent(raw((asked("/projects/1/jobs$"))), r.out)
      assert.is_truthy(r.out:find('"finished_at":null', 1, true))
      assert.are.equal(22, #cjson.decode(r.out))
    end)

    it("--json over several pages: one array of the jobs as GitLab wrote each", function()
      local r = run({ "list", "2", "--limit", "150", "--json" })
      assert.are.equal(0, r.code, r.err)
      local jobs = cjson.decode(r.out)
      assert.are.equal(150, #jobs)
      assert.are.equal(20350, jobs[1].id)
      assert.are.equal(20201, jobs[150].id)
      assert.are.equal(2, #fake.requests_to("GET", "/jobs$"))
      local first = raw((asked("/projects/2/jobs$"):gsub("cursor=[^&]*&?", ""):gsub("[?&]$", "")))
      assert.is_truthy(steady(r.out):find(steady(first):sub(2, -2), 1, true),
        "the first page is not in the output as sent")
    end)

    it("filters on the client and asks GitLab for scopes", function()
      local r = run({ "list", "1", "--status", "failed" })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ 1010, 1009, 1006, 1004 }, ids(r.out))
      local l = lines(r.out)
      assert.is_truthy(l[1]:find("%s+REASON$"))
      assert.is_truthy(l[3]:find("^1009%s+failed%s+test%s+unit%-tests%s+main%s.-script_failure$"), l[3])
      r = run({ "list", "1", "--name", "^deploy:", "--stage", "deploy", "--until", "2026-11-19T22:00:00Z" })
      assert.are.same({ 1021, 1020, 1019 }, ids(r.out))
      r = run({ "list", "1", "--ref", "v1.2.0", "--since", "2026-11-17T09:12:05.540Z" })
      assert.are.same({ 1003, 1002 }, ids(r.out))
      r = run({ "list", "1", "--failure-reason", "runner_system_failure", "--failure-reason", "script_failure" })
      assert.are.same({ 1010, 1009, 1004 }, ids(r.out))
      fake.clear_requests()
      r = run({ "list", "1", "--scope", "manual", "--scope", "running" })
      assert.are.same({ 1021, 1012 }, ids(r.out))
      local _, req = asked("/projects/1/jobs$")
      assert.are.same({ "manual", "running" }, req.params["scope[]"])
    end)

    it("takes the global options after the command too", function()
      local r = run({ "list", "1", "--limit", "2", "--json", "--token", fake.READONLY },
        { env = { GITLAB_TOKEN = false } })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ 1022, 1021 }, { cjson.decode(r.out)[1].id, cjson.decode(r.out)[2].id })
      local _, req = asked("/projects/1/jobs$")
      assert.are.equal(fake.READONLY, req.headers["private-token"])
    end)

    it("fails with status 1 and the error's message", function()
      local err = fake.failed(fake.client():list(5))
      fake.clear_requests()
      assert_failed(run({ "list", "5" }), err)
      assert_failed(run({ "list", "5", "--json" }), err)
      err = fake.failed(fake.client({ token = fake.EXPIRED }):list(1))
      assert_failed(run({ "list", "1" }, { env = { GITLAB_TOKEN = fake.EXPIRED } }), err)
      assert_failed(run({ "list", "1", "--token", fake.EXPIRED }), err)
      fake.fault({ path = "/jobs$", kind = "bad_json" })
      local r = run({ "list", "1" })
      assert.are.equal(1, r.code)
      assert.is_truthy(r.err:find("^GET /projects/1/jobs: ") and r.err:find("JSON"), r.err)
    end)

    it("fails on the network with status 1, after --retries retries", function()
      local port = fake.closed_port()
      local r = run({ "--retries", "0", "list", "1" }, { env = { GITLAB_URL = "http://127.0.0.1:" .. port } })
      assert.are.equal(1, r.code)
      assert.is_truthy(r.err:find("^GET /projects/1/jobs: .*[Cc]onnect"), r.err)
    end)

    it("masks a token that the server's message holds", function()
      fake.fault({ path = "/jobs$", kind = "status", status = 400, body = { message = "bad " .. fake.TOKEN } })
      local r = run({ "list", "1" })
      assert.are.equal(1, r.code)
      assert.are.equal("GET /projects/1/jobs: 400 Bad Request - bad [MASKED]\n", r.err)
    end)
  end)

  describe("pipeline and bridges", function()
    it("pipeline: its jobs, the retried ones with --include-retried, as GitLab sent them", function()
      local r = run({ "pipeline", "1", "101" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(18, #ids(r.out))
      r = run({ "pipeline", "1", "101", "--include-retried", "--scope", "failed", "--json" })
      assert.are.equal(0, r.code, r.err)
      local path, req = asked("/pipelines/101/jobs$")
      assert.are.same({ "true" }, req.params.include_retried)
      assert_sent(raw(path), r.out)
      local got = {}
      for _, j in ipairs(cjson.decode(r.out)) do got[#got + 1] = j.id end
      assert.are.same({ 1010, 1009, 1006, 1004 }, got)
      r = run({ "pipeline", "1", "102", "--name", "^unit" })
      assert.are.same({ 1002 }, ids(r.out))
    end)

    it("bridges: the trigger jobs, in a table or as JSON", function()
      local r = run({ "bridges", "acme/platform/api", "101" })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ 1024, 1023 }, ids(r.out))
      r = run({ "--json", "bridges", "1", "101" })
      assert_sent(raw((asked("/bridges$"))), r.out)
      assert.is_truthy(r.out:find('"downstream_pipeline":null', 1, true))
    end)

    it("an unknown pipeline: status 1", function()
      local err = fake.failed(fake.client():pipeline_jobs(1, 999))
      assert_failed(run({ "pipeline", "1", "999" }), err)
      err = fake.failed(fake.client():bridges(1, 999))
      assert_failed(run({ "bridges", "1", "999", "--json" }), err)
    end)
  end)

  describe("get and job", function()
    it("get: key: value lines, durations in human units", function()
      local r = run({ "get", "1", "1008" })
      assert.are.equal(0, r.code, r.err)
      local l = lines(r.out)
      assert.is_truthy(l[1]:find("^id:%s+1008$"))
      assert.is_truthy(r.out:find("\nstatus:%s+success\n"))
      assert.is_truthy(r.out:find("\nduration:%s+1m 14s\n"))
      assert.is_truthy(r.out:find("\ncreated_at:%s+2026%-11%-18T17:01:59%.799Z %(%S.-%)\n"))
      local web = fake.url:gsub("%p", "%%%0") .. "/acme/platform/api/%-/jobs/1008"
      assert.is_truthy(r.out:find("\nweb_url:%s+" .. web .. "\n"))
      local at = l[1]:find("1008", 1, true)
      for _, x in ipairs(l) do assert.are.equal(at, x:find("%S", x:find(":") + 1), x) end
    end)

    it("get --json: the job as GitLab sent it", function()
      local r = run({ "get", "acme/platform/api", "1012", "--json" })
      assert.are.equal(0, r.code, r.err)
      assert_sent(raw("/api/v4/projects/acme%2Fplatform%2Fapi/jobs/1012"), r.out)
    end)

    it("job: the job token's job, sent with the job token alone", function()
      local env = { CI_JOB_TOKEN = fake.JOB_TOKEN, GITLAB_TOKEN = false }
      local r = run({ "job", "--json" }, { env = env })
      assert.are.equal(0, r.code, r.err)
      assert_sent(raw("/api/v4/job", { ["job-token"] = fake.JOB_TOKEN }), r.out)
      r = run({ "job" }, { env = env })
      assert.is_truthy(r.out:find("^id:%s+1012\n"))
      fake.set_job(1012, { status = "success" })
      local err = fake.failed(fake.client({ token = false, job_token = fake.JOB_TOKEN }):job())
      assert_failed(run({ "job" }, { env = env }), err)
    end)

    it("an unknown job: status 1", function()
      local err = fake.failed(fake.client():get(1, 99999))
      assert_failed(run({ "get", "1", "99999" }), err)
      assert_failed(run({ "get", "1", "99999", "--json" }), err)
    end)
  end)

  describe("trace", function()
    it("writes the log's bytes as they are, or without ANSI with --strip", function()
      local c = fake.client()
      for _, id in ipairs({ 1008, 1014, 1005 }) do
        local log = assert(c:trace(1, id))
        local r = run({ "trace", "1", tostring(id) })
        assert.are.equal(0, r.code, r.err)
        assert.are.equal(log, r.out)
        r = run({ "trace", "1", tostring(id), "--strip", "--json" })
        assert.are.equal(gitlab.trace.strip_ansi(log), r.out)
      end
    end)

    it("a log it may not read: status 1", function()
      assert_failed(run({ "trace", "1", "1015" }), fake.failed(fake.client():trace(1, 1015)))
    end)
  end)
end)
