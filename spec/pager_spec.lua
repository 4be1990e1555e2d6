-- client:each and client:all: lazy pages, limit, where, keyset and its fallbacks.
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local filter = gitlab.filter

-- Project 2 (acme/big/monorepo) holds 350 jobs, ids 20001..20350; project 4 holds 10,050.
local P2_FIRST, P2_LAST = 20001, 20350

local function list_requests()
  return fake.requests_to("GET", "/jobs$")
end

local function param(req, name)
  local v = req.params[name]
  return v and v[1]
end

-- GET path_query from the fake's API directly, past the client; the request log
-- is cleared after it (call it before what a spec counts): { status, headers, body }.
local function raw_get(path_query)
  local http, ltn12, cjson = require("socket.http"), require("ltn12"), require("cjson")
  local out = {}
  local _, status, headers = http.request({ url = fake.url .. "/api/v4" .. path_query,
    headers = { ["private-token"] = fake.TOKEN }, sink = ltn12.sink.table(out) })
  assert(status == 200, ("GET %s: %s"):format(path_query, tostring(status)))
  fake.clear_requests()
  return { status = status, headers = headers, body = cjson.decode(table.concat(out)) }
end

-- Asserts ids run from hi down to lo, each once.
local function assert_descending(jobs, hi, lo)
  assert.are.equal(hi - lo + 1, #jobs)
  for i, job in ipairs(jobs) do
    assert.are.equal(hi - i + 1, job.id)
  end
end

describe("client:each", function()
  before_each(fake.reset)

  it("yields every job of project 2 once, newest first, over keyset pages of 100", function()
    local c = fake.client()
    local got = {}
    for job in c:each("list", 2) do got[#got + 1] = job end
    assert_descending(got, P2_LAST, P2_FIRST)
    local reqs = list_requests()
    assert.are.equal(4, #reqs)
    assert.are.equal("keyset", param(reqs[1], "pagination"))
    assert.are.equal("100", param(reqs[1], "per_page"))
    for i = 2, 4 do
      assert.is_not_nil(param(reqs[i], "cursor"), "page " .. i .. " follows the next link")
      assert.is_nil(param(reqs[i], "page"))
    end
  end)

  it("fetches a page only when the loop needs it", function()
    local c = fake.client()
    local it = c:each("list", 2)
    assert.are.equal(0, #list_requests())
    assert.are.equal(P2_LAST, it().id)
    assert.are.equal(1, #list_requests())
    for _ = 2, 100 do it() end
    assert.are.equal(1, #list_requests())
    assert.are.equal(P2_LAST - 100, it().id)
    assert.are.equal(2, #list_requests())
  end)

  it("stops at limit without asking for a page beyond it", function()
    local c = fake.client()
    local got = {}
    for job in c:each("list", 2, { limit = 150 }) do got[#got + 1] = job end
    assert_descending(got, P2_LAST, P2_LAST - 149)
    assert.are.equal(2, #list_requests())

    fake.reset()
    got = assert(c:all("list", 2, { limit = 100 }))
    assert.are.equal(100, #got)
    assert.are.equal(1, #list_requests(), "page 2 is not needed for exactly one page of items")

    fake.reset()
    assert.are.same({}, assert(c:all("list", 2, { limit = 0 })))
    assert.are.equal(0, #list_requests())
  end)

  it("counts limit after where", function()
    local c = fake.client()
    local failed = filter.status("failed")
    -- project 2 job i (id 20001 + i) failed when i % 13 == 6, except the last pipeline's
    -- (i >= 325) and the manual 25th job of each; newest first they are:
    local want = {}
    for i = 349, 0, -1 do
      if i < 325 and i % 13 == 6 and i % 25 ~= 24 then want[#want + 1] = 20001 + i end
    end
    local got = {}
    for job in c:each("list", 2, { where = failed, limit = 8 }) do
      assert.are.equal("failed", job.status)
      got[#got + 1] = job.id
    end
    assert.are.equal(8, #got)
    for i = 1, 8 do assert.are.equal(want[i], got[i]) end
    -- the 8th failed job is on the second page of 100 (ids 20250..20151)
    assert.is_true(got[8] <= 20250 and got[8] > 20150)
    assert.are.equal(2, #list_requests())
  end)

  it("filters with where and sends neither where, limit nor concurrency", function()
    local c = fake.client()
    local got = assert(c:all("list", 1, { where = filter.failure_reason("runner_system_failure"),
                                          limit = 10, concurrency = 4 }))
    local ids = {}
    for i, job in ipairs(got) do ids[i] = job.id end
    assert.are.same({ 1010, 1004 }, ids)
    local req = list_requests()[1]
    assert.is_nil(req.params.where)
    assert.is_nil(req.params.limit)
    assert.is_nil(req.params.concurrency)
  end)

  it("passes the method's own options on, scope included", function()
    local c = fake.client()
    local got = assert(c:all("list", 2, { scope = "manual", per_page = 5 }))
    assert.are.equal(14, #got) -- the 25th job of each of the 14 pipelines
    for _, job in ipairs(got) do assert.are.equal("manual", job.status) end
    local reqs = list_requests()
    assert.are.equal(3, #reqs)
    assert.are.same({ "manual" }, reqs[1].params["scope[]"])
    assert.are.equal("5", param(reqs[1], "per_page"))
  end)

  it("goes through pipeline jobs and bridges by offset pages", function()
    local c = fake.client()
    local jobs = assert(c:all("pipeline_jobs", 2, 201, { per_page = 10 }))
    assert_descending(jobs, 20025, 20001)
    local reqs = fake.requests_to("GET", "/pipelines/201/jobs$")
    assert.are.equal(3, #reqs)
    assert.is_nil(param(reqs[1], "pagination"))

    local bridges = assert(c:all("bridges", "acme/platform/api", 101))
    local ids = {}
    for i, b in ipairs(bridges) do ids[i] = b.id end
    assert.are.same({ 1024, 1023 }, ids)
    assert.is_table(bridges[2].downstream_pipeline)
  end)

  it("goes on past 10,000 rows, where GitLab sends no totals", function()
    local c = fake.client()
    local n, last = 0, math.huge
    for job in c:each("list", 4) do
      n = n + 1
      assert(job.id < last, "newest first, each once")
      last = job.id
    end
    assert.are.equal(10050, n)
    assert.are.equal(30001, last)
    assert.are.equal(101, #list_requests())

    fake.reset()
    fake.config({ list_totals = true })
    local jobs = assert(c:all("list", 4, { pagination = "offset" }))
    assert.are.equal(10050, #jobs)
    assert.are.equal(30001, jobs[#jobs].id)
    local reqs = list_requests()
    assert.are.equal(101, #reqs)
    assert.are.equal("101", param(reqs[101], "page"))
  end)

  it("forces offset pages with pagination = \"offset\"", function()
    local c = fake.client()
    local jobs = assert(c:all("list", 2, { pagination = "offset" }))
    assert_descending(jobs, P2_LAST, P2_FIRST)
    local reqs = list_requests()
    assert.are.equal(4, #reqs)
    for _, r in ipairs(reqs) do assert.is_nil(param(r, "pagination")) end
  end)

  it("starts from the page asked for, by offset", function()
    local c = fake.client()
    local jobs = assert(c:all("list", 2, { page = 3 }))
    assert_descending(jobs, P2_LAST - 200, P2_FIRST)
    local reqs = list_requests()
    assert.are.equal(2, #reqs)
    assert.are.equal("3", param(reqs[1], "page"))
    assert.is_nil(param(reqs[1], "pagination"))
  end)

  it("starts from a next_url given", function()
    local c = fake.client()
    local _, page = assert(c:list(2, { pagination = "keyset", per_page = 100 }))
    fake.reset()
    local jobs = assert(c:all("list", 2, { next_url = page.next_url }))
    assert_descending(jobs, P2_LAST - 100, P2_FIRST)
    assert.are.equal(3, #list_requests())
  end)

  describe("when the server does not do keyset", function()
    it("falls back to offset pages after a 405", function()
      fake.config({ keyset = "refused" })
      local c = fake.client()
      local got = {}
      for job in c:each("list", 2) do got[#got + 1] = job end
      assert_descending(got, P2_LAST, P2_FIRST)
      local reqs = list_requests()
      assert.are.equal(5, #reqs)
      assert.are.equal(405, reqs[1].status)
      assert.are.equal("keyset", param(reqs[1], "pagination"))
      for i = 2, 5 do
        assert.are.equal(200, reqs[i].status)
        assert.is_nil(param(reqs[i], "pagination"))
        assert.are.equal(i > 2 and tostring(i - 1) or nil, param(reqs[i], "page"))
      end
    end)

    it("follows the offset pages of a server that ignores the parameter", function()
      fake.config({ keyset = "ignored" })
      local c = fake.client()
      local got = assert(c:all("list", 2))
      assert_descending(got, P2_LAST, P2_FIRST)
      local reqs = list_requests()
      assert.are.equal(4, #reqs)
      for i = 2, 4 do assert.are.equal(tostring(i), param(reqs[i], "page")) end
    end)

    it("follows X-Next-Page when there is no next link", function()
      -- an old server behind a proxy that drops the Link header: only X-Page, X-Next-Page
      fake.config({ keyset = "ignored" })
      local http, ltn12 = require("socket.http"), require("ltn12")
      local c = gitlab.new({ url = fake.url, token = fake.TOKEN, retries = { max = 0 },
        transport = function(req)
          local body = {}
          local _, code, headers = http.request({ url = req.url, method = req.method, headers = req.headers,
                                                  sink = ltn12.sink.table(body) })
          headers.link = nil
          return { status = code, headers = headers, body = table.concat(body) }
        end })
      local got = assert(c:all("list", 2))
      assert_descending(got, P2_LAST, P2_FIRST)
      local reqs = list_requests()
      assert.are.equal(4, #reqs)
      assert.are.equal("keyset", param(reqs[1], "pagination"))
      for i = 2, 4 do
        assert.are.equal(tostring(i), param(reqs[i], "page"))
        assert.is_nil(param(reqs[i], "pagination"))
      end
    end)
  end)

  it("never yields a job twice when new jobs push an offset page along", function()
    local c = fake.client()
    local got, ids = {}, {}
    local retried = false
    for job in c:each("list", 1, { pagination = "offset", per_page = 5 }) do
      got[#got + 1] = job.id
      if #got == 5 and not retried then
        -- a new job appears at the top: offset page 2 now starts with job 5 again
        assert(c:retry(1, 1009))
        retried = true
      end
    end
    for _, id in ipairs(got) do
      assert.is_nil(ids[id], "job " .. id .. " yielded twice")
      ids[id] = true
    end
    assert.are.equal(22, #got) -- 1001..1022; the new job came after the first page
  end)

  it("raises the error of a failing page and yields nothing twice", function()
    local c = fake.client()
    local it = c:each("list", 2)
    local got = {}
    for _ = 1, 100 do got[#got + 1] = it().id end
    fake.fault({ kind = "status", status = 500, path = "/projects/2/jobs$", count = 1 })
    local ok, err = pcall(it)
    assert.is_false(ok)
    assert.is_true(gitlab.is_error(err))
    assert.are.equal("http", err.kind)
    assert.are.equal(500, err.status)
    assert.are.equal("/projects/2/jobs", err.path)
    -- asked again, the iterator asks for the same page again, and goes on
    for job in it do got[#got + 1] = job.id end
    assert.are.equal(350, #got)
    for i, id in ipairs(got) do assert.are.equal(P2_LAST - i + 1, id) end
  end)

  it("raises a page error out of a for loop", function()
    local c = fake.client()
    fake.fault({ kind = "status", status = 404, path = "/projects/2/jobs$", count = 1,
                 body = { message = "404 Project Not Found" } })
    local n = 0
    local ok, err = pcall(function()
      for _ in c:each("list", 2) do n = n + 1 end
    end)
    assert.is_false(ok)
    assert.are.equal(0, n)
    assert.are.equal(404, err.status)
    assert.are.equal("404 Project Not Found", err.message)
  end)
end)

-- The URL of request r of the log, as the client sent it.
local function url_of(r)
  return fake.url .. r.path .. (r.query ~= "" and ("?" .. r.query) or "")
end

-- From now on every answer on path carries Link rel="next" to url (at most
-- count times, so that a loop the client does not see still ends).
local function link_next(path, url, count)
  fake.fault({ method = "GET", path = path, kind = "headers", count = count or 20,
               headers = { Link = ("<%s>; rel=\"next\""):format(url) } })
end

-- Asserts no id twice among items; returns how many.
local function count_once(items)
  local seen = {}
  for _, item in ipairs(items) do
    assert.is_nil(seen[item.id], "item " .. tostring(item.id) .. " yielded twice")
    seen[item.id] = true
  end
  return #items
end

describe("a Link to a page already read", function()
  before_each(fake.reset)

  for _, case in ipairs({
    { what = "keyset pages", opts = {} },
    { what = "offset pages", opts = { pagination = "offset" } },
  }) do
    it("ends the pages: " .. case.what .. ", back to the first page", function()
      local c = fake.client()
      local it = c:each("list", 2, case.opts)
      local got = {}
      for _ = 1, 100 do got[#got + 1] = it() end
      local first = list_requests()[1]
      link_next("/projects/2/jobs$", url_of(first))
      for job in it do got[#got + 1] = job end
      assert.are.equal(200, count_once(got))   -- pages 1 and 2, each read once
      assert.are.equal(2, #list_requests())
    end)

    it("ends the pages: " .. case.what .. ", a page linking to itself, in all", function()
      local c = fake.client()
      local opts = { per_page = 50 }
      for k, v in pairs(case.opts) do opts[k] = v end
      local _, page = assert(c:list(2, { per_page = 50, pagination = not opts.pagination and "keyset" or nil }))
      fake.clear_requests()
      link_next("/projects/2/jobs$", page.next_url)   -- page 2 links to page 2
      local jobs = assert(c:all("list", 2, opts))
      assert.are.equal(100, count_once(jobs))
      assert.are.equal(2, #list_requests())
    end)
  end

  it("ends the pages of a pipeline followed by its links", function()
    local c = fake.client()
    local _, page = assert(c:pipeline_jobs(2, 201, { per_page = 10 }))
    local first = fake.requests()[1]
    fake.clear_requests()
    link_next("/pipelines/201/jobs$", url_of(first))
    -- with a limit there is no fetching ahead by number: the links are followed
    local jobs = assert(c:all("pipeline_jobs", 2, 201, { per_page = 10, limit = 1000 }))
    assert.are.equal(10, count_once(jobs))
    assert.are.equal(1, #fake.requests_to("GET", "/pipelines/201/jobs$"))
    assert.is_true(page.total_pages > 1)
  end)
end)

describe("a Link that is not an http(s) URL", function()
  before_each(fake.reset)

  for _, link in ipairs({ "ftp://x.example/api/v4/projects/2/jobs?page=2", "file:///etc/passwd",
                          "/api/v4/projects/2/jobs?page=2&private_token=" .. fake.TOKEN, "" }) do
    -- the link as the message must show it: all of it up to its query, which is left out
    local shown = "<" .. link:match("^[^?]*") .. (link:find("?", 1, true) and "?" or ">")

    it("ends all with a decode error that names it: <" .. link .. ">", function()
      local c = fake.client()
      link_next("/projects/2/jobs$", link)
      local jobs, err = c:all("list", 2, { per_page = 50 })
      assert.is_nil(jobs)
      assert.is_true(gitlab.is_error(err))
      assert.are.equal("decode", err.kind)
      assert.are.equal("GET", err.method)
      assert.are.equal("/projects/2/jobs", err.path)
      assert.truthy(err.message:find(shown, 1, true), err.message)
      assert.truthy(tostring(err):find(shown, 1, true), tostring(err))
      fake.assert_tokenless({ err })
      assert.are.equal(1, #list_requests())
    end)

    it("is raised by each as an error object, after the items of the page: <" .. link .. ">", function()
      local c = fake.client()
      link_next("/projects/2/jobs$", link)
      local n = 0
      local ok, err = pcall(function()
        for _ in c:each("list", 2, { per_page = 50, pagination = "offset" }) do n = n + 1 end
      end)
      assert.is_false(ok)
      assert.is_true(gitlab.is_error(err))
      assert.are.equal("decode", err.kind)
      assert.truthy(err.message:find(shown, 1, true), err.message)
      fake.assert_tokenless({ err })
      assert.are.equal(50, n)
      assert.are.equal(1, #list_requests())
    end)
  end
end)

describe("pages fetched ahead", function()
  before_each(fake.reset)

  it("when the server tells the number of pages: in order, each once, no page asked twice", function()
    local c = fake.client()
    local jobs = assert(c:all("pipeline_jobs", 2, 201, { per_page = 3 }))
    assert_descending(jobs, 20025, 20001)
    local reqs = fake.requests_to("GET", "/pipelines/201/jobs$")
    local pages = {}
    for _, r in ipairs(reqs) do
      local p = tonumber(param(r, "page") or "1")
      assert.is_nil(pages[p], "page " .. p .. " asked twice")
      pages[p] = true
    end
    assert.are.equal(9, #reqs) -- 25 jobs, 3 a page, and nothing past the last
    -- after the first page told the total, the rest went over parallel connections
    -- (one after the other, they would all have used the one kept alive)
    assert.is_true(fake.stats().api_connections > 1)
  end)

  it("not when a limit may stop early", function()
    local c = fake.client()
    local n = 0
    for _ in c:each("pipeline_jobs", 2, 201, { per_page = 5, limit = 7 }) do n = n + 1 end
    assert.are.equal(7, n)
    assert.are.equal(2, #fake.requests_to("GET", "/pipelines/201/jobs$"))
  end)

  it("when concurrency asks for it, even without totals", function()
    local c = fake.client()
    local jobs = assert(c:all("list", 2, { pagination = "offset", per_page = 50, concurrency = 4 }))
    assert_descending(jobs, P2_LAST, P2_FIRST)
    local reqs = list_requests()
    assert.is_true(#reqs >= 7)
    assert.is_true(fake.stats().api_connections > 1)
    -- the client has nothing left running
    assert.are.equal(0, c:poll(0))
  end)

  it("never past the pages the server said exist, nor further than concurrency without a total", function()
    local c = fake.client()
    -- pipeline 201 fits on one page of 100: that page alone is asked, however many may go at once
    local first = raw_get("/projects/2/pipelines/201/jobs?per_page=100")
    assert.are.equal("1", first.headers["x-total-pages"])
    local jobs = assert(c:all("pipeline_jobs", 2, 201, { concurrency = 1000 }))
    assert.are.equal(#first.body, #jobs)
    assert.are.equal(1, #fake.requests_to("GET", "/pipelines/201/jobs$"))
    assert.are.equal(0, c:poll(0))

    -- pages of 5: as many requests as the server said there are pages
    fake.reset()
    local pages = tonumber(raw_get("/projects/2/pipelines/201/jobs?per_page=5").headers["x-total-pages"])
    assert.is_true(pages > 1)
    assert(c:all("pipeline_jobs", 2, 201, { per_page = 5, concurrency = 1000 }))
    assert.are.equal(pages, #fake.requests_to("GET", "/pipelines/201/jobs$"))

    -- no total (the project job list): the first page alone, then never more than concurrency ahead
    fake.reset()
    local one = raw_get("/projects/1/jobs?per_page=100")
    assert.is_nil(one.headers["x-total-pages"])
    assert.are.equal("", one.headers["x-next-page"] or "", "project 1's jobs fit on one page")
    assert(c:all("list", 1, { pagination = "offset", concurrency = 1000 }))
    assert.are.equal(1, #list_requests())
    fake.reset()
    jobs = assert(c:all("list", 2, { pagination = "offset", per_page = 50, concurrency = 3 }))
    local last_page = math.ceil(#jobs / 50)
    for _, r in ipairs(list_requests()) do
      assert.is_true(tonumber(param(r, "page") or "1") <= last_page + 2, "a page beyond the last read + 3")
    end
  end)

  it("stops the pages fetched ahead at a limit", function()
    local c = fake.client()
    local n = 0
    for _ in c:each("list", 2, { pagination = "offset", per_page = 10, concurrency = 4, limit = 5 }) do
      n = n + 1
    end
    assert.are.equal(5, n)
    assert.are.equal(0, c:poll(0))
  end)

  it("raises a failing page fetched ahead when the loop reaches it", function()
    local c = fake.client()
    fake.fault{ path = "/pipelines/201/jobs$", kind = "status", status = 500, count = 1 }
    local ok, err = pcall(function()
      for _ in c:each("pipeline_jobs", 2, 201, { per_page = 5, concurrency = 3 }) do end
    end)
    assert.is_false(ok)
    assert.are.equal(500, err.status)
  end)
end)

describe("client:all", function()
  before_each(fake.reset)

  it("returns every item in one array", function()
    local jobs = assert(fake.client():all("list", "acme/big/monorepo"))
    assert_descending(jobs, P2_LAST, P2_FIRST)
  end)

  it("returns nil, err when a page fails", function()
    local c = fake.client()
    fake.fault({ kind = "status", status = 503, path = "/projects/2/jobs$", count = 1 })
    local jobs, err = c:all("list", 2)
    assert.is_nil(jobs)
    assert.are.equal("http", err.kind)
    assert.are.equal(503, err.status)
  end)

  it("returns the error of an unknown pipeline", function()
    local jobs, err = fake.client():all("pipeline_jobs", 1, 99999)
    assert.is_nil(jobs)
    assert.are.equal(404, err.status)
    assert.are.equal("404 Not found", err.message)
  end)
end)

describe("each and all misused", function()
  before_each(fake.reset)

  it("raise at once, naming the argument, and send nothing", function()
    local c = fake.client()
    fake.raises(function() c:each("get", 1) end, "method", "'get'")
    fake.raises(function() c:all(nil) end, "method")
    fake.raises(function() c:each("list", 1, "failed") end, "options")
    fake.raises(function() c:each("list", 1, { limit = -1 }) end, "limit")
    fake.raises(function() c:each("list", 1, { limit = 1.5 }) end, "limit")
    fake.raises(function() c:all("list", 1, { limit = "3" }) end, "limit")
    fake.raises(function() c:each("list", 1, { where = "failed" }) end, "where")
    fake.raises(function() c:each("list", 1, { concurrency = 0 }) end, "concurrency")
    fake.raises(function() c:each("pipeline_jobs", 1, 101, {}, "extra") end, "at most")
    assert.are.equal(0, #fake.requests())
  end)

  it("raise on an option the method does not know, before any request", function()
    local c = fake.client()
    fake.raises(function() c:all("list", 1, { colour = "red" }) end, "unknown option 'colour'")
    fake.raises(function() c:all("bridges", 1, 101, { include_retried = true }) end,
      "unknown option 'include_retried'")
    fake.raises(function() c:all("pipeline_jobs", 1, 101, { pagination = "keyset" }) end,
      "unknown option 'pagination'")
    fake.raises(function() for _ in c:each("list", 1, { scope = "exploded" }) do end end, "scope")
    fake.raises(function() c:all("pipeline_jobs", 1, "101") end, "pipeline_id")
    assert.are.equal(0, #fake.requests())
  end)

  it("check the method's own arguments when called, before any step, naming them", function()
    local c = fake.client()
    local msg = fake.raises(function() c:each("list", 1, { scope = "exploded" }) end,
      "bad argument #3 to 'each'", "scope")
    assert.is_nil(msg:find("'?'", 1, true))
    fake.raises(function() c:all("pipeline_jobs", 1, 101, { per_page = 0 }) end, "bad argument #4 to 'all'", "per_page")
    fake.raises(function() c:each("bridges", 1, 101, { scope = { 7 } }) end, "bad argument #4 to 'each'", "scope")
    fake.raises(function() c:each("list", 1, { next_url = "ftp://x/y" }) end, "bad argument #3 to 'each'", "next_url")
    fake.raises(function() c:each("pipeline_jobs", 1, "101") end, "bad argument #3 to 'each'", "pipeline_id")
    fake.raises(function() c:all("list", {}) end, "bad argument #2 to 'all'", "project")
    assert.are.equal(0, #fake.requests())
  end)

  it("leave the caller's options table as it was", function()
    local opts = { limit = 3, scope = "failed" }
    assert(fake.client():all("list", 1, opts))
    assert.are.same({ limit = 3, scope = "failed" }, opts)
  end)
end)
