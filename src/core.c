/* gitlab.jobs.core: the client type and the one-request calls of the
 * GitLab Jobs API. Arguments are checked before anything is sent; run-time
 * failures come back as nil plus an error table (response.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gj.h"

#if defined(__GNUC__)
#define GJ_EXPORT __attribute__((visibility("default")))
#else
#define GJ_EXPORT
#endif

#define GJ_CALL_MT "gitlab.jobs.call"

LUALIB_API GJ_EXPORT int luaopen_gitlab_jobs_core(lua_State *L);

static const char *const STATUSES[] = {
    "created", "waiting_for_resource", "preparing", "waiting_for_callback",
    "pending", "running", "success", "failed", "canceling", "canceled",
    "skipped", "manual", "scheduled", NULL};

/* ---- small utilities ---- */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void c_sleep(double s)
{
    struct timespec ts;
    if (!(s > 0))
        return;
    if (s > 1e9)
        s = 1e9;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = (char *)malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Wipes a secret before freeing it. */
static void free_secret(char **p)
{
    if (*p) {
        volatile char *v = *p;
        while (*v)
            *v++ = '\0';
        free(*p);
        *p = NULL;
    }
}

static void oom(lua_State *L)
{
    luaL_error(L, "gitlab.jobs: out of memory");
}

/* ---- argument checks: raise, naming the argument, before sending ---- */

static int argerr(lua_State *L, int arg, const char *name, const char *what)
{
    const char *got;
    if (lua_type(L, arg) == LUA_TNUMBER || lua_type(L, arg) == LUA_TSTRING) {
        lua_pushvalue(L, arg);
        got = lua_pushfstring(L, "%s '%s'", luaL_typename(L, arg), lua_tostring(L, -1));
    } else {
        got = luaL_typename(L, arg);
    }
    return luaL_argerror(L, arg, lua_pushfstring(L, "%s: %s expected, got %s", name, what, got));
}

/* A positive integer; an integral float (1002.0) is one, "1002" is not. */
static lua_Integer check_id_at(lua_State *L, int idx, int arg, const char *name)
{
    lua_Number d;
    if (lua_type(L, idx) != LUA_TNUMBER)
        goto bad;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        if (i > 0 && i <= (lua_Integer)9007199254740991LL)
            return i;
        goto bad;
    }
#endif
    d = lua_tonumber(L, idx);
    if (d >= 1 && d <= 9007199254740991.0 && d == floor(d))
        return (lua_Integer)d;
bad:
    if (idx != arg) {
        lua_pushvalue(L, idx);
        lua_replace(L, arg); /* report the offending value, not its table */
    }
    argerr(L, arg, name, "positive integer");
    return 0;
}

static lua_Integer check_id(lua_State *L, int arg, const char *name)
{
    return check_id_at(L, arg, arg, name);
}

static void check_project(lua_State *L, int arg)
{
    if (lua_type(L, arg) == LUA_TSTRING) {
        if (lua_rawlen(L, arg) == 0)
            luaL_argerror(L, arg, "project: path must not be empty");
        return;
    }
    if (lua_type(L, arg) == LUA_TNUMBER) {
        check_id(L, arg, "project");
        return;
    }
    argerr(L, arg, "project", "integer id or path string");
}

/* A client of either kind: libcurl's, or one with a Lua transport. */
static gj_client *to_client(lua_State *L, int idx)
{
    void *p = luaL_testudata(L, idx, GJ_CLIENT_MT);
    if (p == NULL)
        p = luaL_testudata(L, idx, GJ_TCLIENT_MT);
    if (p == NULL)
        luaL_argerror(L, idx, lua_pushfstring(L, "gitlab.jobs client expected, got %s", luaL_typename(L, idx)));
    return (gj_client *)p;
}

static gj_client *check_client(lua_State *L)
{
    gj_client *c = to_client(L, 1);
    if (c->closed)
        luaL_error(L, "gitlab.jobs: the client is closed");
    if (c->busy)
        luaL_error(L, "gitlab.jobs: the client is busy (called from inside its own sink or transport)");
    return c;
}

/* Raises on an option name not in allowed; opts at arg may be nil. */
static int check_options(lua_State *L, int arg, const char *const allowed[])
{
    if (lua_isnoneornil(L, arg))
        return 0;
    if (lua_type(L, arg) != LUA_TTABLE)
        argerr(L, arg, "options", "table");
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        int i, known = 0;
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -2);
            for (i = 0; allowed[i]; i++)
                if (strcmp(k, allowed[i]) == 0)
                    known = 1;
            if (!known)
                luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", k));
        } else {
            luaL_argerror(L, arg, lua_pushfstring(L, "option names must be strings, got %s",
                                                  luaL_typename(L, -2)));
        }
        lua_pop(L, 1);
    }
    return 1;
}

/* Pushes opts[name] (nil when opts is absent). */
static int opt_field(lua_State *L, int arg, const char *name)
{
    if (lua_type(L, arg) != LUA_TTABLE) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    lua_getfield(L, arg, name);
    return lua_type(L, -1);
}

static int is_status(const char *s)
{
    int i;
    for (i = 0; STATUSES[i]; i++)
        if (strcmp(s, STATUSES[i]) == 0)
            return 1;
    return 0;
}

/* ---- building the request ---- */

static void add(lua_State *L, gj_buf *b, const char *s, size_t n)
{
    if (gj_buf_add(b, s, n))
        oom(L);
}

static void begin(lua_State *L, gj_call *k, const char *method)
{
    gj_buf_reset(&k->req.url);
    gj_buf_reset(&k->req.path);
    gj_buf_reset(&k->req.body);
    k->req.has_body = 0;
    k->req.method = method;
    k->req.nheaders = 0;
    add(L, &k->req.url, k->client->base, strlen(k->client->base));
    add(L, &k->req.url, "/api/v4", 7);
    add(L, &k->req.path, "", 0);
}

static void path_lit(lua_State *L, gj_call *k, const char *s)
{
    add(L, &k->req.url, s, strlen(s));
    add(L, &k->req.path, s, strlen(s));
}

static void path_int(lua_State *L, gj_call *k, lua_Integer v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "/%lld", (long long)v);
    add(L, &k->req.url, num, (size_t)n);
    add(L, &k->req.path, num, (size_t)n);
}

/* "/projects/<id or escaped path>" */
static void path_project(lua_State *L, gj_call *k, int arg)
{
    path_lit(L, k, "/projects");
    if (lua_type(L, arg) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, arg, &n);
        size_t start = k->req.url.n;
        add(L, &k->req.url, "/", 1);
        if (gj_url_escape(&k->req.url, s, n))
            oom(L);
        add(L, &k->req.path, k->req.url.p + start, k->req.url.n - start);
    } else {
        path_int(L, k, check_id(L, arg, "project"));
    }
}

static void query(lua_State *L, gj_call *k, const char *name, const char *value)
{
    add(L, &k->req.url, strchr(k->req.url.p, '?') ? "&" : "?", 1);
    add(L, &k->req.url, name, strlen(name));
    add(L, &k->req.url, "=", 1);
    if (gj_url_escape(&k->req.url, value, strlen(value)))
        oom(L);
}

static void query_int(lua_State *L, gj_call *k, const char *name, lua_Integer v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)v);
    query(L, k, name, num);
}

/* scope: a status or an array of them, sent as scope[]=a&scope[]=b */
static void query_scope(lua_State *L, gj_call *k, int arg)
{
    int t = opt_field(L, arg, "scope");
    int v = lua_gettop(L);
    if (t == LUA_TSTRING) {
        if (!is_status(lua_tostring(L, v)))
            luaL_argerror(L, arg, lua_pushfstring(L, "scope: unknown status '%s'", lua_tostring(L, v)));
        query(L, k, "scope%5B%5D", lua_tostring(L, v));
    } else if (t == LUA_TTABLE) {
        size_t i, n = lua_rawlen(L, v);
        if (n == 0)
            luaL_argerror(L, arg, "scope: empty array (leave scope out to get every status)");
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, v, (int)i);
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, arg, lua_pushfstring(L, "scope: status string expected at [%d], got %s",
                                                      (int)i, luaL_typename(L, -1)));
            if (!is_status(lua_tostring(L, -1)))
                luaL_argerror(L, arg, lua_pushfstring(L, "scope: unknown status '%s'", lua_tostring(L, -1)));
            lua_pop(L, 1);
        }
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, v, (int)i);
            query(L, k, "scope%5B%5D", lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    } else if (t != LUA_TNIL) {
        lua_replace(L, arg);
        argerr(L, arg, "scope", "status string or array of them");
    }
    lua_pop(L, 1);
}

static int origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (p == NULL)
        return 0;
    p += 3;
    while (*p && *p != '/' && *p != '?' && *p != '#')
        p++;
    return (int)(p - url);
}

static int same_origin(const gj_client *c, const char *url)
{
    size_t i, n = (size_t)origin_len(url);
    if (n != c->origin_len)
        return 0;
    for (i = 0; i < n; i++) {
        char a = c->base[i], b = url[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a + 32);
        if (b >= 'A' && b <= 'Z') b = (char)(b + 32);
        if (a != b)
            return 0;
    }
    return 1;
}

/* A next_url option: fetch the page the server linked, as given. The path
 * for errors is what follows /api/v4, without the query. */
static int begin_url(lua_State *L, gj_call *k, int arg)
{
    size_t n;
    const char *u, *p, *q;
    if (opt_field(L, arg, "next_url") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (lua_type(L, -1) != LUA_TSTRING) {
        lua_replace(L, arg);
        argerr(L, arg, "next_url", "string");
    }
    u = lua_tolstring(L, -1, &n);
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        luaL_argerror(L, arg, "next_url: http or https URL expected");
    if (strncmp(k->client->base, "https://", 8) == 0 && strncmp(u, "http://", 7) == 0)
        luaL_argerror(L, arg, "next_url: refusing to go from https to http");
    begin(L, k, "GET");
    gj_buf_reset(&k->req.url);
    add(L, &k->req.url, u, n);
    p = strstr(u, "/api/v4");
    p = p ? p + 7 : u + origin_len(u);
    q = strchr(p, '?');
    add(L, &k->req.path, p, q ? (size_t)(q - p) : strlen(p));
    lua_pop(L, 1);
    return 1;
}

static void set_headers(gj_call *k)
{
    int auth = k->auth, json_accept = k->kind != R_TRACE;
    k->req.nheaders = 0;
    if (auth == GJ_AUTH_JOB) {
        gj_req_header(&k->req, "JOB-TOKEN", k->client->job_token);
    } else if (auth == GJ_AUTH_DEFAULT) {
        if (k->client->token) {
            gj_req_header(&k->req, "PRIVATE-TOKEN", k->client->token);
        } else if (k->client->oauth_token) {
            gj_buf_reset(&k->req.auth_value);
            if (gj_buf_adds(&k->req.auth_value, "Bearer ") == 0 &&
                gj_buf_adds(&k->req.auth_value, k->client->oauth_token) == 0)
                gj_req_header(&k->req, "Authorization", k->req.auth_value.p);
        } else if (k->client->job_token) {
            gj_req_header(&k->req, "JOB-TOKEN", k->client->job_token);
        }
    }
    if (json_accept)
        gj_req_header(&k->req, "Accept", "application/json");
    gj_req_header(&k->req, "User-Agent", k->client->user_agent);
    if (k->req.has_body)
        gj_req_header(&k->req, "Content-Type", "application/json");
}

/* ---- running a request ---- */

static void push_uservalue_field(lua_State *L, int ud, const char *name)
{
    gj_getuservalue(L, ud);
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, name);
        lua_remove(L, -2);
    } else {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

/* Waits through the client's sleep (a Lua function), else nanosleep. The
 * client is at stack index 1. */
static void client_sleep(lua_State *L, double s)
{
    if (!(s > 0))
        return;
    push_uservalue_field(L, 1, "sleep");
    if (lua_type(L, -1) == LUA_TNIL) {
        lua_pop(L, 1);
        c_sleep(s);
        return;
    }
    lua_pushnumber(L, s);
    lua_call(L, 1, 0);
}

static double backoff(gj_client *c, int attempt)
{
    double d = c->base_delay * pow(2.0, attempt - 1), r;
    if (d > c->max_delay)
        d = c->max_delay;
    /* xorshift: jitter so that many clients do not retry in step */
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    r = (double)(c->rng % 1000000UL) / 1e6;
    return d / 2 + r * d / 2;
}

static void call_init(gj_call *k, gj_client *c)
{
    memset(k, 0, sizeof *k);
    k->client = c;
    k->sink_ref = LUA_NOREF;
    k->err_ref = LUA_NOREF;
    k->cb_ref = LUA_NOREF;
    k->state = CALL_DONE;
}

static void call_free(gj_call *k)
{
    gj_curl_close(k);
    if (k->req.auth_value.p)
        memset(k->req.auth_value.p, 0, k->req.auth_value.cap);
    gj_buf_free(&k->req.auth_value);
    gj_buf_free(&k->req.url);
    gj_buf_free(&k->req.path);
    gj_buf_free(&k->req.body);
    gj_buf_free(&k->res.head);
    gj_buf_free(&k->res.body);
}

static void unref(lua_State *L, int *ref)
{
    if (*ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, *ref);
        *ref = LUA_NOREF;
    }
}

int gj_deliver(gj_call *k, const char *p, size_t n)
{
    if (k->skip) {
        size_t m = k->skip < n ? k->skip : n;
        p += m;
        n -= m;
        k->skip -= m;
    }
    if (n == 0)
        return 0;
    if (k->sink || k->sink_ref != LUA_NOREF) {
        lua_State *L = k->L;
        if (!lua_checkstack(L, 3)) {
            lua_pushliteral(L, "gitlab.jobs: stack overflow in sink");
            k->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);
            return -1;
        }
        if (k->sink)
            lua_pushvalue(L, k->sink);
        else
            lua_rawgeti(L, LUA_REGISTRYINDEX, k->sink_ref);
        lua_pushlstring(L, p, n);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
            /* kept until libcurl has returned, then raised */
            k->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);
            return -1;
        }
        k->delivered += n;
        return 0;
    }
    return gj_buf_add(&k->res.body, p, n);
}

/* Raises what a sink raised. */
static int raise_sink_error(lua_State *L, gj_call *k)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, k->err_ref);
    unref(L, &k->err_ref);
    return lua_error(L);
}

/* Pushes the request of k as a transport sees it. */
static void push_req_table(lua_State *L, gj_call *k)
{
    int i;
    lua_createtable(L, 0, 5);
    lua_pushstring(L, k->req.method);
    lua_setfield(L, -2, "method");
    lua_pushlstring(L, k->req.url.p, k->req.url.n);
    lua_setfield(L, -2, "url");
    lua_createtable(L, 0, k->req.nheaders);
    for (i = 0; i < k->req.nheaders; i++) {
        lua_pushstring(L, k->req.hvalue[i]);
        lua_setfield(L, -2, k->req.hname[i]);
    }
    lua_setfield(L, -2, "headers");
    if (k->req.has_body) {
        lua_pushlstring(L, k->req.body.p, k->req.body.n);
        lua_setfield(L, -2, "body");
    }
    if (k->client->timeout_ms > 0) {
        lua_pushnumber(L, k->client->timeout_ms / 1000.0);
        lua_setfield(L, -2, "timeout");
    }
}

/* Reads what a transport returned, (res) or (nil, msg) at index r and r+1,
 * into k->res and o. A sink's error is kept in k->err_ref. */
static void read_res_table(lua_State *L, gj_call *k, int r, gj_outcome *o)
{
    int top = lua_gettop(L);
    o->ok = 0;
    o->kind = "network";
    o->sent = 1; /* a transport cannot tell us: assume the worst */
    o->permanent = 0;
    k->errbuf[0] = '\0';
    if (lua_type(L, r) == LUA_TTABLE) {
        size_t n;
        const char *body;
        lua_getfield(L, r, "status");
        if (lua_type(L, -1) != LUA_TNUMBER) {
            strcpy(k->errbuf, "transport returned a response without a numeric status");
            lua_settop(L, top);
            return;
        }
        k->res.status = (long)lua_tonumber(L, -1);
        lua_pop(L, 1);
        lua_getfield(L, r, "headers");
        if (lua_type(L, -1) == LUA_TTABLE) {
            int h = lua_gettop(L);
            lua_pushnil(L);
            while (lua_next(L, h)) {
                if (lua_type(L, -2) == LUA_TSTRING) {
                    size_t kn, j;
                    const char *key = lua_tolstring(L, -2, &kn);
                    for (j = 0; j < kn; j++) {
                        char ch = key[j];
                        if (gj_buf_addc(&k->res.head, (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch)))
                            oom(L);
                    }
                    add(L, &k->res.head, ": ", 2);
                    if (lua_type(L, -1) == LUA_TTABLE) { /* repeated header */
                        size_t m = lua_rawlen(L, -1);
                        for (j = 1; j <= m; j++) {
                            lua_rawgeti(L, -1, (int)j);
                            if (lua_isstring(L, -1)) {
                                const char *v = lua_tolstring(L, -1, &n);
                                if (j > 1)
                                    add(L, &k->res.head, ", ", 2);
                                add(L, &k->res.head, v, n);
                            }
                            lua_pop(L, 1);
                        }
                    } else if (lua_isstring(L, -1)) {
                        const char *v;
                        lua_pushvalue(L, -1); /* a number converted in place would upset lua_next */
                        v = lua_tolstring(L, -1, &n);
                        add(L, &k->res.head, v, n);
                        lua_pop(L, 1);
                    }
                    add(L, &k->res.head, "\r\n", 2);
                }
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
        lua_getfield(L, r, "body");
        body = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : (n = 0, "");
        o->ok = 1;
        if (k->skipping && k->res.status >= 200 && k->res.status < 300) {
            size_t off = 0;
            while (off < n) { /* in pieces, as a network would give them */
                size_t m = n - off < 65536 ? n - off : 65536;
                if (gj_deliver(k, body + off, m)) {
                    if (k->err_ref != LUA_NOREF)
                        break;
                    oom(L);
                }
                off += m;
            }
        } else if (n > k->client->max_body) {
            k->too_big = 1;
        } else {
            add(L, &k->res.body, body, n);
        }
    } else {
        const char *msg = lua_tostring(L, r + 1);
        strncpy(k->errbuf, msg ? msg : "transport failed", sizeof k->errbuf - 1);
        k->errbuf[sizeof k->errbuf - 1] = '\0';
    }
    lua_settop(L, top);
}

/* Calls a Lua transport from C (blocking calls and poll). Returns -1 when
 * it raised (the error is on top). */
static int perform_lua(lua_State *L, gj_call *k, int tix, gj_outcome *o)
{
    int base = lua_gettop(L);
    lua_pushvalue(L, tix);
    push_req_table(L, k);
    if (lua_pcall(L, 1, 2, 0) != LUA_OK)
        return -1;
    read_res_table(L, k, base + 1, o);
    lua_settop(L, base);
    return 0;
}

static int retryable_status(long s, int post)
{
    if (s == 429)
        return 1;
    return !post && (s == 500 || s == 502 || s == 503 || s == 504);
}

static int is_redirect(long s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

/* Points the request at a redirect's Location. 0 when followed. */
static int follow(lua_State *L, gj_call *k)
{
    size_t n;
    const char *loc = gj_header(&k->res, "location", &n);
    char *target;
    if (loc == NULL || n == 0)
        return -1;
    target = (char *)malloc(n + 1);
    if (target == NULL)
        oom(L);
    memcpy(target, loc, n);
    target[n] = '\0';
    if (target[0] == '/') {
        /* absolute path on the current origin */
        k->req.url.n = (size_t)origin_len(k->req.url.p);
        if (gj_buf_add(&k->req.url, target, n)) {
            free(target);
            oom(L);
        }
    } else if (strncmp(target, "http://", 7) == 0 || strncmp(target, "https://", 8) == 0) {
        if (strncmp(k->req.url.p, "https://", 8) == 0 && strncmp(target, "http://", 7) == 0) {
            free(target);
            return -1; /* never from https down to http */
        }
        gj_buf_reset(&k->req.url);
        if (gj_buf_add(&k->req.url, target, n)) {
            free(target);
            oom(L);
        }
    } else {
        free(target);
        return -1;
    }
    free(target);
    if (k->auth != GJ_AUTH_NONE && !same_origin(k->client, k->req.url.p)) {
        k->auth = GJ_AUTH_NONE; /* another origin never sees the token */
        set_headers(k);
    }
    return 0;
}

/* Remembers RateLimit-Remaining: 0, so the next request waits instead of
 * spending a 429. */
static void note_ratelimit(gj_call *k)
{
    double remaining, reset;
    if (gj_header_int(&k->res, "ratelimit-remaining", &remaining) && remaining == 0 &&
        gj_header_int(&k->res, "ratelimit-reset", &reset))
        k->client->ratelimit_until = reset < 1e9 ? wall_now() + reset : reset;
}

/* Resets a call's answer for one more try. */
static void begin_attempt(lua_State *L, gj_call *k)
{
    k->attempts++;
    gj_buf_reset(&k->res.head);
    gj_buf_reset(&k->res.body);
    k->res.status = 0;
    k->L = L;
    k->skipping = k->kind == R_TRACE;
    k->skip = k->offset + k->delivered; /* a retried stream goes on where it stopped */
    k->too_big = 0;
}

enum { STEP_DONE, STEP_AGAIN, STEP_WAIT };

/* After a try: done, again at once (a redirect), or again after *wait. */
static int decide(lua_State *L, gj_call *k, const gj_outcome *o, double *wait)
{
    gj_client *c = k->client;
    int post = strcmp(k->req.method, "POST") == 0;
    if (k->too_big)
        return STEP_DONE;
    if (o->ok) {
        note_ratelimit(k);
        if (!post && is_redirect(k->res.status) && k->hops < 10 && follow(L, k) == 0) {
            k->hops++;
            k->attempts--; /* a hop is not a retry */
            return STEP_AGAIN;
        }
        if (retryable_status(k->res.status, post) && k->attempts <= c->retry_max) {
            *wait = -1;
            if (k->res.status == 429 || k->res.status == 503)
                *wait = gj_retry_after(&k->res, wall_now());
            if (*wait < 0)
                *wait = backoff(c, k->attempts);
            return STEP_WAIT;
        }
        return STEP_DONE;
    }
    if (k->attempts <= c->retry_max && (!post || !o->sent) && !o->permanent) {
        *wait = backoff(c, k->attempts);
        return STEP_WAIT;
    }
    return STEP_DONE;
}

/* Pushes what a finished call returns: (value [, page]) or (nil, err). */
static int push_result(lua_State *L, gj_call *k, const gj_outcome *o)
{
    gj_errinfo e;
    memset(&e, 0, sizeof e);
    e.method = k->req.method;
    e.path = k->req.path.p;
    e.attempts = k->attempts;
    e.retry_after = -1;
    if (k->too_big) {
        e.kind = "decode";
        lua_pushfstring(L, "response body larger than max_body (%d bytes)", (int)k->client->max_body);
        return gj_push_error(L, &e, NULL, 0);
    }
    if (!o->ok) {
        e.kind = o->kind;
        e.maybe_done = strcmp(k->req.method, "POST") == 0 && o->sent;
        lua_pushstring(L, k->errbuf);
        return gj_push_error(L, &e, NULL, 0);
    }
    if (k->res.status < 200 || k->res.status > 299) {
        if (k->res.status == 429 || k->res.status == 503)
            e.retry_after = gj_retry_after(&k->res, wall_now());
        e.maybe_done = strcmp(k->req.method, "POST") == 0 && k->res.status >= 500;
        return gj_push_http_error(L, &e, &k->res);
    }
    if (k->kind == R_TRACE) {
        if (k->sink || k->sink_ref != LUA_NOREF)
            lua_pushinteger(L, (lua_Integer)k->delivered);
        else
            lua_pushlstring(L, k->res.body.p ? k->res.body.p : "", k->res.body.n);
        return 1;
    }
    if (!gj_push_json(L, k->res.body.p ? k->res.body.p : "", k->res.body.n)) {
        e.kind = "decode";
        return gj_push_error(L, &e, k->res.body.p, k->res.body.n);
    }
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        e.kind = "decode";
        lua_pushstring(L, k->kind == R_LIST ? "expected a JSON array in the response"
                                            : "expected a JSON object in the response");
        return gj_push_error(L, &e, k->res.body.p, k->res.body.n);
    }
    if (k->kind == R_LIST) {
        gj_push_page(L, &k->res);
        return 2;
    }
    return 1;
}

/* Sends the blocking request built in k, with retries and redirects. */
static int run(lua_State *L, gj_client *c, gj_call *k)
{
    gj_outcome o;
    double wait = 0;
    int tix;

    push_uservalue_field(L, 1, "transport");
    tix = lua_gettop(L);
    set_headers(k);
    k->attempts = 0;
    k->hops = 0;
    k->delivered = 0;
    for (;;) {
        double now = wall_now();
        if (c->ratelimit_until > now) {
            wait = c->ratelimit_until - now;
            c->ratelimit_until = 0;
            client_sleep(L, wait);
        }
        begin_attempt(L, k);
        c->busy = 1;
        if (lua_type(L, tix) == LUA_TFUNCTION) {
            if (perform_lua(L, k, tix, &o)) {
                c->busy = 0;
                return lua_error(L);
            }
        } else {
            gj_curl_perform(k, &o);
        }
        c->busy = 0;
        if (k->err_ref != LUA_NOREF)
            return raise_sink_error(L, k);
        switch (decide(L, k, &o, &wait)) {
        case STEP_AGAIN:
            continue;
        case STEP_WAIT:
            client_sleep(L, wait);
            continue;
        default:
            return push_result(L, k, &o);
        }
    }
}

static void cancel_call(lua_State *L, gj_call *k);

static void release(lua_State *L, gj_client *c)
{
    while (c->calls)
        cancel_call(L, c->calls);
    gj_multi_close(c);
    call_free(&c->sync);
    free(c->base);
    c->base = NULL;
    free_secret(&c->token);
    free_secret(&c->job_token);
    free_secret(&c->oauth_token);
    free(c->user_agent);
    c->user_agent = NULL;
    free(c->ca_file);
    c->ca_file = NULL;
}

/* Where a call's arguments are built: a call being started, else the
 * client's own. */
static gj_call *cur(gj_client *c)
{
    return c->building ? c->building : &c->sync;
}

/* Runs the request built in k, or, for start(), keeps what it needs. */
static int finish(lua_State *L, gj_client *c, gj_call *k, int kind, int auth, size_t offset, int sink)
{
    int n;
    k->kind = kind;
    k->auth = auth;
    k->offset = offset;
    if (k == c->building) {
        if (sink) {
            lua_pushvalue(L, sink);
            k->sink_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        }
        return 0;
    }
    k->sink = sink;
    n = run(L, c, k);
    k->sink = 0;
    if (c->closed) /* its sink closed it */
        release(L, c);
    return n;
}

/* ---- the calls ---- */

static const char *const LIST_OPTS[] = {"scope", "page", "per_page", "pagination", "next_url", NULL};
static const char *const PIPELINE_OPTS[] = {"scope", "page", "per_page", "include_retried", "next_url", NULL};
static const char *const BRIDGE_OPTS[] = {"scope", "page", "per_page", "next_url", NULL};
static const char *const TRACE_OPTS[] = {"sink", "offset", NULL};
static const char *const PLAY_OPTS[] = {"variables", NULL};

/* page, per_page, include_retried and pagination, as the call allows. */
static void list_query(lua_State *L, gj_call *k, int arg)
{
    int t;
    query_scope(L, k, arg);
    if (opt_field(L, arg, "page") != LUA_TNIL)
        query_int(L, k, "page", check_id_at(L, lua_gettop(L), arg, "page"));
    lua_pop(L, 1);
    if (opt_field(L, arg, "per_page") != LUA_TNIL) {
        lua_Integer v = check_id_at(L, lua_gettop(L), arg, "per_page");
        if (v > 100)
            luaL_argerror(L, arg, "per_page: must be between 1 and 100");
        query_int(L, k, "per_page", v);
    }
    lua_pop(L, 1);
    t = opt_field(L, arg, "include_retried");
    if (t == LUA_TBOOLEAN)
        query(L, k, "include_retried", lua_toboolean(L, -1) ? "true" : "false");
    else if (t != LUA_TNIL) {
        lua_replace(L, arg);
        argerr(L, arg, "include_retried", "boolean");
    }
    lua_pop(L, 1);
    t = opt_field(L, arg, "pagination");
    if (t != LUA_TNIL) {
        if (t != LUA_TSTRING || strcmp(lua_tostring(L, -1), "keyset") != 0) {
            lua_replace(L, arg);
            argerr(L, arg, "pagination", "\"keyset\"");
        }
        query(L, k, "pagination", "keyset");
    }
    lua_pop(L, 1);
}

/* Options that may not stand beside next_url: it already carries them. */
static void check_next_url_alone(lua_State *L, int arg)
{
    static const char *const others[] = {"scope", "page", "per_page", "include_retried", "pagination", NULL};
    int i;
    for (i = 0; others[i]; i++) {
        if (opt_field(L, arg, others[i]) != LUA_TNIL)
            luaL_argerror(L, arg, lua_pushfstring(L, "next_url: cannot be combined with '%s' (the URL carries it)", others[i]));
        lua_pop(L, 1);
    }
}

static int l_list(lua_State *L)
{
    gj_client *c = check_client(L);
    gj_call *k = cur(c);
    check_project(L, 2);
    check_options(L, 3, LIST_OPTS);
    if (begin_url(L, k, 3)) {
        check_next_url_alone(L, 3);
    } else {
        begin(L, k, "GET");
        path_project(L, k, 2);
        path_lit(L, k, "/jobs");
        list_query(L, k, 3);
    }
    return finish(L, c, k, R_LIST, same_origin(c, k->req.url.p) ? GJ_AUTH_DEFAULT : GJ_AUTH_NONE, 0, 0);
}

static int pipeline_list(lua_State *L, const char *const opts[], const char *what)
{
    gj_client *c = check_client(L);
    gj_call *k = cur(c);
    lua_Integer pid;
    check_project(L, 2);
    pid = check_id(L, 3, "pipeline_id");
    check_options(L, 4, opts);
    if (begin_url(L, k, 4)) {
        check_next_url_alone(L, 4);
    } else {
        begin(L, k, "GET");
        path_project(L, k, 2);
        path_lit(L, k, "/pipelines");
        path_int(L, k, pid);
        path_lit(L, k, what);
        list_query(L, k, 4);
    }
    return finish(L, c, k, R_LIST, same_origin(c, k->req.url.p) ? GJ_AUTH_DEFAULT : GJ_AUTH_NONE, 0, 0);
}

static int l_pipeline_jobs(lua_State *L)
{
    return pipeline_list(L, PIPELINE_OPTS, "/jobs");
}

static int l_bridges(lua_State *L)
{
    return pipeline_list(L, BRIDGE_OPTS, "/bridges");
}

/* "/projects/:id/jobs/:job_id[suffix]" */
static gj_call *job_request(lua_State *L, const char *method, const char *suffix)
{
    gj_client *c = check_client(L);
    gj_call *k = cur(c);
    lua_Integer id;
    check_project(L, 2);
    id = check_id(L, 3, "job_id");
    begin(L, k, method);
    path_project(L, k, 2);
    path_lit(L, k, "/jobs");
    path_int(L, k, id);
    if (suffix)
        path_lit(L, k, suffix);
    return k;
}

static int l_get(lua_State *L)
{
    gj_call *k = job_request(L, "GET", NULL);
    gj_client *c = k->client;
    return finish(L, c, k, R_OBJECT, GJ_AUTH_DEFAULT, 0, 0);
}

static int action(lua_State *L, const char *suffix)
{
    gj_call *k = job_request(L, "POST", suffix);
    gj_client *c = k->client;
    return finish(L, c, k, R_OBJECT, GJ_AUTH_DEFAULT, 0, 0);
}

static int l_cancel(lua_State *L) { return action(L, "/cancel"); }
static int l_retry(lua_State *L) { return action(L, "/retry"); }
static int l_erase(lua_State *L) { return action(L, "/erase"); }

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* play's variables, in either form, as {"job_variables_attributes": [...]} */
static void play_body(lua_State *L, gj_call *k, int arg)
{
    int v, t = opt_field(L, arg, "variables");
    size_t i, n, count = 0;
    gj_buf *b = &k->req.body;
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    v = lua_gettop(L);
    if (t != LUA_TTABLE) {
        lua_replace(L, arg);
        argerr(L, arg, "variables", "table");
    }
    n = lua_rawlen(L, v);
    lua_pushnil(L);
    while (lua_next(L, v)) {
        count++;
        if (n > 0) { /* the array form: {{key = "K", value = "V"}, ...} */
            if (lua_type(L, -2) != LUA_TNUMBER || lua_type(L, -1) != LUA_TTABLE)
                luaL_argerror(L, arg, "variables: use either {NAME = \"value\"} or {{key = \"NAME\", value = \"value\"}}, not both");
            lua_getfield(L, -1, "key");
            if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
                luaL_argerror(L, arg, lua_pushfstring(L, "variables[%d].key: non-empty string expected, got %s",
                                                      (int)lua_tonumber(L, -3), luaL_typename(L, -1)));
            lua_getfield(L, -2, "value");
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, arg, lua_pushfstring(L, "variables[%d].value: string expected, got %s",
                                                      (int)lua_tonumber(L, -4), luaL_typename(L, -1)));
            lua_pop(L, 2);
        } else {
            if (lua_type(L, -2) != LUA_TSTRING || lua_rawlen(L, -2) == 0)
                luaL_argerror(L, arg, lua_pushfstring(L, "variables: names must be non-empty strings, got %s",
                                                      luaL_typename(L, -2)));
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_argerror(L, arg, lua_pushfstring(L, "variables.%s: string expected, got %s",
                                                      lua_tostring(L, -2), luaL_typename(L, -1)));
        }
        lua_pop(L, 1);
    }
    if (n > 0 && count != n)
        luaL_argerror(L, arg, "variables: use either {NAME = \"value\"} or {{key = \"NAME\", value = \"value\"}}, not both");
    if (count == 0) {
        lua_pop(L, 1);
        return;
    }
    if (gj_buf_adds(b, "{\"job_variables_attributes\":["))
        oom(L);
    if (n > 0) {
        for (i = 1; i <= n; i++) {
            size_t kl, vl;
            const char *key, *val;
            lua_rawgeti(L, v, (int)i);
            lua_getfield(L, -1, "key");
            lua_getfield(L, -2, "value");
            key = lua_tolstring(L, -2, &kl);
            val = lua_tolstring(L, -1, &vl);
            if ((i > 1 && gj_buf_addc(b, ',')) || gj_buf_adds(b, "{\"key\":") || gj_json_string(b, key, kl) ||
                gj_buf_adds(b, ",\"value\":") || gj_json_string(b, val, vl) || gj_buf_addc(b, '}'))
                oom(L);
            lua_pop(L, 3);
        }
    } else {
        /* the map form, sorted by name so the body does not depend on hashing */
        const char **names = (const char **)lua_newuserdata(L, count * sizeof(char *));
        i = 0;
        lua_pushnil(L);
        while (lua_next(L, v)) {
            names[i++] = lua_tostring(L, -2); /* anchored by the table */
            lua_pop(L, 1);
        }
        qsort(names, count, sizeof(char *), cmp_str);
        for (i = 0; i < count; i++) {
            size_t vl;
            const char *val;
            lua_getfield(L, v, names[i]);
            val = lua_tolstring(L, -1, &vl);
            if ((i > 0 && gj_buf_addc(b, ',')) || gj_buf_adds(b, "{\"key\":") ||
                gj_json_string(b, names[i], strlen(names[i])) || gj_buf_adds(b, ",\"value\":") ||
                gj_json_string(b, val, vl) || gj_buf_addc(b, '}'))
                oom(L);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    add(L, b, "]}", 2);
    k->req.has_body = 1;
    lua_pop(L, 1);
}

static int l_play(lua_State *L)
{
    gj_client *c = check_client(L);
    gj_call *k;
    check_options(L, 4, PLAY_OPTS);
    k = job_request(L, "POST", "/play");
    play_body(L, k, 4);
    return finish(L, c, k, R_OBJECT, GJ_AUTH_DEFAULT, 0, 0);
}

static int l_trace(lua_State *L)
{
    gj_client *c = check_client(L);
    gj_call *k;
    size_t offset = 0;
    int sink = 0, t;
    check_options(L, 4, TRACE_OPTS);
    k = job_request(L, "GET", "/trace");
    t = opt_field(L, 4, "sink");
    if (t == LUA_TFUNCTION) {
        sink = lua_gettop(L); /* stays on the stack for the whole run */
    } else if (t != LUA_TNIL) {
        lua_replace(L, 4);
        argerr(L, 4, "sink", "function");
    } else {
        lua_pop(L, 1);
    }
    if (opt_field(L, 4, "offset") != LUA_TNIL) {
        int o = lua_gettop(L);
        if (lua_type(L, o) == LUA_TNUMBER && lua_tonumber(L, o) == 0)
            offset = 0;
        else
            offset = (size_t)check_id_at(L, o, 4, "offset");
    }
    lua_pop(L, 1);
    return finish(L, c, k, R_TRACE, GJ_AUTH_DEFAULT, offset, sink);
}

static int job_token_call(lua_State *L, const char *path)
{
    gj_client *c = check_client(L);
    gj_call *k = cur(c);
    if (c->job_token == NULL)
        luaL_error(L, "gitlab.jobs: %s needs a job token (job_token option or $CI_JOB_TOKEN)", path);
    begin(L, k, "GET");
    path_lit(L, k, path);
    return finish(L, c, k, R_OBJECT, GJ_AUTH_JOB, 0, 0);
}

static int l_job(lua_State *L)
{
    return job_token_call(L, "/job");
}

static int l_allowed_agents(lua_State *L)
{
    return job_token_call(L, "/job/allowed_agents");
}

/* ---- calls begun with start() and moved on by poll() ---- */

/* The client's uservalue holds calls[k] = handle while a call runs, so a
 * running call is not collected and a forgotten client is. */
static void track(lua_State *L, int cidx, gj_call *k, int hidx)
{
    gj_getuservalue(L, cidx);
    lua_getfield(L, -1, "calls");
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "calls");
    }
    lua_pushlightuserdata(L, k);
    lua_pushvalue(L, hidx);
    lua_rawset(L, -3);
    lua_pop(L, 2);
}

/* Pushes the call's handle (or nil) and forgets it. */
static void untrack(lua_State *L, int cidx, gj_call *k)
{
    gj_getuservalue(L, cidx);
    lua_getfield(L, -1, "calls");
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 2);
        lua_pushnil(L);
        return;
    }
    lua_pushlightuserdata(L, k);
    lua_rawget(L, -2);
    lua_pushlightuserdata(L, k);
    lua_pushnil(L);
    lua_rawset(L, -4);
    lua_replace(L, -3);
    lua_pop(L, 1);
}

static void link_call(gj_client *c, gj_call *k)
{
    k->prev = NULL;
    k->next = c->calls;
    if (c->calls)
        c->calls->prev = k;
    c->calls = k;
}

static void unlink_call(gj_client *c, gj_call *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else if (c->calls == k)
        c->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->next = k->prev = NULL;
}

/* Stops a started call for good; its callback never runs. The client is at
 * stack index cidx. */
static void drop_call(lua_State *L, int cidx, gj_call *k)
{
    gj_client *c = k->client;
    if (k->state == CALL_ACTIVE)
        gj_multi_remove(c, k);
    unlink_call(c, k);
    k->state = CALL_DONE;
    unref(L, &k->cb_ref);
    unref(L, &k->sink_ref);
    unref(L, &k->err_ref);
    untrack(L, cidx, k);
    lua_pop(L, 1);
}

static void cancel_call(lua_State *L, gj_call *k)
{
    drop_call(L, 1, k);
}

/* A call ended: its callback gets (value [, page]) or (nil, err). */
static void complete(lua_State *L, gj_call *k, const gj_outcome *o)
{
    gj_client *c = k->client;
    int n, rc;
    unlink_call(c, k);
    k->state = CALL_DONE;
    untrack(L, 1, k); /* the handle stays on the stack while k is used */
    if (k->err_ref != LUA_NOREF) {
        unref(L, &k->cb_ref);
        unref(L, &k->sink_ref);
        c->polling = 0;
        raise_sink_error(L, k);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, k->cb_ref);
    unref(L, &k->cb_ref);
    n = push_result(L, k, o);
    unref(L, &k->sink_ref);
    rc = lua_pcall(L, n, 0, 0);
    if (rc != LUA_OK) {
        c->polling = 0;
        lua_error(L);
    }
    lua_pop(L, 1);
}

/* After one try of a started call. */
static void step(lua_State *L, gj_call *k, const gj_outcome *o)
{
    double wait = 0;
    if (k->err_ref == LUA_NOREF) {
        switch (decide(L, k, o, &wait)) {
        case STEP_AGAIN:
            k->state = CALL_QUEUED;
            k->due = 0;
            return;
        case STEP_WAIT:
            k->state = CALL_QUEUED;
            k->due = mono_now() + wait;
            return;
        default:
            break;
        }
    }
    complete(L, k, o);
}

/* Sends every queued call whose time has come. A callback may start or
 * cancel calls, so the list is walked afresh after each one. */
static void launch_due(lua_State *L, gj_client *c, int tix)
{
    for (;;) {
        gj_call *k;
        gj_outcome o;
        double now = mono_now(), wall = wall_now();
        for (k = c->calls; k; k = k->next)
            if (k->state == CALL_QUEUED && k->due <= now)
                break;
        if (k == NULL || c->closed)
            return;
        if (c->ratelimit_until > wall) {
            /* RateLimit-Remaining: 0 was seen: hold every call until the reset */
            for (k = c->calls; k; k = k->next)
                if (k->state == CALL_QUEUED && k->due < now + (c->ratelimit_until - wall))
                    k->due = now + (c->ratelimit_until - wall);
            return;
        }
        begin_attempt(L, k);
        k->state = CALL_ACTIVE;
        if (lua_type(L, tix) == LUA_TFUNCTION) {
            int rc;
            c->busy = 1;
            rc = perform_lua(L, k, tix, &o);
            c->busy = 0;
            if (rc) {
                c->polling = 0;
                drop_call(L, 1, k);
                lua_error(L);
            }
            step(L, k, &o);
        } else if (gj_multi_add(c, k, &o)) {
            k->state = CALL_QUEUED; /* never added: nothing to remove */
            step(L, k, &o);
        }
    }
}

static int l_poll(lua_State *L)
{
    gj_client *c = check_client(L);
    double timeout = luaL_optnumber(L, 2, 0), deadline;
    int tix, count = 0;
    gj_call *k;
    if (!(timeout >= 0))
        return luaL_argerror(L, 2, "timeout: non-negative number of seconds expected");
    if (c->polling)
        return luaL_error(L, "gitlab.jobs: poll is already running (called from a callback?)");
    lua_settop(L, 2);
    push_uservalue_field(L, 1, "transport");
    tix = 3;
    deadline = mono_now() + timeout;
    c->polling = 1;
    for (;;) {
        gj_outcome o;
        double now, wait, due = -1;
        int active = 0;
        launch_due(L, c, tix);
        if (c->calls == NULL || c->closed)
            break;
        now = mono_now();
        wait = deadline - now;
        for (k = c->calls; k; k = k->next) {
            if (k->state == CALL_ACTIVE) {
                active = 1;
                k->L = L; /* a sink runs on the thread that polls */
            } else if (due < 0 || k->due < due) {
                due = k->due;
            }
        }
        if (due >= 0 && due - now < wait)
            wait = due - now;
        if (wait < 0)
            wait = 0;
        if (active)
            gj_multi_run(c, wait);
        else
            c_sleep(wait);
        while (!c->closed && (k = gj_multi_next_done(c, &o)) != NULL)
            step(L, k, &o);
        if (c->closed || mono_now() >= deadline)
            break;
    }
    c->polling = 0;
    for (k = c->calls; k; k = k->next)
        count++;
    lua_pushinteger(L, count);
    return 1;
}

static int l_call_cancel(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    int running = k->state != CALL_DONE;
    if (running) {
        lua_settop(L, 1);
        gj_getuservalue(L, 1);
        lua_rawgeti(L, -1, 1); /* the client */
        drop_call(L, lua_gettop(L), k);
    }
    lua_pushboolean(L, running);
    return 1;
}

static int l_call_gc(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    if (k->state != CALL_DONE) {
        /* collected with its client, whose __gc has not run yet */
        if (k->state == CALL_ACTIVE)
            gj_multi_remove(k->client, k);
        unlink_call(k->client, k);
        k->state = CALL_DONE;
        unref(L, &k->cb_ref);
        unref(L, &k->sink_ref);
        unref(L, &k->err_ref);
    }
    call_free(k);
    return 0;
}

static int l_call_tostring(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    lua_pushfstring(L, "gitlab.jobs.call (%s %s, %s): %p", k->req.method ? k->req.method : "?",
                    k->req.path.p ? k->req.path.p : "", k->state == CALL_DONE ? "done" : "running",
                    (void *)k);
    return 1;
}

static const luaL_Reg callable[] = {
    {"list", l_list},
    {"pipeline_jobs", l_pipeline_jobs},
    {"bridges", l_bridges},
    {"get", l_get},
    {"job", l_job},
    {"allowed_agents", l_allowed_agents},
    {"trace", l_trace},
    {"cancel", l_cancel},
    {"retry", l_retry},
    {"erase", l_erase},
    {"play", l_play},
    {NULL, NULL}};

/* The builder's "bad argument #n to '?'" told as the user's call: the
 * argument's number less shift, and the name the user called. */
typedef struct blame {
    int shift;              /* the user's argument number is the builder's less shift */
    const char *shown;      /* the function the user called */
    int arg;                /* > 0: every complaint is about this argument, */
    const char *prefix;     /* and starts with this */
} blame;

static void fix_argerror(lua_State *L, const blame *b)
{
    const char *msg = lua_tostring(L, -1), *paren;
    int n;
    if (msg == NULL || sscanf(msg, "bad argument #%d", &n) != 1)
        return;
    paren = strstr(msg, "' (");
    if (paren == NULL)
        return;
    if (b->arg > 0)
        lua_pushfstring(L, "bad argument #%d to '%s' (%s%s", b->arg, b->shown, b->prefix, paren + 3);
    else
        lua_pushfstring(L, "bad argument #%d to '%s'%s", n - b->shift, b->shown, paren + 1);
    lua_replace(L, -2);
}

/* Builds the call named at index m, with the arguments m+1 .. last, into a
 * handle of its own, pushed on the stack. The call's own function checks
 * the arguments; its error is raised as the user's call would raise it. */
static gj_call *build_call(lua_State *L, gj_client *c, int m, int last, const blame *b)
{
    const char *name = luaL_checkstring(L, m);
    lua_CFunction fn = NULL;
    gj_call *k;
    int i, rc;
    for (i = 0; callable[i].name; i++)
        if (strcmp(name, callable[i].name) == 0)
            fn = callable[i].func;
    if (fn == NULL)
        luaL_argerror(L, m, lua_pushfstring(L, "method: no call named '%s'", name));
    k = (gj_call *)lua_newuserdatauv(L, sizeof *k, 1);
    call_init(k, c);
    luaL_getmetatable(L, GJ_CALL_MT);
    lua_setmetatable(L, -2);
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    gj_setuservalue(L, -2);
    if (gj_curl_open(k))
        oom(L);
    c->building = k;
    lua_pushcfunction(L, fn);
    lua_pushvalue(L, 1);
    for (i = m + 1; i <= last; i++)
        lua_pushvalue(L, i);
    rc = lua_pcall(L, last - m + 1, 0, 0);
    c->building = NULL;
    if (rc != LUA_OK) {
        blame named = *b;
        if (named.shown == NULL)
            named.shown = name;
        fix_argerror(L, &named);
        lua_error(L);
    }
    set_headers(k);
    k->attempts = k->hops = 0;
    k->delivered = 0;
    return k;
}

/* client:start(method, ..., callback): the request is built now, into a
 * call of its own, and sent by poll. */
static int l_start(lua_State *L)
{
    gj_client *c = check_client(L);
    int top = lua_gettop(L);
    gj_call *k;
    luaL_checkstring(L, 2);
    if (top < 3 || lua_type(L, top) != LUA_TFUNCTION)
        return luaL_argerror(L, top < 3 ? 3 : top, "callback: function expected as the last argument");
    blame b = {0, "start", 0, NULL};
    k = build_call(L, c, 2, top - 1, &b);
    lua_pushvalue(L, top);
    k->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    k->state = CALL_QUEUED;
    k->due = 0;
    link_call(c, k);
    track(L, 1, k, top + 1);
    lua_settop(L, top + 1);
    return 1;
}

/* ---- calls driven from Lua, for clients with a Lua transport ----
 * The transport is then called by Lua code (lua/gitlab/jobs.lua), never from
 * C, so a host's transport may yield (OpenResty's and HAProxy's sockets do):
 *   h = client:_begin(method, ...)
 *   repeat req, wait = h:_request(); res, msg = transport(req)
 *          step, secs = h:_response(res, msg) until step == "done"
 *   return h:_result() */

static int l_begin(lua_State *L)
{
    gj_client *c = check_client(L);
    blame b = {1, NULL, 0, NULL};
    build_call(L, c, 2, lua_gettop(L), &b);
    return 1;
}

/* The request of the next try, or nil and how long to wait first. */
static int l_call_request(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    gj_client *c = k->client;
    double wall = wall_now();
    if (c->closed)
        return luaL_error(L, "gitlab.jobs: the client is closed");
    if (c->ratelimit_until > wall) {
        lua_pushnil(L);
        lua_pushnumber(L, c->ratelimit_until - wall);
        c->ratelimit_until = 0;
        return 2;
    }
    begin_attempt(L, k);
    push_req_table(L, k);
    return 1;
}

/* Takes the transport's (res) or (nil, msg): "done", "again", or "wait"
 * and the seconds to wait before the next try. */
static int l_call_response(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    double wait = 0;
    lua_settop(L, 3);
    k->L = L;
    read_res_table(L, k, 2, &k->out);
    if (k->err_ref != LUA_NOREF)
        return raise_sink_error(L, k);
    switch (decide(L, k, &k->out, &wait)) {
    case STEP_AGAIN:
        lua_pushliteral(L, "again");
        return 1;
    case STEP_WAIT:
        lua_pushliteral(L, "wait");
        lua_pushnumber(L, wait);
        return 2;
    default:
        lua_pushliteral(L, "done");
        return 1;
    }
}

static int l_call_result(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    int n = push_result(L, k, &k->out);
    unref(L, &k->sink_ref);
    return n;
}

/* core.hook(client, name): the client's transport, sleep or clock option. */
static int l_hook(lua_State *L)
{
    to_client(L, 1);
    luaL_checkstring(L, 2);
    push_uservalue_field(L, 1, lua_tostring(L, 2));
    return 1;
}

/* client:sleep(seconds) and client:now(): how this client waits and
 * tells time, for helpers and hosts that want to wait the same way. */
static int l_client_sleep(lua_State *L)
{
    lua_Number s;
    to_client(L, 1);
    s = luaL_checknumber(L, 2);
    lua_settop(L, 2);
    client_sleep(L, s);
    return 0;
}

static int l_client_now(lua_State *L)
{
    to_client(L, 1);
    push_uservalue_field(L, 1, "clock");
    if (lua_type(L, -1) == LUA_TNIL) {
        lua_pushnumber(L, mono_now());
        return 1;
    }
    lua_call(L, 0, 1);
    return 1;
}

static int l_close(lua_State *L)
{
    gj_client *c = to_client(L, 1);
    lua_settop(L, 1);
    if (!c->closed) {
        c->closed = 1;
        if (!c->busy) /* else the request under way frees it when it ends */
            release(L, c);
    }
    return 0;
}

/* __gc: also reached for a client closed by its own sink whose request then
 * raised; release is idempotent. */
static int l_gc(lua_State *L)
{
    gj_client *c = to_client(L, 1);
    lua_settop(L, 1);
    c->closed = 1;
    if (!c->busy)
        release(L, c);
    return 0;
}

static int l_tostring(lua_State *L)
{
    gj_client *c = to_client(L, 1);
    if (c->closed)
        lua_pushfstring(L, "gitlab.jobs.client (closed): %p", (void *)c);
    else
        lua_pushfstring(L, "gitlab.jobs.client (%s): %p", c->base, (void *)c);
    return 1;
}

/* ---- gitlab.new ---- */

static const char *const NEW_OPTS[] = {
    "url", "token", "job_token", "oauth_token", "timeout", "connect_timeout",
    "retries", "verify_tls", "ca_file", "user_agent", "transport", "sleep",
    "clock", "max_body", NULL};

/* A string option; false means none (and no environment default). */
static const char *str_opt(lua_State *L, const char *name, const char *env)
{
    int t = opt_field(L, 1, name);
    const char *s;
    lua_pop(L, 1);
    if (t == LUA_TSTRING) {
        lua_getfield(L, 1, name);
        s = lua_tostring(L, -1);
        lua_pop(L, 1); /* anchored in the options table */
        return *s ? s : NULL;
    }
    if (t == LUA_TBOOLEAN) {
        lua_getfield(L, 1, name);
        t = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!t)
            return NULL;
    } else if (t != LUA_TNIL) {
        lua_getfield(L, 1, name);
        lua_replace(L, 1);
        argerr(L, 1, name, "string");
    }
    if (env) {
        s = getenv(env);
        return s && *s ? s : NULL;
    }
    return NULL;
}

static double num_opt(lua_State *L, const char *name, double def, double min)
{
    int t = opt_field(L, 1, name);
    double d = def;
    if (t == LUA_TNUMBER) {
        d = lua_tonumber(L, -1);
        if (!(d >= min) || d > 1e9) {
            lua_replace(L, 1);
            argerr(L, 1, name, min > 0 ? "positive number" : "non-negative number");
        }
    } else if (t != LUA_TNIL) {
        lua_replace(L, 1);
        argerr(L, 1, name, "number");
    }
    lua_pop(L, 1);
    return d;
}

static void retries_opt(lua_State *L, gj_client *c)
{
    static const char *const keys[] = {"max", "base_delay", "max_delay", NULL};
    int t = opt_field(L, 1, "retries"), r = lua_gettop(L), i;
    c->retry_max = 3;
    c->base_delay = 0.5;
    c->max_delay = 30;
    if (t == LUA_TBOOLEAN && !lua_toboolean(L, r)) {
        c->retry_max = 0;
    } else if (t == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, r)) {
            int known = 0;
            if (lua_type(L, -2) == LUA_TSTRING)
                for (i = 0; keys[i]; i++)
                    known |= strcmp(lua_tostring(L, -2), keys[i]) == 0;
            if (!known)
                luaL_argerror(L, 1, lua_pushfstring(L, "retries: unknown option '%s'", lua_tostring(L, -2)));
            if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) >= 0) || lua_tonumber(L, -1) > 1e9)
                luaL_argerror(L, 1, lua_pushfstring(L, "retries.%s: non-negative number expected", lua_tostring(L, -2)));
            lua_pop(L, 1);
        }
        lua_getfield(L, r, "max");
        if (!lua_isnil(L, -1)) {
            lua_Number m = lua_tonumber(L, -1);
            if (m != floor(m) || m > 100)
                luaL_argerror(L, 1, "retries.max: integer between 0 and 100 expected");
            c->retry_max = (int)m;
        }
        lua_getfield(L, r, "base_delay");
        if (!lua_isnil(L, -1))
            c->base_delay = lua_tonumber(L, -1);
        lua_getfield(L, r, "max_delay");
        if (!lua_isnil(L, -1))
            c->max_delay = lua_tonumber(L, -1);
        lua_pop(L, 3);
    } else if (t != LUA_TNIL) {
        lua_replace(L, 1);
        argerr(L, 1, "retries", "table or false");
    }
    lua_pop(L, 1);
}

static int l_new(lua_State *L)
{
    gj_client *c, tmp;
    const char *url, *token, *job_token, *oauth, *ua, *ca;
    size_t ulen;
    int i, t;
    static const char *const fns[] = {"transport", "sleep", "clock", NULL};

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    check_options(L, 1, NEW_OPTS);
    lua_settop(L, 1);

    /* every check first, so that nothing is allocated before a raise */
    memset(&tmp, 0, sizeof tmp);
    url = str_opt(L, "url", "GITLAB_URL");
    if (url == NULL && (t = opt_field(L, 1, "url"), lua_pop(L, 1), t == LUA_TNIL))
        url = getenv("CI_SERVER_URL");
    if (url == NULL || *url == '\0')
        return luaL_argerror(L, 1, "url: no GitLab URL given (url option, $GITLAB_URL or $CI_SERVER_URL)");
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return luaL_argerror(L, 1, lua_pushfstring(L, "url: http:// or https:// URL expected, got '%s'", url));
    token = str_opt(L, "token", "GITLAB_TOKEN");
    job_token = str_opt(L, "job_token", "CI_JOB_TOKEN");
    oauth = str_opt(L, "oauth_token", NULL);
    ua = str_opt(L, "user_agent", NULL);
    ca = str_opt(L, "ca_file", NULL);
    tmp.timeout_ms = (long)(num_opt(L, "timeout", 30, 0) * 1000);
    tmp.connect_timeout_ms = (long)(num_opt(L, "connect_timeout", 10, 0) * 1000);
    tmp.max_body = (size_t)num_opt(L, "max_body", 64.0 * 1024 * 1024, 1);
    tmp.verify_tls = 1;
    t = opt_field(L, 1, "verify_tls");
    if (t == LUA_TBOOLEAN)
        tmp.verify_tls = lua_toboolean(L, -1);
    else if (t != LUA_TNIL) {
        lua_replace(L, 1);
        argerr(L, 1, "verify_tls", "boolean");
    }
    lua_pop(L, 1);
    retries_opt(L, &tmp);
    for (i = 0; fns[i]; i++) {
        t = opt_field(L, 1, fns[i]);
        if (t != LUA_TNIL && t != LUA_TFUNCTION) {
            lua_replace(L, 1);
            argerr(L, 1, fns[i], "function");
        }
        lua_pop(L, 1);
    }
    if (gj_curl_global())
        return luaL_error(L, "gitlab.jobs: libcurl failed to initialise");

    /* the userdata starts closed: a failure below leaves nothing to leak */
    c = (gj_client *)lua_newuserdatauv(L, sizeof *c, 1);
    memset(c, 0, sizeof *c);
    c->closed = 1;
    call_init(&c->sync, c);
    t = opt_field(L, 1, "transport");
    lua_pop(L, 1);
    luaL_getmetatable(L, t == LUA_TFUNCTION ? GJ_TCLIENT_MT : GJ_CLIENT_MT);
    lua_setmetatable(L, -2);
    lua_createtable(L, 0, 3);
    for (i = 0; fns[i]; i++) {
        lua_getfield(L, 1, fns[i]);
        lua_setfield(L, -2, fns[i]);
    }
    gj_setuservalue(L, -2);

    c->timeout_ms = tmp.timeout_ms;
    c->connect_timeout_ms = tmp.connect_timeout_ms;
    c->max_body = tmp.max_body;
    c->verify_tls = tmp.verify_tls;
    c->retry_max = tmp.retry_max;
    c->base_delay = tmp.base_delay;
    c->max_delay = tmp.max_delay;
    c->rng = (unsigned long)time(NULL) ^ (unsigned long)(size_t)c ^ 0x9e3779b9UL;
    if (c->rng == 0)
        c->rng = 1;

    ulen = strlen(url);
    c->base = (char *)malloc(ulen + 1);
    if (c->base == NULL)
        oom(L);
    memcpy(c->base, url, ulen + 1);
    while (ulen > 0 && c->base[ulen - 1] == '/')
        c->base[--ulen] = '\0';
    /* a CI_API_V4_URL given as url: the client adds /api/v4 itself */
    if (ulen >= 7 && strcmp(c->base + ulen - 7, "/api/v4") == 0) {
        ulen -= 7;
        c->base[ulen] = '\0';
        while (ulen > 0 && c->base[ulen - 1] == '/')
            c->base[--ulen] = '\0';
    }
    c->origin_len = (size_t)origin_len(c->base);
    if ((token && (c->token = dupstr(token)) == NULL) ||
        (job_token && (c->job_token = dupstr(job_token)) == NULL) ||
        (oauth && (c->oauth_token = dupstr(oauth)) == NULL) ||
        (c->user_agent = dupstr(ua ? ua : "gitlab-jobs/" GJ_VERSION)) == NULL ||
        (ca && (c->ca_file = dupstr(ca)) == NULL) || gj_curl_open(&c->sync)) {
        lua_replace(L, 1);
        lua_settop(L, 1);
        release(L, c);
        oom(L);
    }
    c->closed = 0;
    return 1;
}

/* ---- module functions ---- */

/* core.check(client, blame, method, ...): checks a call's arguments as the
 * call itself would, and sends nothing. blame = {name =, shift =}: the
 * complaint names the call's own argument number (project is 1) plus shift;
 * {name =, arg =, prefix =}: every complaint is about that one argument and
 * starts with prefix (batch's "calls[i]: "). */
static int l_check(lua_State *L)
{
    gj_client *c = check_client(L);
    blame b;
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checkstring(L, 3);
    lua_getfield(L, 2, "name");
    b.shown = luaL_optstring(L, -1, "?");
    lua_getfield(L, 2, "shift");
    b.shift = 1 - (int)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "arg");
    b.arg = (int)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "prefix");
    b.prefix = luaL_optstring(L, -1, "");
    lua_pop(L, 4); /* the strings stay anchored in blame */
    lua_pushvalue(L, 1);
    lua_replace(L, 2); /* the builder wants the client, then the method */
    build_call(L, c, 3, lua_gettop(L), &b);
    return 0;
}

/* core.escape(s): s percent-encoded as one path segment, as projects are sent. */
static int l_escape(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    gj_buf b = {NULL, 0, 0};
    if (gj_url_escape(&b, s, n) || gj_buf_add(&b, "", 0)) {
        gj_buf_free(&b);
        oom(L);
    }
    lua_pushlstring(L, b.p, b.n);
    gj_buf_free(&b);
    return 1;
}

/* core.timegm(year, month, day [, hour, min, sec]): seconds since the epoch
 * of a UTC date and time (the fields are not range-checked). */
static int l_timegm(lua_State *L)
{
    int y = (int)luaL_checkinteger(L, 1), m = (int)luaL_checkinteger(L, 2), d = (int)luaL_checkinteger(L, 3);
    lua_Number t = gj_days_from_civil(y, m, d) * 86400.0 + luaL_optnumber(L, 4, 0) * 3600.0 +
                   luaL_optnumber(L, 5, 0) * 60.0 + luaL_optnumber(L, 6, 0);
    if (t == floor(t) && fabs(t) < 9007199254740992.0)
        lua_pushinteger(L, (lua_Integer)t);
    else
        lua_pushnumber(L, t);
    return 1;
}

/* core.backoff(client, n, base_delay, max_delay): the n-th wait of a backoff
 * with jitter (between half and all of base_delay * 2^(n-1), at most max_delay),
 * from the client's own random sequence, as its retries wait. */
static int l_backoff(lua_State *L)
{
    gj_client *c = to_client(L, 1);
    int n = (int)luaL_checkinteger(L, 2);
    double base = luaL_checknumber(L, 3), max = luaL_checknumber(L, 4);
    double saved_base = c->base_delay, saved_max = c->max_delay;
    c->base_delay = base;
    c->max_delay = max;
    lua_pushnumber(L, backoff(c, n < 1 ? 1 : n));
    c->base_delay = saved_base;
    c->max_delay = saved_max;
    return 1;
}

static int l_sleep(lua_State *L)
{
    c_sleep(luaL_checknumber(L, 1));
    return 0;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, mono_now());
    return 1;
}

/* A libcurl client's methods: the calls of callable[], and these. */
static const luaL_Reg methods[] = {
    {"start", l_start},
    {"poll", l_poll},
    {"close", l_close},
    {"sleep", l_client_sleep},
    {"now", l_client_now},
    {NULL, NULL}};

static const luaL_Reg metamethods[] = {
    {"__gc", l_gc},
    {"__close", l_close},
    {"__tostring", l_tostring},
    {NULL, NULL}};

static const luaL_Reg call_methods[] = {
    {"cancel", l_call_cancel},
    {"_request", l_call_request},
    {"_response", l_call_response},
    {"_result", l_call_result},
    {NULL, NULL}};

/* A client with a Lua transport: its calls are added in Lua (the facade). */
static const luaL_Reg transport_methods[] = {
    {"_begin", l_begin},
    {"start", l_start},
    {"poll", l_poll},
    {"close", l_close},
    {"sleep", l_client_sleep},
    {"now", l_client_now},
    {NULL, NULL}};

static const luaL_Reg call_metamethods[] = {
    {"__gc", l_call_gc},
    {"__tostring", l_call_tostring},
    {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"new", l_new},
    {"hook", l_hook},
    {"check", l_check},
    {"escape", l_escape},
    {"timegm", l_timegm},
    {"backoff", l_backoff},
    {"sleep", l_sleep},
    {"now", l_now},
    {NULL, NULL}};

/* The JSON decoder: a private lua-cjson instance, so that the host's cjson
 * settings do not leak in; else the host's vim.json. */
static void open_json(lua_State *L)
{
    int top = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TTABLE) {
        int m = lua_gettop(L);
        lua_getfield(L, m, "new");
        if (lua_type(L, -1) == LUA_TFUNCTION && lua_pcall(L, 0, 1, 0) == LUA_OK &&
            lua_type(L, -1) == LUA_TTABLE) {
            lua_replace(L, m);
        } else {
            lua_settop(L, m);
        }
        lua_getfield(L, m, "decode");
        lua_setfield(L, LUA_REGISTRYINDEX, GJ_REG_DECODE);
        lua_getfield(L, m, "null");
        lua_setfield(L, LUA_REGISTRYINDEX, GJ_REG_NULL);
        lua_settop(L, top);
        return;
    }
    lua_settop(L, top);
    lua_getglobal(L, "vim");
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "json");
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_getfield(L, -1, "decode");
            lua_setfield(L, LUA_REGISTRYINDEX, GJ_REG_DECODE);
            lua_getfield(L, -2, "NIL");
            lua_setfield(L, LUA_REGISTRYINDEX, GJ_REG_NULL);
            lua_settop(L, top);
            return;
        }
    }
    lua_settop(L, top);
    luaL_error(L, "gitlab.jobs.core needs lua-cjson (require \"cjson\") or vim.json");
}

LUALIB_API int luaopen_gitlab_jobs_core(lua_State *L)
{
    int i;
    open_json(L);
    gj_open_error(L);
    if (luaL_newmetatable(L, GJ_CLIENT_MT)) {
        luaL_setfuncs(L, metamethods, 0);
        lua_newtable(L);
        luaL_setfuncs(L, callable, 0);
        luaL_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "gitlab.jobs.client");
        lua_setfield(L, -2, "__name");
    }
    if (luaL_newmetatable(L, GJ_TCLIENT_MT)) {
        luaL_setfuncs(L, metamethods, 0);
        lua_newtable(L);
        luaL_setfuncs(L, transport_methods, 0);
        lua_setfield(L, -2, "__index");
        lua_pushliteral(L, "gitlab.jobs.client");
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, GJ_CALL_MT)) {
        luaL_setfuncs(L, call_metamethods, 0);
        lua_newtable(L);
        luaL_setfuncs(L, call_methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    luaL_setfuncs(L, functions, 0);
    lua_pushliteral(L, GJ_VERSION);
    lua_setfield(L, -2, "VERSION");
    lua_getfield(L, -2, "__index");
    lua_setfield(L, -2, "methods"); /* where the Lua helpers are added */
    luaL_getmetatable(L, GJ_TCLIENT_MT);
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -3, "transport_methods"); /* and the calls driven from Lua */
    lua_pop(L, 1);
    luaL_getmetatable(L, GJ_ERROR_MT);
    lua_setfield(L, -2, "error_mt");
    lua_createtable(L, 13, 0);
    for (i = 0; STATUSES[i]; i++) {
        lua_pushstring(L, STATUSES[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "statuses");
    return 1;
}
