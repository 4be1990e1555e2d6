--- Pagination: client:each and client:all over the list calls.
--
-- Pages are fetched one at a time, when the loop needs the next item. The
-- way forward is the page's `next_url` (Link rel="next") when the server sent
-- one, else its `next_page`; neither means the end, so X-Total is never
-- needed. The project job list asks for keyset pagination unless told
-- otherwise, and falls back to offset pages when the server refuses it (405)
-- or ignores it (it then answers with offset pages, which are followed as such).
-- @module gitlab.jobs.pager
local core = require("gitlab.jobs.core")
local errors = require("gitlab.jobs.errors")
local unpack = table.unpack or unpack

local M = {}

-- method -> position of its options table among the arguments after the method name
local OPTS_AT = { list = 2, pipeline_jobs = 3, bridges = 3 }

-- Raises for check's caller's caller (the user of each or all).
local function argerror(fname, i, msg)
  errors.argerror(fname, i, msg, 4)
end

-- The fixed arguments, then t as the options table, then callback if given.
local function arguments(args, at, t, callback)
  local a = {}
  for i = 1, at - 1 do a[i] = args[i] end
  a[at], a[at + 1] = t, callback
  return a
end

-- Validates the call, the method's own arguments as the method itself checks
-- them; returns the method, the fixed arguments, the options meant for the
-- server, and limit, where.
local function check(client, fname, method, ...)
  if type(method) ~= "string" or not OPTS_AT[method] then
    argerror(fname, 1, ("method: \"list\", \"pipeline_jobs\" or \"bridges\" expected, got %s"):format(
      type(method) == "string" and ("'" .. method .. "'") or type(method)))
  end
  local at = OPTS_AT[method]
  local nargs = select("#", ...)
  if nargs > at then
    argerror(fname, at + 2, ("%s takes at most %d arguments"):format(method, at))
  end
  local args = { ... }
  local given = args[at]
  args[at] = nil
  local opts = {}
  if given ~= nil then
    if type(given) ~= "table" then
      argerror(fname, at + 1, "options: table expected, got " .. type(given))
    end
    for k, v in pairs(given) do opts[k] = v end
  end
  local limit, where, concurrency = opts.limit, opts.where, opts.concurrency
  opts.limit, opts.where, opts.concurrency = nil, nil, nil
  if limit ~= nil and not errors.whole(limit, 0) then
    argerror(fname, at + 1, "limit: non-negative integer expected")
  end
  if where ~= nil and type(where) ~= "function" then
    argerror(fname, at + 1, "where: function expected, got " .. type(where))
  end
  if concurrency ~= nil and not errors.whole(concurrency, 1) then
    argerror(fname, at + 1, "concurrency: positive integer expected")
  end
  local mode = "offset"
  if opts.next_url == nil then
    if opts.per_page == nil then opts.per_page = 100 end
    if method == "list" then
      if opts.pagination == "offset" then
        opts.pagination = nil
      elseif opts.page == nil then
        -- keyset by default; asking for a page means offset pages
        opts.pagination = opts.pagination or "keyset"
        if opts.pagination == "keyset" then mode = "keyset" end
      end
    end
  end
  core.check(client, { name = fname, shift = 1 }, method, unpack(arguments(args, at, opts), 1, at))
  return method, args, at, opts, limit, where, mode, concurrency
end

-- A copy of the fixed arguments with t as the options table.
local function call(client, method, args, at, t)
  return client[method](client, unpack(arguments(args, at, t), 1, at))
end

-- Numbered offset pages fetched ahead over parallel connections, with
-- client:start and client:poll; each page is handed out in order.
local function prefetcher(client, method, args, at)
  local slots = {}
  local P = {}
  -- Page p of the request base, after starting p .. p + ahead - 1 (not past last).
  function P.fetch(base, p, ahead, last)
    for q = p, p + ahead - 1 do
      if last and q > last then break end
      if not slots[q] then
        local t = {}
        for k, v in pairs(base) do t[k] = v end
        t.page, t.pagination, t.next_url = q, nil, nil
        local slot = {}
        slots[q] = slot
        local a = arguments(args, at, t, function(items, page)
          slot.done, slot.items, slot.page = true, items, page
        end)
        slot.handle = client:start(method, unpack(a, 1, at + 1))
      end
    end
    local slot = slots[p]
    while not slot.done do client:poll(1) end
    slots[p] = nil
    return slot.items, slot.page
  end
  -- Stops the pages fetched ahead that will not be read.
  function P.cancel()
    for q, slot in pairs(slots) do
      slot.handle:cancel()
      slots[q] = nil
    end
  end
  return P
end

-- Which page a link asks for, as a key of the pages already read: its
-- cursor, else its page number; a keyset link without either is the first.
local function url_key(url)
  local q = "&" .. (url:match("%?([^#]*)") or "") .. "&"
  local cursor = q:match("&cursor=([^&]*)&")
  if cursor then return "cursor " .. cursor end
  local n = tonumber(q:match("&page=(%d+)&"))
  if n then return "page " .. n end
  if q:find("&pagination=keyset&", 1, true) then return "cursor " end
  return "page 1"
end

-- The same key for the options of a request.
local function request_key(t)
  if t.next_url then return url_key(t.next_url) end
  if t.pagination == "keyset" then return "cursor " end
  return "page " .. (t.page or 1)
end

-- The iterator behind each and all: returns item, or nil at the end, or
-- nil, err when a page fails (the same page is asked again on the next call).
-- Offset pages are fetched ahead when concurrency asks for it, or when the
-- server told the number of pages and no limit says to stop early. A link
-- to a page already read ends the pages: none is read twice.
local function iterator(client, method, args, at, opts, limit, where, mode, concurrency)
  local ahead_pool = prefetcher(client, method, args, at)
  local lua_transport = core.hook(client, "transport") ~= nil
  local total_pages           -- when the server says
  local items, i = nil, 0   -- the current page and the position in it
  local nxt = opts          -- the options of the next request; nil: no more pages
  local read = {}           -- request_key -> true for every page read
  local yielded = 0
  local seen, prev_seen = {}, {} -- ids of this page and of the one before: an offset page
                                 -- that moved under new jobs repeats a few, never twice yielded

  -- Why the call would refuse url as next_url (not http(s), https to http), or nil.
  local function refused(url)
    local ok, msg = pcall(core.check, client, {}, method, unpack(arguments(args, at, { next_url = url }), 1, at))
    if ok then return nil end
    local why = type(msg) == "string" and msg:match("next_url: (.*)%)$")
    if not why then error(msg, 0) end
    return why
  end

  -- The path of the request made with t, as errors name it.
  local function path_of(t)
    if t.next_url then
      return t.next_url:match("/api/v4(/[^?#]*)") or t.next_url:match("^%a[%w+.-]*://[^/?#]*(/[^?#]*)") or "/"
    end
    local path = errors.project_path(args[1])
    if method == "list" then return path .. "/jobs" end
    return ("%s/pipelines/%d/%s"):format(path, args[2], method == "bridges" and "bridges" or "jobs")
  end

  -- The options of the request after the page just read with requested, or
  -- nil; or {err =} when the page links to where the client will not go.
  local function following(page, requested)
    -- the options the next offset page is built from (not from a link the user gave)
    local base = requested
    if requested.next_url then base = opts.next_url == nil and opts or nil end
    local numbered = mode == "offset" and (concurrency or (total_pages and not limit))
    if page.next_url and not (numbered and base and page.next_page) then
      local why = refused(page.next_url)
      if why then return { err = errors.bad_link(path_of(requested), page.next_url, why) } end
      if read[url_key(page.next_url)] then return nil end
      return { next_url = page.next_url }
    end
    if base and page.next_page and page.next_page > (requested.page or 1)
        and not read["page " .. page.next_page] then
      -- no link to follow (an old server, keyset ignored): the next offset page
      local t = {}
      for k, v in pairs(base) do t[k] = v end
      t.pagination = nil
      t.page = page.next_page
      return t
    end
    return nil
  end

  return function()
    while true do
      if limit and yielded >= limit then
        ahead_pool.cancel()
        return nil
      end
      if items and i < #items then
        i = i + 1
        local item = items[i]
        local id = type(item) == "table" and item.id or nil
        if id == nil or not prev_seen[id] then
          if id ~= nil then seen[id] = true end
          if not where or where(item) then
            yielded = yielded + 1
            return item
          end
        end
      else
        if not nxt or nxt.err then
          ahead_pool.cancel()
          return nil, nxt and nxt.err
        end
        -- the first page goes alone: nothing is known of the pages yet. A Lua
        -- transport may yield, which it cannot do under start and poll (they
        -- call it from C): its pages go one by one through the blocking calls.
        local ahead = items and not lua_transport and (concurrency or (total_pages and not limit and 4)) or 1
        local page_items, page
        if ahead > 1 and mode == "offset" and nxt.next_url == nil then
          page_items, page = ahead_pool.fetch(nxt, nxt.page or 1, ahead, total_pages)
        else
          page_items, page = call(client, method, args, at, nxt)
        end
        if not page_items then
          local err = page
          if mode == "keyset" and items == nil and err.status == 405 then
            -- this server does not do keyset here: offset pages from the first
            mode = "offset"
            nxt.pagination = nil
            page_items, page = call(client, method, args, at, nxt)
            if not page_items then return nil, page end
          else
            return nil, err
          end
        end
        items, i = page_items, 0
        prev_seen, seen = seen, {}
        read[request_key(nxt)] = true
        if page.page then read["page " .. page.page] = true end -- a keyset request answered by offset
        total_pages = page.total_pages or total_pages
        nxt = following(page, nxt)
      end
    end
  end
end

--- client:each(method, ...): an iterator over every item of every page.
-- A failing page raises its error object.
-- @tparam client client
-- @string method `"list"`, `"pipeline_jobs"` or `"bridges"`
-- @param ... the method's arguments. Its options table also takes `limit`
-- (stop after that many items, counted after `where`), `where` (a predicate,
-- such as @{gitlab.jobs.filter}'s) and `concurrency` (pages fetched ahead);
-- these are not sent to the server, and are checked when each is called.
-- @treturn function the iterator
function M.each(client, method, ...)
  local next_item = iterator(client, check(client, "each", method, ...))
  return function()
    local item, err = next_item()
    if item == nil and err ~= nil then error(err, 0) end
    return item
  end
end

--- client:all(method, ...): every item in one array, or nil, err.
-- @tparam client client
-- @string method as @{each}
-- @param ... as @{each}
-- @treturn table the items
function M.all(client, method, ...)
  local next_item = iterator(client, check(client, "all", method, ...))
  local out = {}
  while true do
    local item, err = next_item()
    if item == nil then
      if err ~= nil then return nil, err end
      return out
    end
    out[#out + 1] = item
  end
end

return M
