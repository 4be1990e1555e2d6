-- client:each and client:all: lazy pages, limit, where, keyset and its fallbacks.
-- What the pages should hold is asked of the fake itself, past the client.
local fake = require("fake")
local gitlab = require("gitlab.jobs")
local filter = gitlab.filter

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

-- Every item the fake lists at path (with query, if given), read past the client
-- over offset pages of 100 by X-Next-Page. The request log is cleared after it.
local function server_list(path, query)
  local items, page = {}, 1
  while page do
    local r = raw_get(("%s?per_page=100&page=%d%s"):format(path, page, query and ("&" .. query) or ""))
    for _, item in ipairs(r.body) do items[#items + 1] = item end
    page = tonumber(r.headers["x-next-page"] or "")
  end
  return items
end

local ids = fake.ids

local slice = fake.slice

-- Project 4 is listed once for the whole file: it takes a hundred pages.
local project4
local function project4_ids()
  project4 = project4 or ids(server_list("/projects/4/jobs"))
  fake.clear_requests()
  return project4
end

describe("client:each", function()
  local p2   -- project 2's job ids, as the fake lists them: newest first
  before_each(function()
    fake.reset()
    p2 = ids(server_list("/projects/2/jobs"))
    assert.is_true(#p2 > 300, "project 2 has more than three pages of 100")
  end)

  it("yields every job of project 2 once, newest first, over keyset pages of 100", function()
    local c = fake.client()
    local got = {}
    for job in c:each("list", 2) do got[#got + 1] = job end
    assert.are.same(p2, ids(got))
    local reqs = list_requests()
    assert.are.equal(math.ceil(#p2 / 100), #reqs)
    assert.are.equal("keyset", param(reqs[1], "pagination"))
    assert.are.equal("100", param(reqs[1], "per_page"))
    for i = 2, #reqs do
      assert.is_not_nil(param(reqs[i], "cursor"), "page " .. i .. " follows the next link")
      assert.is_nil(param(reqs[i], "page"))
    end
  end)

  it("fetches a page only when the loop needs it", function()
    local c = fake.client()
    local it = c:each("list", 2)
    assert.are.equal(0, #list_requests())
    assert.are.equal(p2[1], it().id)
    assert.are.equal(1, #list_requests())
    for _ = 2, 100 do it() end
    assert.are.equal(1, #list_requests())
    assert.are.equal(p2[101], it().id)
    assert.are.equal(2, #list_requests())
  end)

  it("stops at limit without asking for a page beyond it", function()
    local c = fake.client()
    local got = {}
    for job in c:each("list", 2, { limit = 150 }) do got[#got + 1] = job end
    assert.are.same(slice(p2, 1, 150), ids(got))
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
    -- the fake's own failed jobs of project 2, newest first (its scope filter)
    local failed = ids(server_list("/projects/2/jobs", "scope[]=failed"))
    assert.is_true(#failed > 8)
    local got = {}
    for job in c:each("list", 2, { where = filter.status("failed"), limit = 8 }) do
      assert.are.equal("failed", job.status)
      got[#got + 1] = job.id
    end
    assert.are.same(slice(failed, 1, 8), got)
    -- no page past the one that holds the 8th failed job
    local at
    for i, id in ipairs(p2) do if id == failed[8] then at = i end end
    assert.are.equal(math.ceil(at / 100), #list_requests())
  end)

  it("filters with where and sends neither where, limit nor concurrency", function()
    local c = fake.client()
    local want = {}
    for _, job in ipairs(server_list("/projects/1/jobs")) do
      if job.failure_reason == "runner_system_failure" then want[#want + 1] = job.id end
    end
    assert.is_true(#want > 1)
    local got = assert(c:all("list", 1, { where = filter.failure_reason("runner_system_failure"),
                                          limit = 10, concurrency = 4 }))
    assert.are.same(want, ids(got))
    for _, req in ipairs(list_requests()) do
      for name in pairs(req.params) do
        assert.is_nil(({ where = true, limit = true, concurrency = true })[name], name .. " was sent")
      end
    end
  end)

  it("passes the method's own options on, scope included", function()
    local c = fake.client()
    local manual = ids(server_list("/projects/2/jobs", "scope[]=manual"))
    assert.is_true(#manual > 5)
    local got = assert(c:all("list", 2, { scope = "manual", per_page = 5 }))
    assert.are.same(manual, ids(got))
    local reqs = list_requests()
    assert.are.equal(math.ceil(#manual / 5), #reqs)
    for _, r in ipairs(reqs) do
      assert.are.same({ "manual" }, r.params["scope[]"])
      assert.are.equal("5", param(r, "per_page"))
    end
  end)

  it("goes through pipeline jobs and bridges by offset pages", function()
    local c = fake.client()
    local want = ids(server_list("/projects/2/pipelines/201/jobs"))
    assert.is_true(#want > 20)
    local jobs = assert(c:all("pipeline_jobs", 2, 201, { per_page = 10 }))
    assert.are.same(want, ids(jobs))
    local reqs = fake.requests_to("GET", "/pipelines/201/jobs$")
    assert.are.equal(math.ceil(#want / 10), #reqs)
    for _, r in ipairs(reqs) do assert.is_nil(param(r, "pagination")) end

    local bridges_want = server_list("/projects/acme%2Fplatform%2Fapi/pipelines/101/bridges")
    assert.is_true(#bridges_want > 1)
    local bridges = assert(c:all("bridges", "acme/platform/api", 101))
    assert.are.same(ids(bridges_want), ids(bridges))
    assert.is_table(bridges[#bridges].downstream_pipeline)
  end)

  it("goes on past 10,000 rows, where GitLab sends no totals", function()
    local want = project4_ids()
    assert.is_true(#want > 10000)
    local c = fake.client()
    local got = {}
    for job in c:each("list", 4) do got[#got + 1] = job.id end
    assert.are.same(want, got)
    assert.are.equal(math.ceil(#want / 100), #list_requests())

    fake.reset()
    fake.config({ list_totals = true })
    local jobs = assert(c:all("list", 4, { pagination = "offset" }))
    assert.are.same(want, ids(jobs))
    local reqs = list_requests()
    assert.are.equal(math.ceil(#want / 100), #reqs)
    assert.are.equal(tostring(#reqs), param(reqs[#reqs], "page"))
  end)

  it("forces offset pages with pagination = \"offset\"", function()
    local c = fake.client()
    local jobs = assert(c:all("list", 2, { pagination = "offset" }))
    assert.are.same(p2, ids(jobs))
    local reqs = list_requests()
    assert.are.equal(math.ceil(#p2 / 100), #reqs)
    for _, r in ipairs(reqs) do assert.is_nil(param(r, "pagination")) end
  end)

  it("starts from the page asked for, by offset", function()
    local c = fake.client()
    local jobs = assert(c:all("list", 2, { page = 3 }))
    assert.are.same(slice(p2, 201), ids(jobs))
    local reqs = list_requests()
    assert.are.equal(math.ceil(#p2 / 100) - 2, #reqs)
    assert.are.equal("3", param(reqs[1], "page"))
    assert.is_nil(param(reqs[1], "pagination"))
  end)

  it("starts from a next_url given", function()
    local c = fake.client()
    local _, page = assert(c:list(2, { pagination = "keyset", per_page = 100 }))
    fake.reset()
    local jobs = assert(c:all("list", 2, { next_url = page.next_url }))
    assert.are.same(slice(p2, 101), ids(jobs))
    assert.are.equal(math.ceil(#p2 / 100) - 1, #list_requests())
  end)

  describe("when the server does not do keyset", function()
    it("falls back to offset pages after a 405", function()
      fake.config({ keyset = "refused" })
      local c = fake.client()
      local got = {}
      for job in c:each("list", 2) do got[#got + 1] = job end
      assert.are.same(p2, ids(got))
      local reqs = list_requests()
      assert.are.equal(1 + math.ceil(#p2 / 100), #reqs)
      assert.are.equal(405, reqs[1].status)
      assert.are.equal("keyset", param(reqs[1], "pagination"))
      for i = 2, #reqs do
        assert.are.equal(200, reqs[i].status)
        assert.is_nil(param(reqs[i], "pagination"))
        assert.are.equal(i > 2 and tostring(i - 1) or nil, param(reqs[i], "page"))
      end
    end)

    it("follows the offset pages of a server that ignores the parameter", function()
      fake.config({ keyset = "ignored" })
      local c = fake.client()
      local got = assert(c:all("list", 2))
      assert.are.same(p2, ids(got))
      local reqs = list_requests()
      assert.are.equal(math.ceil(#p2 / 100), #reqs)
      for i = 2, #reqs do assert.are.equal(tostring(i), param(reqs[i], "page")) end
    end)

    it("follows X-Next-Page when there is no next link", function()
      -- an old server behind a proxy that drops the Link header: only X-Page, X-Next-Page
      fake.config({ keyset = "ignored" })
      fake.fault({ method = "GET", path = "/projects/2/jobs$", kind = "headers", count = -1,
                   headers = { Link = require("cjson").null } })
      local c = fake.client()
      local got = assert(c:all("list", 2))
      assert.are.same(p2, ids(got))
      local reqs = list_requests()
      assert.are.equal(math.ceil(#p2 / 100), #reqs)
      assert.are.equal("keyset", param(reqs[1], "pagination"))
      for i = 2, #reqs do
        assert.are.equal(tostring(i), param(reqs[i], "page"))
        assert.is_nil(param(reqs[i], "pagination"))
      end
    end)
  end)

  it("never yields a job twice when new jobs push an offset page along", function()
    local c = fake.client()
    local p1 = server_list("/projects/1/jobs")
    assert.is_true(#p1 > 5)
    local retryable -- a failed job not retried yet, as the fake sees it
    for _, job in ipairs(p1) do
      if not retryable and job.status == "failed" and not fake.control("GET", ("/jobs/%d"):format(job.id)).retried then
        retryable = job.id
      end
    end
    assert.is_not_nil(retryable)
    local got, seen = {}, {}
    for job in c:each("list", 1, { pagination = "offset", per_page = 5 }) do
      got[#got + 1] = job.id
      if #got == 5 then
        -- a new job appears at the top: offset page 2 now starts with job 5 again
        assert(c:retry(1, retryable))
      end
    end
    for _, id in ipairs(got) do
      assert.is_nil(seen[id], "job " .. id .. " yielded twice")
      seen[id] = true
    end
    assert.are.same(ids(p1), got) -- the new job came after the first page
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
    assert.are.same(p2, got)
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
      fake.assert_tokenless(err)
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
      fake.assert_tokenless(err)
      assert.are.equal(50, n)
      assert.are.equal(1, #list_requests())
    end)
  end
end)

describe("pages fetched ahead", function()
  before_each(fake.reset)

  -- Asserts that no page was asked twice; returns the pages asked.
  local function pages_once(reqs)
    local pages = {}
    for _, r in ipairs(reqs) do
      local p = tonumber(param(r, "page") or "1")
      assert.is_nil(pages[p], "page " .. p .. " asked twice")
      pages[p] = true
    end
    return pages
  end

  it("when the server tells the number of pages: in order, each once, no page asked twice", function()
    local want = ids(server_list("/projects/2/pipelines/201/jobs"))
    local total = tonumber(raw_get("/projects/2/pipelines/201/jobs?per_page=3").headers["x-total-pages"])
    assert.is_true(total > 4)
    fake.reset() -- the connections counted below are the client's alone
    local c = fake.client()
    local jobs = assert(c:all("pipeline_jobs", 2, 201, { per_page = 3 }))
    assert.are.same(want, ids(jobs))
    local reqs = fake.requests_to("GET", "/pipelines/201/jobs$")
    pages_once(reqs)
    assert.are.equal(total, #reqs) -- nothing past the last
    -- after the first page told the total, the rest went over parallel connections
    -- (one after the other, they would all have used the one kept alive)
    assert.is_true(fake.stats().api_connections > 1)
  end)

  it("not when a limit may stop early", function()
    local c = fake.client()
    local n = 0
    for _ in c:each("pipeline_jobs", 2, 201, { per_page = 5, limit = 7 }) do n = n + 1 end
    assert.are.equal(7, n)
    assert.are.equal(math.ceil(7 / 5), #fake.requests_to("GET", "/pipelines/201/jobs$"))
  end)

  it("when concurrency asks for it, even without totals", function()
    local want = ids(server_list("/projects/2/jobs"))
    fake.reset() -- the connections counted below are the client's alone
    local c = fake.client()
    local jobs = assert(c:all("list", 2, { pagination = "offset", per_page = 50, concurrency = 4 }))
    assert.are.same(want, ids(jobs))
    local reqs = list_requests()
    pages_once(reqs)
    local pages = math.ceil(#want / 50)
    -- every page, and at most concurrency - 1 past the last one, asked while it was read
    assert.is_true(#reqs >= pages and #reqs <= pages + 3, tostring(#reqs))
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
    assert.are.same(ids(first.body), ids(jobs))
    assert.are.equal(1, #fake.requests_to("GET", "/pipelines/201/jobs$"))
    assert.are.equal(0, c:poll(0))

    -- pages of 5: as many requests as the server said there are pages
    local pages = tonumber(raw_get("/projects/2/pipelines/201/jobs?per_page=5").headers["x-total-pages"])
    assert.is_true(pages > 1)
    assert(c:all("pipeline_jobs", 2, 201, { per_page = 5, concurrency = 1000 }))
    assert.are.equal(pages, #fake.requests_to("GET", "/pipelines/201/jobs$"))

    -- no total (the project job list): the first page alone, then never more than concurrency ahead
    local one = raw_get("/projects/1/jobs?per_page=100")
    assert.is_nil(one.headers["x-total-pages"])
    assert.are.equal("", one.headers["x-next-page"] or "", "project 1's jobs fit on one page")
    assert(c:all("list", 1, { pagination = "offset", concurrency = 1000 }))
    assert.are.equal(1, #list_requests())
    fake.clear_requests()
    jobs = assert(c:all("list", 2, { pagination = "offset", per_page = 50, concurrency = 3 }))
    local last_page = math.ceil(#jobs / 50)
    for _, r in ipairs(list_requests()) do
      assert.is_true(tonumber(param(r, "page") or "1") <= last_page + 2, "a page beyond the last read + 2")
    end
  end)

  it("stops the pages fetched ahead at a limit", function()
    local c = fake.client()
    local n = 0
    -- page 1 alone, then pages 2 to 5 at once; the limit comes in page 2
    for _ in c:each("list", 2, { pagination = "offset", per_page = 10, concurrency = 4, limit = 15 }) do
      n = n + 1
    end
    assert.are.equal(15, n)
    assert.are.equal(0, c:poll(0))
    assert.is_true(#list_requests() <= 5)
  end)

  it("raises a failing page fetched ahead when the loop reaches it", function()
    local c = fake.client()
    local it = c:each("pipeline_jobs", 2, 201, { per_page = 5, concurrency = 3 })
    for _ = 1, 5 do assert(it()) end   -- page 1, read alone
    fake.fault{ path = "/pipelines/201/jobs$", kind = "status", status = 500, count = 1 }
    local n = 5
    local ok, err = pcall(function()
      for _ in it do n = n + 1 end
    end)
    assert.is_false(ok)
    assert.are.equal(500, err.status)
    -- the pages before the failed one were all given
    local failed
    for _, r in ipairs(fake.requests_to("GET", "/pipelines/201/jobs$")) do
      if r.fault then failed = tonumber(param(r, "page")) end
    end
    assert.is_true(failed > 1)
    assert.are.equal(5 * (failed - 1), n)
  end)
end)

describe("client:all", function()
  before_each(fake.reset)

  it("returns every item in one array", function()
    local want = ids(server_list("/projects/acme%2Fbig%2Fmonorepo/jobs"))
    assert.is_true(#want > 100)
    local jobs = assert(fake.client():all("list", "acme/big/monorepo"))
    assert.are.same(want, ids(jobs))
  end)

  it("returns nil, err when a page fails", function()
    local c = fake.client()
    fake.fault({ kind = "status", status = 503, path = "/projects/2/jobs$", count = 1 })
    local jobs, err = c:all("list", 2)
    assert.is_nil(jobs)
    assert.is_true(gitlab.is_error(err))
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
