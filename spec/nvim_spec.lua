-- The Neovim plugin in a real `nvim --headless` (spec/nvim/init.lua runs a
-- scenario of spec/nvim/), against the fake GitLab answering each request
-- after 1 s: what each command shows is what the fake holds, each key sends
-- its request once, and a 10 ms timer keeps ticking during every request.
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local nv = dofile("spec/nvim/helper.lua")

local P = "acme/platform/api"

-- The project's jobs as the fake lists them now, newest first.
local function jobs_of(project)
  return assert(fake.client():list(project, { per_page = 100 }))
end

-- The requests the fake received, as "METHOD path-after-the-project".
local function log()
  local seen = {}
  for _, r in ipairs(fake.requests()) do
    seen[#seen + 1] = r.method .. " " .. r.path:gsub("^/api/v4/projects/[^/]+", "")
  end
  return seen
end

describe("the Neovim plugin", function()
  fake.each_spec()

  it(":GitlabJobs fills its buffer with the jobs of the origin's project, aligned, and refreshes it", function()
    local want = jobs_of(P)
    local running
    for _, job in ipairs(want) do
      if job.status == "running" then running = running or job end
    end
    local r = nv.run("jobs", { cwd = nv.repo(P, "ssh"), env = { GITLAB_NVIM_FINISH = running.id } })
    local seen = log()
    nv.assert_responsive(r)
    nv.assert_clean_notes(r)
    assert.are.same({ "loading the jobs of " .. P .. " ..." }, r.loading)
    assert.are.equal("gitlab://" .. P .. "/-/jobs", r.name)
    assert.are.same({ "ID", "STATUS", "STAGE", "NAME", "REF", "TIME", "REASON" },
      { r.lines[1]:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)$") })
    nv.assert_rows(nv.cells(r.lines), want)
    -- each status has its own highlight group, which users can link
    for i, job in ipairs(want) do
      local camel = job.status:gsub("_(%a)", string.upper):gsub("^%a", string.upper)
      assert.are.equal("GitlabJobs" .. camel, r.groups[i][1].group, "highlight of " .. job.id)
    end
    -- the job finished on the server: the table asked again until it showed it
    nv.assert_rows(nv.cells(r.refreshed), jobs_of(P))
    assert.is_true(#seen >= 2, "asked again")
    for _, line in ipairs(seen) do assert.are.equal("GET /jobs", line) end
  end)

  it("sends each key's request once, says how it went, and refreshes the table after an action", function()
    local jobs = jobs_of(P)
    local pick = {}
    for _, job in ipairs(jobs) do
      if job.status == "failed" and not pick.retry then pick.retry = job end
      if job.status == "running" and not pick.cancel then pick.cancel = job end
      if job.status == "manual" and not pick.play then pick.play = job end
      if job.artifacts_file and not pick.artifacts then pick.artifacts = job end
    end
    local save_to = nv.tmpdir() .. "/artifacts.zip"
    local r = nv.run("keys", { env = {
      GITLAB_NVIM_PROJECT = P, GITLAB_NVIM_RETRY = pick.retry.id, GITLAB_NVIM_CANCEL = pick.cancel.id,
      GITLAB_NVIM_PLAY = pick.play.id, GITLAB_NVIM_ARTIFACTS = pick.artifacts.id,
      GITLAB_NVIM_VARIABLES = "DEPLOY_TO=staging DRY_RUN=1", GITLAB_NVIM_SAVE_TO = save_to,
    } })
    nv.assert_responsive(r)
    nv.assert_clean_notes(r)
    local R, C, A = pick.retry.id, pick.cancel.id, pick.artifacts.id
    assert.are.same({
      "GET /jobs",
      "POST /jobs/" .. R .. "/retry", "GET /jobs",
      "POST /jobs/" .. C .. "/cancel", "GET /jobs",
      "POST /jobs/" .. pick.play.id .. "/play", "GET /jobs",
      "GET /jobs/" .. A .. "/artifacts",
      "GET /jobs",
      "GET /jobs/" .. R, "GET /jobs/" .. R .. "/trace",
    }, log())
    local play = fake.job(pick.play.id)
    assert.are.same({ { key = "DEPLOY_TO", value = "staging" }, { key = "DRY_RUN", value = "1" } }, play.variables)

    local now = jobs_of(P)
    local new = now[1] -- the retry's new job, the newest
    assert.are.equal(pick.retry.name, new.name)
    local steps = r.steps
    local function said(...) -- what vim.notify showed, as the user reads it
      local t = {}
      for i, text in ipairs({ ... }) do t[i] = "gitlab-jobs: " .. text end
      return t
    end
    -- each second press is told the first is under way; each answer is said
    assert.are.same(said(("job %d: retry already under way"):format(R),
      ("retried job %d %s: new job %d, %s"):format(R, pick.retry.name, new.id, new.status)), steps[1].notes)
    local canceled = fake.job(C).job
    assert.are.same(said(("job %d: cancel already under way"):format(C),
      ("cancel of job %d %s: %s"):format(C, canceled.name, canceled.status)), steps[2].notes)
    assert.are.same(said(("job %d: play already under way"):format(play.job.id),
      ("played job %d %s: %s"):format(play.job.id, play.job.name, play.job.status)), steps[3].notes)
    local archive = nv.read(save_to)
    assert.are.equal(require("socket.http").request(("%s/__control/jobs/%d/artifacts/archive"):format(fake.url, A)),
      archive, "the saved archive")
    assert.are.same(said(("job %d: download already under way"):format(A),
      ("artifacts of job %d %s: %d bytes saved to %s"):format(A, pick.artifacts.name, #archive, save_to)),
      steps[4].notes)
    assert.are.same({}, steps[5].notes)
    -- R: the table as the fake holds it now
    nv.assert_rows(nv.cells(steps[5].lines), now)
    -- <CR>: the log in a split, the job's final status said
    assert.are.equal(2, steps[6].windows)
    assert.are.equal(("gitlab://%s/-/jobs/%d"):format(P, R), steps[6].buffer)
    assert.are.same(said(("job %d %s: %s"):format(R, pick.retry.name, pick.retry.status)), steps[6].notes)
    -- q in the log: its window and buffer are gone, the jobs are back; q there: the jobs buffer is gone
    assert.are.same({ windows = 1, log_left = false, buffer = "gitlab://" .. P .. "/-/jobs" }, r.after_q)
    assert.is_false(r.jobs_buffer_left)
  end)

  it(":GitlabPipeline {id} shows that pipeline's jobs; :GitlabPipeline alone the branch's latest", function()
    local all = jobs_of(P)
    local finished -- a pipeline whose jobs all finished: nothing to refresh
    local unfinished = {}
    for _, job in ipairs(all) do
      if not job.finished_at then unfinished[job.pipeline.id] = true end
    end
    local latest -- of branch main: the pipeline of its newest job
    for _, job in ipairs(all) do
      if not unfinished[job.pipeline.id] then finished = finished or job.pipeline.id end
      if job.ref == "main" then latest = latest or job.pipeline.id end
    end
    local r = nv.run("pipeline", { cwd = nv.repo(P), env = { GITLAB_NVIM_PIPELINE = finished } })
    local seen = log()
    nv.assert_responsive(r)
    nv.assert_clean_notes(r)
    assert.are.equal(("gitlab://%s/-/pipelines/%d"):format(P, finished), r.given.name)
    nv.assert_rows(nv.cells(r.given.lines), assert(fake.client():pipeline_jobs(P, finished, { per_page = 100 })))
    assert.are.equal(1, r.given.calls)
    assert.are.equal(("gitlab://%s/-/pipelines/%d"):format(P, latest), r.branch.name)
    nv.assert_rows(nv.cells(r.branch.lines), assert(fake.client():pipeline_jobs(P, latest, { per_page = 100 })))
    assert.are.same({ "GET /pipelines/" .. finished .. "/jobs", "GET /jobs", "GET /pipelines/" .. latest .. "/jobs" },
      seen)
  end)

  it(":GitlabFollow {job_id} gets every byte of a growing log, colours as highlights, sections as folds", function()
    local id
    for _, job in ipairs(jobs_of(P)) do
      if job.status == "pending" and fake.job(job.id).log_size == 0 then id = id or job.id end
    end
    local ESC = "\27"
    fake.script(id, { steps = {
      { status = "running", append_log = "section_start:1795000000:build[collapsed=true]\r" .. ESC .. "[0K"
        .. ESC .. "[36;1mBuilding" .. ESC .. "[0;m\ncompile a.c\ncompile b" },
      { append_log = ".c\nsection_end:1795000010:build\r" .. ESC .. "[0Ksection_start:1795000010:test\r"
        .. ESC .. "[0K$ make test\n" .. ESC .. "[32mok 1" .. ESC .. "[0m\n" },
      {},
      { status = "success", append_log = ESC .. "[31mnot ok 2" .. ESC .. "[0m\nsection_end:1795000020:test\r"
        .. ESC .. "[0K\nfetch  50%\rfetch 100%\n" .. ESC .. "[32;1mJob succeeded" .. ESC .. "[0;m\n" },
    } })
    local r = nv.run("follow", { cwd = nv.repo(P), env = { GITLAB_NVIM_JOB = id } })
    local seen = log()
    nv.assert_responsive(r)
    nv.assert_clean_notes(r)
    local job = fake.job(id).job
    local text = assert(fake.client():trace(P, id))
    assert.are.equal(("gitlab://%s/-/jobs/%d"):format(P, id), r.name)
    -- every byte, shown without its escapes and section markers
    assert.are.equal(#text, r.bytes)
    local want = {}
    for line in text:gmatch("([^\n]*)\n") do
      -- (of a progress line redrawn with \r, what a terminal shows last)
      want[#want + 1] = gitlab.trace.strip_ansi(line):gsub("section_%a+:%d+:[%w_%.%-]+%[?[^%]\r]*%]?\r", "")
        :match("[^\r]*$")
    end
    assert.are.same(want, r.lines)
    -- it grew while the job ran, its unfinished last line shown before it ended
    local rows, partial = {}, false
    for _, g in ipairs(r.growth) do
      if rows[#rows] ~= g.rows then rows[#rows + 1] = g.rows end
      partial = partial or g.last == "compile b"
    end
    assert.is_true(#rows >= 3, "the buffer grew in steps: " .. table.concat(rows, ", "))
    assert.is_true(partial, "the unfinished line was shown")
    -- one look per step of the job: its status, then the bytes past those shown
    local looks = {}
    for i = 1, #seen, 2 do
      looks[#looks + 1] = seen[i] .. " | " .. tostring(seen[i + 1])
    end
    assert.are.equal(4, #looks)
    for _, l in ipairs(looks) do assert.are.equal(("GET /jobs/%d | GET /jobs/%d/trace"):format(id, id), l) end
    -- colours
    local function group(row) return r.groups[row][1] and r.groups[row][1].group end
    assert.are.same({ "GitlabJobsAnsiCyanBold", "GitlabJobsAnsiGreen", "GitlabJobsAnsiRed", "GitlabJobsAnsiGreenBold" },
      { group(1), group(5), group(6), group(9) })
    -- the collapsed section is a closed fold, the other an open one, the end outside both
    for row = 1, 3 do assert.are.same({ level = 1, closed = 1 }, r.folds[row], "build row " .. row) end
    for row = 4, 7 do assert.are.same({ level = 1, closed = -1 }, r.folds[row], "test row " .. row) end
    assert.are.same({ { level = 0, closed = -1 }, { level = 0, closed = -1 } }, { r.folds[8], r.folds[9] })
    assert.are.equal("fetch 100%", r.lines[8])
    assert.is_false(r.modifiable)
    assert.are.same({ ("gitlab-jobs: job %d %s: %s"):format(id, job.name, job.status) }, nv.messages(r))
  end)

  it("says what went wrong in one message with GitLab's words, never a traceback or the token", function()
    local function words(err) return err.message end
    local expired = words(fake.failed(fake.client{ token = fake.EXPIRED }:list(P)))
    local unknown = words(fake.failed(fake.client():list("acme/no-such-project")))
    local dead = "http://127.0.0.1:" .. fake.closed_port()
    -- libcurl's words, without the milliseconds it took
    local refused = words(fake.failed(fake.client{ url = dead }:list(P))):match("[^:]+$")
    local skipped
    for _, job in ipairs(jobs_of(P)) do
      if job.status == "skipped" then skipped = skipped or job end
    end
    local not_retryable = words(fake.failed(fake.client():retry(P, skipped.id)))
    local r = nv.run("errors", { env = {
      GITLAB_NVIM_PROJECT = P, GITLAB_NVIM_EXPIRED = fake.EXPIRED, GITLAB_NVIM_UNKNOWN = "acme/no-such-project",
      GITLAB_NVIM_DEAD_URL = dead, GITLAB_NVIM_UNRETRYABLE = skipped.id,
    } })
    nv.assert_responsive(r)
    nv.assert_clean_notes(r)
    local function only(name, ...) -- the step said one error, holding each text
      local notes = r.steps[name]
      assert.are.equal(1, #notes, name .. ": " .. #notes .. " messages")
      assert.are.equal(4, notes[1].level, name .. ": an error") -- vim.log.levels.ERROR
      for i = 1, select("#", ...) do
        local text = select(i, ...)
        assert.is_truthy(notes[1].msg:find(text, 1, true), ("%s: %q not in %q"):format(name, text, notes[1].msg))
      end
    end
    only("expired token", expired, "401")
    only("unknown project", unknown)
    only("no server", refused)
    only("refused retry", not_retryable, "retry of job " .. skipped.id)
    only("bad job id", "a job id expected (digits), got '12x'")
    only("failing token_cmd", "token_cmd failed (exit status 3)")
  end)

  -- The report's items ("OK: text", "WARNING: ...", "ERROR: ..."); raises if one shows the token.
  local function health_report(r)
    local report = {}
    for _, line in ipairs(r.lines) do
      assert.is_nil(line:find(fake.TOKEN, 1, true), "the token is shown: " .. line)
      local level, text = line:match("^%s*%- (%u+): (.*)$")
      if level then report[#report + 1] = level .. ": " .. text end
    end
    return report
  end

  it(":checkhealth gitlab-jobs says what is wrong: no token, a url that does not answer", function()
    local dead = "http://127.0.0.1:" .. fake.closed_port()
    local refused = fake.failed(fake.client{ url = dead }:list(P)).message:match("[^:]+$")
    local r = nv.run("health", { cwd = nv.repo(P), env = { GITLAB_TOKEN = false, GITLAB_URL = dead } })
    local report = health_report(r)
    assert.are.equal(5, #report, table.concat(report, "\n"))
    assert.are.equal("OK: url: " .. dead, report[3])
    assert.are.equal("WARNING: no token: set $GITLAB_TOKEN, or setup{ token_cmd = ... }", report[4])
    assert.are.equal("ERROR: the url does not answer: ", report[5]:sub(1, 32))
    assert.is_truthy(report[5]:find(refused, 1, true), report[5])
  end)

  it(":checkhealth gitlab-jobs reports the module, libcurl, the url answering and a token, never shown", function()
    local r = nv.run("health", { cwd = nv.repo(P), env = { GITLAB_TOKEN = false, GITLAB_NVIM_SECRET = fake.TOKEN } })
    nv.assert_responsive(r)
    local curl = nv.sh("curl --version"):match("libcurl/[%d%.]+")
    local report = health_report(r)
    local host = fake.url:gsub("/$", "")
    local want = {
      ("OK: gitlab.jobs %s loaded from %s/build/jit/gitlab/jobs/core.so, for LuaJIT"):format(gitlab.VERSION, nv.ROOT),
      "OK: libcurl: " .. curl,
      "OK: url: " .. host,
      "OK: token: set, from token_cmd (not shown)",
      "OK: " .. host .. " answers: the jobs of " .. P .. " can be read",
    }
    assert.are.equal(#want, #report, table.concat(report, "\n"))
    for i, w in ipairs(want) do
      assert.are.equal(w, report[i]:sub(1, #w))
    end
    assert.are.same({ "GET /jobs" }, log())
  end)

  it("draws the table aligned in a real terminal (tmux capture of nvim)", function()
    local jobs = jobs_of(P)
    -- a name of more bytes than cells: aligned on what the terminal shows
    fake.set_job(jobs[3].id, { fields = { name = "déploiement-café" } })
    local want = jobs_of(P)
    local dir = nv.tmpdir()
    local ready, captured = dir .. "/ready", dir .. "/captured"
    local cmd, out = nv.command("tmux", { env = {
      GITLAB_NVIM_PROJECT = P, GITLAB_NVIM_READY = ready, GITLAB_NVIM_CAPTURED = captured, LANG = "C.UTF-8",
    } })
    local tmux = "tmux -u -L " .. nv.quote("gitlab-jobs-spec-" .. dir:match("[^/]+$")) .. " "
    fake.clear_requests()
    fake.config{ latency = 1 }
    local ok, screen = pcall(function()
      nv.sh(tmux .. "new-session -d -x 200 -y 50 " .. nv.quote(cmd))
      nv.until_file(ready, 60)
      return nv.sh(tmux .. "capture-pane -p")
    end)
    nv.sh("touch " .. nv.quote(captured))
    fake.config{ latency = 0 }
    nv.until_gone(tmux, 30)
    assert(ok, screen)
    local r = nv.result(out, "tmux")
    nv.assert_responsive(r)
    local lines = {}
    for line in screen:gmatch("([^\n]*)\n") do
      if line:match("^ID%s+STATUS") or (#lines > 0 and line:match("^%d+ ")) then lines[#lines + 1] = line end
    end
    nv.assert_rows(nv.cells(lines), want)
    assert.are.equal("déploiement-café", nv.cells(lines)[3].NAME)
  end)

  it("has a :help file whose tags helptags makes, one for each command the plugin defines", function()
    local dir = nv.tmpdir()
    nv.sh(("cp -r doc %s/ && cd %s && nvim --headless -u NONE -i NONE -c 'helptags doc' -c q")
      :format(nv.quote(dir), nv.quote(dir)))
    local tags = {}
    for line in nv.read(dir .. "/doc/tags"):gmatch("[^\n]+") do
      local tag, file = line:match("^(%S+)\t(%S+)\t")
      tags[tag] = file
    end
    local commands = {}
    for name in nv.read("plugin/gitlab-jobs.lua"):gmatch('command%("(%u%w+)"') do
      commands[#commands + 1] = name
      assert.are.equal("gitlab-jobs.txt", tags[":" .. name], "a tag for :" .. name)
    end
    assert.are.equal(3, #commands)
    for _, tag in ipairs({ "gitlab-jobs", "gitlab-jobs-install", "gitlab-jobs-setup", "gitlab-jobs-keys",
      "gitlab-jobs-highlights", "gitlab-jobs-health" }) do
      assert.are.equal("gitlab-jobs.txt", tags[tag], tag)
    end
  end)
end)
