/* The client object and its lifetime. */
#include <string.h>

#include "client.h"
#include "curl_transport.h"
#include "options.h"
#include "util.h"

gj_client *gj_client_to(lua_State *L, int idx)
{
    void *p = luaL_testudata(L, idx, GJ_CLIENT_MT);
    if (p == NULL)
        p = luaL_testudata(L, idx, GJ_TCLIENT_MT);
    if (p == NULL)
        luaL_argerror(L, idx, lua_pushfstring(L, "gitlab.jobs client expected, got %s", luaL_typename(L, idx)));
    return (gj_client *)p;
}

gj_client *gj_client_check(lua_State *L, int idx)
{
    gj_client *c = gj_client_to(L, idx);
    if (c->closed)
        luaL_error(L, "gitlab.jobs: the client is closed");
    if (c->busy)
        luaL_error(L, "gitlab.jobs: the client is busy (called from inside its own sink or transport)");
    return c;
}

void gj_client_hook(lua_State *L, int idx, const char *name)
{
    gj_getuservalue(L, idx);
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, name);
        lua_remove(L, -2);
    } else {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

void gj_client_sleep(lua_State *L, int idx, double s)
{
    if (!(s > 0))
        return;
    gj_client_hook(L, idx, "sleep");
    if (lua_type(L, -1) == LUA_TNIL) {
        lua_pop(L, 1);
        gj_nanosleep(s);
        return;
    }
    lua_pushnumber(L, s);
    lua_call(L, 1, 0);
}

void gj_client_drop(lua_State *L, int idx, gj_call *k)
{
    gj_client *c = k->client;
    if (k->state == GJ_ACTIVE)
        gj_curl_multi_remove(c->multi, k);
    gj_call_unlink(&c->calls, k);
    k->state = GJ_DONE;
    gj_call_release(L, k);
    gj_call_untrack(L, idx, k);
    lua_pop(L, 1);
}

void gj_client_release(lua_State *L, int idx, gj_client *c)
{
    while (c->calls)
        gj_client_drop(L, idx, c->calls);
    gj_curl_multi_free(c->multi);
    c->multi = NULL;
    gj_call_release(L, &c->sync);
    gj_call_free(&c->sync);
    gj_conf_free(&c->conf);
}

int gj_client_new(lua_State *L)
{
    gj_conf conf;
    gj_client *c;
    int i, t;
    static const char *const fns[] = {"transport", "sleep", "clock", NULL};

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    lua_settop(L, 1);
    gj_conf_read(L, &conf); /* every check first: nothing is allocated before a raise */
    if (gj_curl_global())
        return luaL_error(L, "gitlab.jobs: libcurl failed to initialise");

    /* the userdata starts closed: a failure below leaves nothing to leak */
    c = (gj_client *)lua_newuserdatauv(L, sizeof *c, 1);
    memset(c, 0, sizeof *c);
    c->closed = 1;
    gj_call_init(&c->sync, c, &c->conf, &c->budget);
    lua_getfield(L, 1, "transport");
    t = lua_type(L, -1);
    lua_pop(L, 1);
    luaL_getmetatable(L, t == LUA_TFUNCTION ? GJ_TCLIENT_MT : GJ_CLIENT_MT);
    lua_setmetatable(L, -2);
    lua_createtable(L, 0, 3);
    for (i = 0; fns[i]; i++) {
        lua_getfield(L, 1, fns[i]);
        lua_setfield(L, -2, fns[i]);
    }
    gj_setuservalue(L, -2);
    c->conf = conf;
    if (gj_conf_own(&c->conf) || (t != LUA_TFUNCTION && gj_curl_open(&c->sync))) {
        lua_replace(L, 1);
        lua_settop(L, 1);
        gj_client_release(L, 1, c);
        return gj_oom(L);
    }
    c->closed = 0;
    return 1;
}

static int l_close(lua_State *L)
{
    gj_client *c = gj_client_to(L, 1);
    lua_settop(L, 1);
    if (!c->closed) {
        gj_call *k;
        c->closed = 1;
        if (!c->busy) {
            gj_client_release(L, 1, c);
            return 0;
        }
        /* from inside a transfer, which frees the client when it returns:
         * till then no call takes another byte (no sink runs again) */
        c->sync.body.stop = 1;
        for (k = c->calls; k; k = k->next)
            k->body.stop = 1;
    }
    return 0;
}

/* Also reached for a client closed by its own sink whose request then
 * raised: release is idempotent. */
static int l_gc(lua_State *L)
{
    gj_client *c = gj_client_to(L, 1);
    lua_settop(L, 1);
    c->closed = 1;
    if (!c->busy)
        gj_client_release(L, 1, c);
    return 0;
}

/* The url as it may be shown: without a user and password. */
static void push_shown_url(lua_State *L, const char *url)
{
    const char *host = strstr(url, "://"), *p, *at = NULL;
    if (host == NULL) {
        lua_pushstring(L, url);
        return;
    }
    host += 3;
    for (p = host; *p && *p != '/' && *p != '?' && *p != '#'; p++)
        if (*p == '@')
            at = p;
    if (at == NULL) {
        lua_pushstring(L, url);
        return;
    }
    lua_pushlstring(L, url, (size_t)(host - url));
    lua_pushstring(L, at + 1);
    lua_concat(L, 2);
}

static int l_tostring(lua_State *L)
{
    gj_client *c = gj_client_to(L, 1);
    if (c->closed) {
        lua_pushfstring(L, "gitlab.jobs.client (closed): %p", (void *)c);
        return 1;
    }
    push_shown_url(L, c->conf.base);
    lua_pushfstring(L, "gitlab.jobs.client (%s): %p", lua_tostring(L, -1), (void *)c);
    return 1;
}

/* client:sleep(seconds) and client:now(): how this client waits and tells
 * time, for helpers and hosts that want to wait the same way. */
static int l_sleep(lua_State *L)
{
    lua_Number s;
    gj_client_to(L, 1);
    s = luaL_checknumber(L, 2);
    lua_settop(L, 2);
    gj_client_sleep(L, 1, s);
    return 0;
}

static int l_now(lua_State *L)
{
    gj_client_to(L, 1);
    gj_client_hook(L, 1, "clock");
    if (lua_type(L, -1) == LUA_TNIL) {
        lua_pushnumber(L, gj_mono_now());
        return 1;
    }
    lua_call(L, 0, 1);
    return 1;
}

const luaL_Reg gj_client_methods[] = {
    {"close", l_close},
    {"sleep", l_sleep},
    {"now", l_now},
    {NULL, NULL}};

const luaL_Reg gj_client_metamethods[] = {
    {"__gc", l_gc},
    {"__close", l_close},
    {"__tostring", l_tostring},
    {NULL, NULL}};
