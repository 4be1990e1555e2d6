/* Calls stepped from Lua: each try's request handed out as a table, each
 * answer taken back, the decisions those of every driver (tries.c). */
#include "calls.h"
#include "client.h"
#include "lua_transport.h"
#include "response.h"
#include "run.h"
#include "step.h"
#include "tries.h"
#include "util.h"

static int l_begin(lua_State *L)
{
    gj_client *c = gj_client_check(L, 1);
    int top = lua_gettop(L);
    const char *name = luaL_checkstring(L, 2);
    const gj_api *api = gj_api_find(name);
    gj_call *k;
    gj_args a;
    if (api == NULL)
        return luaL_argerror(L, 2, lua_pushfstring(L, "method: no call named '%s'", name));
    k = gj_call_new(L, 1, c, &c->conf, &c->budget);
    a.L = L;
    a.base = 2;
    a.last = top;
    a.blame.name = api->name;
    a.blame.shift = 0;
    a.blame.arg = 0;
    a.blame.prefix = "";
    api->build(&a, k);
    gj_tries_start(k);
    lua_settop(L, top + 1); /* the handle, whatever the builder left above it */
    return 1;
}

/* The request of the next try, or nil and how long to wait first. */
static int l_request(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    gj_client *c = k->client;
    double wait;
    if (c->closed)
        return luaL_error(L, "gitlab.jobs: the client is closed");
    wait = gj_budget_take(&c->budget, gj_wall_now(), c->conf.max_wait);
    if (wait > 0) {
        lua_pushnil(L);
        lua_pushnumber(L, wait);
        return 2;
    }
    gj_try_begin(k, L);
    gj_lua_push_req(L, k);
    return 1;
}

/* Takes the transport's (res) or (nil, msg): "done", "again", or "wait"
 * and the seconds to wait before the next try. */
static int l_response(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    double wait = 0;
    lua_settop(L, 3);
    k->body.L = L;
    gj_lua_read_res(L, k, 2);
    if (k->body.err_ref != LUA_NOREF) { /* a callback raised: its file goes */
        gj_body_finish(&k->body, L, 0);
        gj_unref(L, &k->body.sink_ref);
        gj_body_reraise(L, &k->body);
    }
    switch (gj_try_end(k, &wait)) {
    case GJ_TRY_AGAIN:
        lua_pushliteral(L, "again");
        return 1;
    case GJ_TRY_WAIT:
        lua_pushliteral(L, "wait");
        lua_pushnumber(L, wait);
        return 2;
    default:
        lua_pushliteral(L, "done");
        return 1;
    }
}

static int l_result(lua_State *L)
{
    return gj_run_result(L, (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT));
}

const luaL_Reg gj_step_methods[] = {{"_begin", l_begin}, {NULL, NULL}};

const luaL_Reg gj_step_handle_methods[] = {
    {"_request", l_request},
    {"_response", l_response},
    {"_result", l_result},
    {NULL, NULL}};
