-- client:follow on scripted jobs whose logs grow, end, or shrink; and gitlab.trace.
local fake = require("fake")
local gitlab = require("gitlab.jobs")

local function trace_gets(id)
  return fake.requests_to("GET", "/jobs/" .. id .. "/trace$")
end

-- A follow that records every chunk: chunks, and on_chunk to pass.
local function recorder()
  local chunks = {}
  return chunks, function(text) chunks[#chunks + 1] = text end
end

describe("client:follow", function()
  before_each(fake.reset)

  it("streams a growing log, each byte once and in order, until the job finishes", function()
    fake.script(1016, { steps = {
      { status = "running", append_log = "line 1\n" },
      { append_log = "line 2\n" },
      {},
      { append_log = "line 3\n", status = "success" },
    } })
    local c, clk = fake.timed_client()
    local chunks, on_chunk = recorder()
    local updates = {}
    local job = assert(c:follow(1, 1016, { on_chunk = on_chunk,
      on_update = function(j) updates[#updates + 1] = j.status end }))
    assert.are.equal("success", job.status)
    assert.are.same({ "line 1\n", "line 2\n", "line 3\n" }, chunks)
    assert.are.same({ "running", "success" }, updates)
    assert.are.same({ 1, 1, 1.5 }, clk.sleeps) -- a poll with nothing new waits longer
    assert.are.equal(4, #trace_gets(1016))
  end)

  it("delivers a large log exactly as the server holds it", function()
    fake.script(1012, { steps = { { log_size = 100000 }, { log_size = 250001 }, {},
                                  { log_size = 400000, status = "success" } } })
    local c = fake.timed_client()
    local chunks, on_chunk = recorder()
    assert(c:follow(1, 1012, { on_chunk = on_chunk }))
    local got = table.concat(chunks)
    assert.are.equal(fake.control("GET", "/jobs/1012").log_size, #got)
    assert.are.equal(assert(c:trace(1, 1012)), got)
  end)

  it("goes on where it stopped when a read breaks midway and is retried", function()
    fake.script(1012, { steps = { { log_size = 50000 }, { log_size = 120000, status = "success" } } })
    local c = fake.timed_client({ retries = { max = 2, base_delay = 0.5 } })
    local chunks, on_chunk = recorder()
    local job = assert(c:follow(1, 1012, { on_chunk = on_chunk, on_update = function(j)
      if j.status == "success" then
        fake.fault({ method = "GET", path = "/jobs/1012/trace$", kind = "reset_mid_body", bytes = 80000 })
      end
    end }))
    assert.are.equal("success", job.status)
    local faulted = 0
    for _, r in ipairs(trace_gets(1012)) do
      if r.fault then faulted = faulted + 1 end
    end
    assert.are.equal(1, faulted)
    assert.are.equal(assert(c:trace(1, 1012)), table.concat(chunks))
  end)

  for _, final in ipairs({ "success", "failed", "canceled", "skipped" }) do
    it("stops when the job ends " .. final .. ", after reading the log once more", function()
      fake.script(1012, { steps = { { append_log = "a\n" }, { append_log = "b\n", status = final } } })
      local c, clk = fake.timed_client()
      local chunks, on_chunk = recorder()
      local job = assert(c:follow(1, 1012, { on_chunk = on_chunk }))
      assert.are.equal(final, job.status)
      local log = assert(c:trace(1, 1012))
      assert.are.equal("a\nb\n", log:sub(-4))
      assert.are.equal(log, table.concat(chunks))
      assert.are.equal("b\n", chunks[#chunks])
      assert.are.same({ 1 }, clk.sleeps)
      assert.are.equal(3, #trace_gets(1012)) -- two while following, one here
    end)
  end

  it("returns a finished job after reading its log once, without sleeping", function()
    local c, clk = fake.timed_client()
    local chunks, on_chunk = recorder()
    local job = assert(c:follow("acme/platform/api", 1014, { on_chunk = on_chunk }))
    assert.are.equal("success", job.status)
    -- bytes that are not UTF-8 pass as they are
    assert.are.equal(assert(c:trace(1, 1014)), table.concat(chunks))
    assert.truthy(table.concat(chunks):find("caf\233 na\239ve", 1, true))
    assert.are.same({}, clk.sleeps)
  end)

  it("does not take canceling for finished: after_script output comes through", function()
    fake.script(1013, { steps = { {}, { append_log = "after_script done\n", status = "canceled" } } })
    local c = fake.timed_client()
    local chunks, on_chunk = recorder()
    local job = assert(c:follow(1, 1013, { on_chunk = on_chunk }))
    assert.are.equal("canceled", job.status)
    assert.are.equal("after_script done\n", chunks[#chunks])
  end)

  it("returns a manual job at once, and waits for it with blocked = \"wait\"", function()
    local c, clk = fake.timed_client()
    local chunks, on_chunk = recorder()
    assert.are.equal("manual", assert(c:follow(1, 1021, { on_chunk = on_chunk })).status)
    assert.are.same({}, chunks)
    assert.are.same({}, clk.sleeps)

    fake.script(1021, { steps = { {}, { status = "running", append_log = "deploying\n" }, { status = "success" } } })
    local job = assert(c:follow(1, 1021, { on_chunk = on_chunk, blocked = "wait" }))
    assert.are.equal("success", job.status)
    assert.are.same({ "deploying\n" }, chunks)
  end)

  describe("a log that shrinks", function()
    it("is an error of kind reset without on_reset, nothing mis-sliced", function()
      fake.script(1012, { steps = { { append_log = "x\n" }, { set_log = "" } } })
      local c = fake.timed_client()
      local chunks, on_chunk = recorder()
      local job, err = c:follow(1, 1012, { on_chunk = on_chunk, timeout = 60 })
      assert.is_nil(job)
      assert.is_true(gitlab.is_error(err))
      assert.are.equal("reset", err.kind)
      local delivered = table.concat(chunks)
      assert.are.equal("x\n", delivered:sub(-2))
      assert.are.equal(#delivered, err.offset)
      assert.are.equal(1012, err.job.id)
      assert.are.equal("/projects/1/jobs/1012/trace", err.path)
      assert.matches("shrank", tostring(err))
    end)

    it("calls on_reset, then streams the new log from its start", function()
      fake.script(1012, { steps = { { append_log = "x\n" }, { set_log = "new start\n" },
                                    { append_log = "more\n", status = "success" } } })
      local c = fake.timed_client()
      local events = {}
      local before
      local job = assert(c:follow(1, 1012, {
        on_chunk = function(text) events[#events + 1] = text end,
        on_reset = function(j, n)
          before = n
          events[#events + 1] = "RESET"
          assert.are.equal(1012, j.id)
        end,
      }))
      assert.are.equal("success", job.status)
      local i = #events - 2
      assert.are.same({ "RESET", "new start\n", "more\n" }, { events[i], events[i + 1], events[i + 2] })
      assert.are.equal(before, #table.concat(events, "", 1, i - 1))
    end)

    it("is noticed when the log was replaced by a longer one", function()
      fake.script(1012, { steps = { { set_log = "aaaa" }, { set_log = "bbbbbbbb" }, { status = "success" } } })
      local c = fake.timed_client()
      local events = {}
      assert(c:follow(1, 1012, {
        on_chunk = function(text) events[#events + 1] = text end,
        on_reset = function(_, n) events[#events + 1] = "RESET " .. n end,
      }))
      assert.are.same({ "aaaa", "RESET 4", "bbbbbbbb" }, events)
    end)

    it("is an error when a finished job's log is erased while being read", function()
      fake.script(1012, { steps = { { append_log = "end\n" }, { status = "success" } } })
      local c = fake.timed_client()
      local erased = false
      local _, err = c:follow(1, 1012, { on_chunk = function() end, timeout = 60, on_update = function(j)
        if j.status == "success" and not erased then
          erased = true
          assert(c:erase(1, 1012))
        end
      end })
      assert.are.equal("reset", err.kind)
    end)
  end)

  it("gives up at timeout with a timeout error", function()
    local c, clk = fake.timed_client()
    local chunks, on_chunk = recorder()
    local job, err = c:follow(1, 1012, { on_chunk = on_chunk, timeout = 3, interval = 0.5 })
    assert.is_nil(job)
    assert.are.equal("timeout", err.kind)
    assert.are.equal("running", err.job.status)
    assert.are.equal(3, clk.t)
    assert.are.equal(assert(c:trace(1, 1012)), table.concat(chunks))
  end)

  it("returns the error of a failing call", function()
    local c = fake.timed_client()
    local job, err = c:follow(1, 1015, { on_chunk = function() end }) -- a debug trace: 403
    assert.is_nil(job)
    assert.are.equal(403, err.status)
    assert.are.equal("/projects/1/jobs/1015/trace", err.path)
    job, err = c:follow(1, 99999, { on_chunk = function() end })
    assert.is_nil(job)
    assert.are.equal(404, err.status)
  end)

  it("lets an error raised in on_chunk through", function()
    local c = fake.timed_client()
    fake.raises(function()
      c:follow(1, 1008, { on_chunk = function() error("reader gone") end })
    end, "reader gone")
  end)

  it("raises on bad arguments before any request", function()
    local c = fake.timed_client()
    fake.raises(function() c:follow(1, 1012) end, "follow", "on_chunk")
    fake.raises(function() c:follow(1, 1012, { on_chunk = "stdout" }) end, "on_chunk")
    fake.raises(function() c:follow(1, 1012, { on_chunk = print, on_reset = 1 }) end, "on_reset")
    fake.raises(function() c:follow(1, 1012, { on_chunk = print, sink = print }) end, "unknown option 'sink'")
    fake.raises(function() c:follow(1, "1012", { on_chunk = print }) end, "follow", "job_id")
    fake.raises(function() c:follow({}, 1012, { on_chunk = print }) end, "follow", "project")
    fake.raises(function() c:follow(1, 1012, { on_chunk = print, interval = -1 }) end, "interval")
    assert.are.equal(0, #fake.requests())
  end)
end)

describe("gitlab.trace", function()
  local trace = gitlab.trace
  local log1008

  setup(function()
    fake.reset()
    log1008 = assert(fake.client():trace(1, 1008))
  end)

  it("strip_ansi removes colours and erase-line codes, keeping the text and \\r", function()
    local plain = trace.strip_ansi(log1008)
    assert.is_nil(plain:find("\27", 1, true))
    assert.truthy(plain:find("checking whether the C compiler works... yes\n", 1, true))
    assert.truthy(plain:find("Downloading deps:   0%\rDownloading deps:  25%", 1, true))
    assert.are.equal("Job succeeded\n", plain:sub(-14))
    assert.are.equal("warning: src/http.c:88", trace.strip_ansi("\27[33mwarning:\27[0m src/http.c:88"))
    assert.are.equal("link", trace.strip_ansi("\27]8;;https://x.example\27\\link\27]8;;\27\\"))
    assert.are.equal("title", trace.strip_ansi("\27]0;window\7title"))
    assert.are.equal("caf\233 \255", trace.strip_ansi("caf\233 \27[1m\255"))
    fake.raises(function() trace.strip_ansi(nil) end, "strip_ansi", "text")
  end)

  it("sections lists GitLab's sections with their times", function()
    local got = trace.sections(log1008)
    local names, durations, collapsed = {}, {}, {}
    for i, s in ipairs(got) do
      names[i], durations[i], collapsed[i] = s.name, s.duration, s.collapsed
      assert.are.equal(s["end"] - s.start, s.duration)
    end
    assert.are.same({ "prepare_executor", "get_sources", "step_script", "upload_artifacts_on_success",
                      "cleanup_file_variables" }, names)
    assert.are.same({ 3, 3, 64, 3, 1 }, durations)
    assert.are.same({ false, true, false, false, false }, collapsed)
    assert.are.equal(got[1]["end"], got[2].start)
  end)

  it("sections leaves a section still open without end or duration", function()
    local got = trace.sections(assert(fake.client():trace(1, 1012)))
    assert.are.equal(2, #got)
    assert.are.equal("prepare_executor", got[1].name)
    assert.are.equal(2, got[1].duration)
    assert.are.equal("step_script", got[2].name)
    assert.is_number(got[2].start)
    assert.is_nil(got[2]["end"])
    assert.is_nil(got[2].duration)
  end)

  it("sections handles nesting and several options", function()
    local E = "\r\27[0K"
    local log = "section_start:10:outer" .. E .. "a\n"
      .. "section_start:12:inner[hide_duration=true,collapsed=true]" .. E .. "b\n"
      .. "section_end:15:inner" .. E
      .. "section_end:20:outer" .. E
    assert.are.same({
      { name = "outer", start = 10, ["end"] = 20, duration = 10, collapsed = false },
      { name = "inner", start = 12, ["end"] = 15, duration = 3, collapsed = true },
    }, trace.sections(log))
    assert.are.same({}, trace.sections("no sections here\n"))
    fake.raises(function() trace.sections(42) end, "sections", "log")
  end)
end)
