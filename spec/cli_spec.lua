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

local q, slurp = fake.shell_quote, fake.read_file

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

-- The fake's own bytes of a control path (archives, their members), read past the client.
local function control_bytes(path)
  return raw("/__control" .. path, {})
end

-- The POSTs the fake received to paths matching pattern.
local function posts(pattern)
  return fake.requests_to("POST", pattern)
end

-- The job an action printed as its one-row table: its id and status.
local function row(out)
  local l = lines(out)
  assert.are.equal(2, #l, out)
  local id, status = l[2]:match("^(%d+)%s+(%S+)")
  return tonumber(id), status
end

-- Runs a poll (wait, follow, retry-until-success) with short pauses.
local function poll(args, opts)
  for _, a in ipairs({ "--interval", "0.05" }) do args[#args + 1] = a end
  return run(args, opts)
end

-- The columns a line of output takes on a terminal: no escapes, a character each.
local function out_width(l)
  local _, n = gitlab.trace.strip_ansi(l):gsub("[^\128-\191]", "")
  return n
end

local RUN_THEN_FAIL = { { status = "running" }, { status = "failed", failure_reason = "runner_system_failure" } }
local RUN_THEN_PASS = { { status = "running" }, { status = "success" } }

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
    it("has a man page made from the same tables, listing what each --help lists", function()
      local man = slurp("doc/gitlab-jobs.1")
      assert.are.equal(require("gitlab.jobs.cli_man").render(gitlab), man, "doc/gitlab-jobs.1 is stale: make doc")
      local text = man:gsub("\\%-", "-"):gsub("\\f[BIR]", "")
      -- the options a piece of text names, as a sorted list
      local function options(t)
        local set, out = {}, {}
        for o in (" " .. t):gmatch("[%s,%[]%-%-?[%a][%w-]*") do set[o:sub(2)] = true end
        for o in pairs(set) do out[#out + 1] = o end
        table.sort(out)
        return out
      end
      local sections = {}
      for name, body in text:gsub("\n%.S[SH] ", "\n\1%0"):gmatch("\n%.SS ([%w-]+)\n([^\1]*)") do
        sections[name] = body
      end
      local help = run({ "--help" })
      local global = text:match("\n%.SH GLOBAL OPTIONS\n(.-)\n%.SH")
      assert.are.same(options(help.out:match("\nOptions:\n(.-)\n\n")), options(global))
      local commands = {}
      for name in help.out:match("\nCommands:\n(.-)\n\n"):gmatch("\n?   ([%w-]+)   ") do
        commands[#commands + 1] = name
        local h = run({ name, "--help" })
        assert.are.equal(0, h.code)
        local listed = options(h.out:match("\nOptions:\n(.*)$"))
        local without_help = {}
        for _, o in ipairs(listed) do
          if o ~= "-h" and o ~= "--help" then without_help[#without_help + 1] = o end
        end
        assert.are.same(without_help, options(assert(sections[name], name .. " has no section")), name)
      end
      assert.are.equal(16, #commands)
      local n = 0
      for _ in pairs(sections) do n = n + 1 end
      assert.are.equal(#commands, n)
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
  describe("follow", function()
    it("writes the log as it grows and exits 0 when the job succeeds", function()
      fake.script(1012, { steps = { { append_log = "step a\n" }, { append_log = "step b\n", status = "success" } } })
      local r = poll({ "follow", "1", "1012" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
      assert.are.equal(assert(fake.client():trace(1, 1012)), r.out)
      assert.is_truthy(r.out:find("step a\nstep b\n$"))
      r = poll({ "follow", "1", "1012", "--strip", "--json" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(gitlab.trace.strip_ansi(assert(fake.client():trace(1, 1012))), r.out)
    end)

    it("exits 3 when the job fails or is canceled, 4 when --timeout passes first", function()
      for _, final in ipairs({ "failed", "canceled" }) do
        fake.script(1012, { steps = { { append_log = "x\n" }, { status = final } } })
        local r = poll({ "follow", "1", "1012" })
        assert.are.equal(3, r.code, r.err)
        assert.is_truthy(r.out:find("x\n$"))
      end
      local r = poll({ "follow", "1", "1016", "--timeout", "0.2" })
      assert.are.equal(4, r.code, r.err)
      assert.are.equal("", r.out)
      assert.is_truthy(r.err:find("^GET /projects/1/jobs/1016: job 1016 is still pending after 0%.2 s\n$"), r.err)
    end)

    it("an unknown job: status 1", function()
      assert_failed(poll({ "follow", "1", "99999" }), fake.failed(fake.client():get(1, 99999)))
    end)
  end)

  describe("wait", function()
    it("prints the final status, or the final job with --json; exits 0 on success", function()
      fake.script(1012, { steps = { {}, { status = "success" } } })
      local r = poll({ "wait", "1", "1012" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("success\n", r.out)
      fake.script(1016, { steps = { { status = "running" }, { status = "success" } } })
      r = poll({ "wait", "1", "1016", "--json" })
      assert.are.equal(0, r.code, r.err)
      assert_sent(raw("/api/v4/projects/1/jobs/1016"), r.out)
    end)

    it("exits 3 on a job that did not succeed, at once on a manual one unless --manual", function()
      fake.script(1012, { steps = { {}, { status = "failed" } } })
      local r = poll({ "wait", "1", "1012" })
      assert.are.same({ 3, "failed\n" }, { r.code, r.out })
      r = poll({ "wait", "1", "1007" })
      assert.are.same({ 3, "skipped\n" }, { r.code, r.out })
      fake.clear_requests()
      r = poll({ "wait", "1", "1021" })
      assert.are.same({ 3, "manual\n" }, { r.code, r.out })
      assert.are.equal(1, #fake.requests())
      fake.script(1021, { steps = { {}, { status = "pending" }, { status = "running" }, { status = "success" } } })
      r = poll({ "wait", "1", "1021", "--manual" })
      assert.are.same({ 0, "success\n" }, { r.code, r.out })
    end)

    it("exits 4 when --timeout passes first, 1 on a run-time error", function()
      local r = poll({ "wait", "1", "1016", "--timeout", "0.2", "--json" })
      assert.are.equal(4, r.code, r.err)
      assert.are.equal("", r.out)
      assert.is_truthy(r.err:find("still pending after 0%.2 s\n$"), r.err)
      assert_failed(poll({ "wait", "1", "99999" }), fake.failed(fake.client():get(1, 99999)))
      assert_failed(poll({ "wait", "1", "1012" }, { env = { GITLAB_TOKEN = fake.EXPIRED } }),
        fake.failed(fake.client({ token = fake.EXPIRED }):get(1, 1012)))
    end)
  end)

  describe("retry, cancel, erase and play", function()
    it("retry: the new job, as a row or as GitLab sent it; one POST", function()
      local r = run({ "retry", "1", "1009" })
      assert.are.equal(0, r.code, r.err)
      local id, status = row(r.out)
      assert.are.equal("pending", status)
      assert.are_not.equal(1009, id)
      assert.are.equal("unit-tests", fake.job(id).job.name)
      assert.is_true(fake.job(1009).retried)
      assert.are.equal(1, #posts("/jobs/1009/retry$"))
      r = run({ "retry", "1", "1006", "--json" })
      assert.are.equal(0, r.code, r.err)
      local job = cjson.decode(r.out)
      assert.are.equal("windows-build", job.name)
      assert_sent(raw(("/api/v4/projects/1/jobs/%d"):format(job.id)), r.out)
    end)

    it("cancel, with --force; erase", function()
      local r = run({ "cancel", "1", "1012" })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ 1012, "canceled" }, { row(r.out) })
      r = run({ "cancel", "1", "1013", "--force", "--json" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("canceled", cjson.decode(r.out).status)
      assert.are.same({ "true" }, posts("/jobs/1013/cancel$")[1].params.force)
      assert.is_nil(posts("/jobs/1012/cancel$")[1].params.force)
      r = run({ "erase", "1", "1008", "--json" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(1008, cjson.decode(r.out).id)
      assert.is_truthy(fake.job(1008).job.erased_at)
    end)

    it("play: a manual job with its variables", function()
      local r = run({ "play", "1", "1021", "-v", "TARGET=staging", "--variable", "NOTE=a=b c" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(1021, (row(r.out)))
      local sent = posts("/jobs/1021/play$")
      assert.are.equal(1, #sent)
      assert.are.same({ { key = "TARGET", value = "staging" }, { key = "NOTE", value = "a=b c" } },
        sent[1].json.job_variables_attributes)
    end)

    it("play --json: the job as GitLab sent it, one POST", function()
      local r = run({ "play", "1", "1021", "--json" })
      assert.are.equal(0, r.code, r.err)
      local job = cjson.decode(r.out)
      assert.are.equal(1021, job.id)
      assert.are_not.equal("manual", job.status)
      assert.are.equal(fake.job(1021).job.status, job.status)
      assert_sent(raw("/api/v4/projects/1/jobs/1021"), r.out)
      assert.are.equal(1, #posts("/jobs/1021/play$"))
    end)

    it("fails with status 1 and GitLab's message, sending the POST once", function()
      local err = fake.failed(fake.client({ token = fake.READONLY }):retry(1, 1009))
      fake.clear_requests()
      assert_failed(run({ "retry", "1", "1009", "--token", fake.READONLY }), err)
      assert.are.equal(1, #posts("/retry$"))
      err = fake.failed(fake.client():play(1, 1008))
      assert_failed(run({ "play", "1", "1008", "--json" }), err)
      err = fake.failed(fake.client():erase(1, 99999))
      assert_failed(run({ "erase", "1", "99999" }), err)
      err = fake.failed(fake.client():cancel(1, 99999))
      assert_failed(run({ "cancel", "1", "99999", "--json" }), err)
    end)
  end)

  describe("retry-until-success", function()
    it("retries until a run passes and prints it; exits 0", function()
      fake.script(1010, { retries = { RUN_THEN_FAIL, RUN_THEN_PASS } })
      local r = poll({ "retry-until-success", "1", "1010", "--base-delay", "0.05" })
      assert.are.equal(0, r.code, r.err)
      local id, status = row(r.out)
      assert.are.equal("success", status)
      assert.are.equal("success", fake.job(id).job.status)
      assert.are.equal(2, #posts("/retry$"))
      fake.script(1009, { retries = { RUN_THEN_PASS } })
      r = poll({ "retry-until-success", "1", "1009", "--base-delay", "0.05", "--json" })
      assert.are.equal(0, r.code, r.err)
      assert_sent(raw(("/api/v4/projects/1/jobs/%d"):format(cjson.decode(r.out).id)), r.out)
    end)

    it("exits 3 when the runs are exhausted or --when refuses, printing the last job", function()
      fake.script(1010, { retries = { RUN_THEN_FAIL, RUN_THEN_FAIL } })
      local r = poll({ "retry-until-success", "1", "1010", "--attempts", "2", "--base-delay", "0.05" })
      assert.are.equal(3, r.code, r.err)
      local id, status = row(r.out)
      assert.are.equal("failed", status)
      assert.are.equal(1, #posts("/retry$"))
      assert.are.equal(("job %d failed (runner_system_failure) after 2 runs\n"):format(id), r.err)
      fake.reset()
      r = poll({ "retry-until-success", "1", "1010", "--when", "script_failure", "--json" })
      assert.are.equal(3, r.code, r.err)
      assert.are.equal(1010, cjson.decode(r.out).id)
      assert.are.equal(0, #posts("/retry$"))
    end)

    it("exits 4 when --timeout passes first, 1 on a run-time error", function()
      local r = poll({ "retry-until-success", "1", "1016", "--timeout", "0.2" })
      assert.are.equal(4, r.code, r.err)
      assert.are.equal("", r.out)
      assert_failed(poll({ "retry-until-success", "1", "99999" }), fake.failed(fake.client():get(1, 99999)))
    end)
  end)

  describe("artifacts and artifact", function()
    it("artifacts: the archive to a file, artifacts.zip by default; its path and size", function()
      local want = control_bytes("/jobs/1001/artifacts/archive")
      local r = run({ "artifacts", "1", "1001" }, { cwd = scratch })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(want, slurp(scratch .. "/artifacts.zip"))
      assert.are.equal("artifacts.zip  5.3 KiB\n", r.out)
      r = run({ "--json", "artifacts", "1", "1001", "-o", scratch .. "/b.zip" })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ path = scratch .. "/b.zip", bytes = #want }, cjson.decode(r.out))
      assert.is_falsy(r.out:find("\\/", 1, true))
      assert.are.equal(want, slurp(scratch .. "/b.zip"))
    end)

    it("artifact: one file of the archive to stdout, or to a file", function()
      local want = control_bytes("/jobs/1008/artifacts/file/reports/junit.xml")
      local r = run({ "artifact", "1", "1008", "reports/junit.xml" })
      assert.are.same({ 0, want, "" }, { r.code, r.out, r.err })
      r = run({ "artifact", "1", "1008", "reports/junit.xml", "-o", scratch .. "/junit.xml", "--json" })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ path = scratch .. "/junit.xml", bytes = #want }, cjson.decode(r.out))
      assert.are.equal(want, slurp(scratch .. "/junit.xml"))
    end)

    it("a job without them: status 1, and no file left", function()
      local err = fake.failed(fake.client():artifacts(1, 1009))
      assert_failed(run({ "artifacts", "1", "1009", "-o", scratch .. "/none.zip" }), err)
      assert.is_nil(slurp(scratch .. "/none.zip"))
      err = fake.failed(fake.client():artifact(1, 1008, "no/such.txt"))
      assert_failed(run({ "artifact", "1", "1008", "no/such.txt" }), err)
      assert_failed(run({ "artifact", "1", "1008", "no/such.txt", "--json" }), err)
    end)
  end)

  describe("failures", function()
    -- The reasons of the failed jobs among the newest n, counted from the fake's own list.
    local function counted(project, n)
      local count, latest = {}, {}
      for _, job in ipairs(assert(fake.client():all("list", project, { limit = n }))) do
        if job.status == "failed" then
          local reason = job.failure_reason
          count[reason] = (count[reason] or 0) + 1
          latest[reason] = latest[reason] or job.id
        end
      end
      return count, latest
    end

    it("counts the failure reasons of the last --limit jobs, most frequent first", function()
      local count, latest = counted(2, 350)
      local r = run({ "failures", "2", "--limit", "350" })
      assert.are.equal(0, r.code, r.err)
      local l = lines(r.out)
      assert.is_truthy(l[1]:find("^REASON%s+COUNT%s+LATEST$"))
      local seen, last = 0, math.huge
      for i = 2, #l do
        local reason, n, id = l[i]:match("^(%S+)%s+(%d+)%s+(%d+)$")
        assert.are.equal(count[reason], tonumber(n), l[i])
        assert.are.equal(latest[reason], tonumber(id), l[i])
        assert.is_true(tonumber(n) <= last)
        last, seen = tonumber(n), seen + 1
      end
      local reasons = 0
      for _ in pairs(count) do reasons = reasons + 1 end
      assert.are.equal(reasons, seen)
      assert.is_true(seen >= 3)
    end)

    it("--json: an array of {reason, count, latest}, 100 jobs by default", function()
      local count, latest = counted(2, 100)
      local r = run({ "--json", "failures", "2" })
      assert.are.equal(0, r.code, r.err)
      local got = cjson.decode(r.out)
      assert.is_true(#got > 0)
      for _, x in ipairs(got) do
        assert.are.same({ count[x.reason], latest[x.reason] }, { x.count, x.latest })
      end
      assert.is_truthy(r.out:find('^%[{"reason":"[%w_]+","count":%d+,"latest":%d+}'))
    end)

    it("an unknown project: status 1", function()
      local err = fake.failed(fake.client():list(5))
      assert_failed(run({ "failures", "5" }), err)
      assert_failed(run({ "failures", "5", "--json" }), err)
    end)
  end)

  describe("on a terminal", function()
    it("colours the statuses, sizes the table to its width, and shows the pages read on stderr", function()
      local r = run({ "list", "1", "--limit", "4" }, { tty = 50 })
      assert.are.equal(0, r.code, r.out)
      assert.is_truthy(r.out:find("\27%[36mscheduled\27%[0m"), r.out)
      assert.is_truthy(r.out:find("jobs: 1 page read", 1, true), r.out)
      local table_text = r.out:gsub("^.*\27%[K", "")
      for _, l in ipairs(lines(table_text)) do
        assert.is_true(out_width(l) <= 50, l)
      end
      assert.are.equal(5, #lines(table_text))
    end)

    it("without colours under NO_COLOR or --no-color, without progress under --quiet", function()
      for _, case in ipairs({ { env = { NO_COLOR = "1" } }, { args = { "--no-color" } } }) do
        local args = { "list", "1", "--limit", "2" }
        for _, a in ipairs(case.args or {}) do args[#args + 1] = a end
        local r = run(args, { tty = true, env = case.env })
        assert.are.equal(0, r.code, r.out)
        assert.is_falsy(r.out:find("\27%[3%dm"), r.out)
      end
      local r = run({ "--quiet", "list", "1", "--limit", "2" }, { tty = true })
      assert.is_falsy(r.out:find("page read", 1, true), r.out)
      assert.are.equal(3, #lines(r.out))
    end)

    it("shows a download's bar on stderr", function()
      local r = run({ "artifacts", "1", "1001", "-o", scratch .. "/t.zip" }, { tty = true })
      assert.are.equal(0, r.code, r.out)
      assert.is_truthy(r.out:find("%[#+%] 100%% 5%.3 KiB / 5%.3 KiB"), r.out)
    end)
  end)
end)
