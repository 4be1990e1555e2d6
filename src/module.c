/* gitlab.jobs.core: luaopen, the method tables, and the module's functions.
 * Only luaopen_gitlab_jobs_core is exported (-fvisibility=hidden). */
#include <math.h>

#include "calls.h"
#include "client.h"
#include "poll.h"
#include "request.h"
#include "response.h"
#include "run.h"
#include "step.h"
#include "tries.h"
#include "util.h"

#if defined(__GNUC__)
#define GJ_EXPORT __attribute__((visibility("default")))
#else
#define GJ_EXPORT
#endif

LUALIB_API GJ_EXPORT int luaopen_gitlab_jobs_core(lua_State *L);

/* core.check(client, blame, method, ...): checks a call's arguments as the
 * call itself would, and sends nothing. blame = {name =, shift =}: the
 * complaint names the call's own argument number (project is 1) plus shift;
 * {name =, arg =, prefix =}: every complaint is about that one argument and
 * starts with prefix (batch's "calls[i]: "). */
static int l_check(lua_State *L)
{
    gj_client *c = gj_client_check(L, 1);
    const char *name;
    const gj_api *api;
    gj_call *k;
    gj_args a;
    luaL_checktype(L, 2, LUA_TTABLE);
    name = luaL_checkstring(L, 3);
    a.L = L;
    a.base = 3;
    a.last = lua_gettop(L);
    lua_getfield(L, 2, "name");
    a.blame.name = luaL_optstring(L, -1, "?");
    lua_getfield(L, 2, "shift");
    a.blame.shift = (int)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "arg");
    a.blame.arg = (int)luaL_optinteger(L, -1, 0);
    lua_getfield(L, 2, "prefix");
    a.blame.prefix = luaL_optstring(L, -1, "");
    lua_pop(L, 4); /* the strings stay anchored in blame */
    api = gj_api_find(name);
    if (api == NULL) /* the method comes just before the call's first argument */
        return gj_args_error(&a, 0, lua_pushfstring(L, "method: no call named '%s'", name));
    k = gj_call_new(L, 1, c, &c->conf, &c->budget);
    api->build(&a, k);
    gj_call_release(L, k);
    return 0;
}

/* core.escape(s): s percent-encoded as one path segment, as projects are sent. */
static int l_escape(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    gj_buf b = GJ_BUF_INIT;
    if (gj_url_escape(&b, s, n) || gj_buf_add(&b, "", 0)) {
        gj_buf_free(&b);
        return gj_oom(L);
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
 * with jitter, from the client's own random sequence, as its retries wait. */
static int l_backoff(lua_State *L)
{
    gj_client *c = gj_client_to(L, 1);
    int n = (int)luaL_checkinteger(L, 2);
    double base = luaL_checknumber(L, 3), max = luaL_checknumber(L, 4);
    lua_pushnumber(L, gj_backoff(&c->conf, n < 1 ? 1 : n, base, max));
    return 1;
}

/* core.hook(client, name): the client's transport, sleep or clock option. */
static int l_hook(lua_State *L)
{
    gj_client_to(L, 1);
    gj_client_hook(L, 1, luaL_checkstring(L, 2));
    return 1;
}

static int l_sleep(lua_State *L)
{
    gj_nanosleep(luaL_checknumber(L, 1));
    return 0;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, gj_mono_now());
    return 1;
}

static const luaL_Reg functions[] = {
    {"new", gj_client_new},
    {"hook", l_hook},
    {"check", l_check},
    {"escape", l_escape},
    {"timegm", l_timegm},
    {"backoff", l_backoff},
    {"sleep", l_sleep},
    {"now", l_now},
    {NULL, NULL}};

/* A client type's metatable, its __index holding the given methods. */
static void client_type(lua_State *L, const char *tname, const luaL_Reg *own)
{
    luaL_newmetatable(L, tname);
    luaL_setfuncs(L, gj_client_metamethods, 0);
    lua_newtable(L);
    luaL_setfuncs(L, own, 0);
    luaL_setfuncs(L, gj_poll_methods, 0);
    luaL_setfuncs(L, gj_client_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "gitlab.jobs.client");
    lua_setfield(L, -2, "__name");
}

LUALIB_API int luaopen_gitlab_jobs_core(lua_State *L)
{
    static const luaL_Reg none[] = {{NULL, NULL}};
    const gj_api *api;
    int i;
    gj_open_json(L);
    gj_open_error(L);
    /* a libcurl client: the calls run from C */
    client_type(L, GJ_CLIENT_MT, none);
    lua_getfield(L, -1, "__index");
    for (api = gj_apis; api->name; api++) {
        lua_pushlightuserdata(L, (void *)api);
        lua_pushcclosure(L, gj_run_api, 1);
        lua_setfield(L, -2, api->name);
    }
    lua_pop(L, 1);
    /* a client with a Lua transport: its calls are added in Lua (the facade) */
    client_type(L, GJ_TCLIENT_MT, gj_step_methods);
    lua_pop(L, 1);
    luaL_newmetatable(L, GJ_CALL_MT);
    luaL_setfuncs(L, gj_handle_metamethods, 0);
    lua_newtable(L);
    luaL_setfuncs(L, gj_handle_methods, 0);
    luaL_setfuncs(L, gj_step_handle_methods, 0);
    lua_setfield(L, -2, "__index");
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
    for (i = 0; gj_statuses[i]; i++) {
        lua_pushstring(L, gj_statuses[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "statuses");
    lua_newtable(L); /* the name of every call, for the facade */
    for (i = 0; gj_apis[i].name; i++) {
        lua_pushstring(L, gj_apis[i].name);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "calls");
    lua_remove(L, -2); /* the libcurl client's metatable */
    return 1;
}
