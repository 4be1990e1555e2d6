/* A call's lifetime: made, linked while it runs, freed once. */
#include <string.h>

#include "call.h"
#include "util.h"

void gj_call_init(gj_call *k, struct gj_client *c, gj_conf *conf, gj_budget *budget)
{
    memset(k, 0, sizeof *k);
    k->client = c;
    k->conf = conf;
    k->budget = budget;
    gj_body_init(&k->body);
    k->cb_ref = LUA_NOREF;
    k->state = GJ_DONE;
}

void gj_call_free(gj_call *k)
{
    if (k->conn_free)
        k->conn_free(k);
    gj_req_free(&k->req);
    gj_res_free(&k->res);
    gj_body_free(&k->body);
}

void gj_call_release(lua_State *L, gj_call *k)
{
    gj_unref(L, &k->cb_ref);
    gj_body_release(L, &k->body);
}

gj_call *gj_call_new(lua_State *L, int cidx, struct gj_client *c, gj_conf *conf, gj_budget *budget)
{
    gj_call *k = (gj_call *)lua_newuserdatauv(L, sizeof *k, 1);
    gj_call_init(k, c, conf, budget);
    luaL_getmetatable(L, GJ_CALL_MT);
    lua_setmetatable(L, -2);
    lua_createtable(L, 1, 0); /* the handle keeps its client alive */
    lua_pushvalue(L, cidx);
    lua_rawseti(L, -2, 1);
    gj_setuservalue(L, -2);
    return k;
}

void gj_call_link(gj_call **head, gj_call *k)
{
    k->prev = NULL;
    k->next = *head;
    if (*head)
        (*head)->prev = k;
    *head = k;
}

void gj_call_unlink(gj_call **head, gj_call *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else if (*head == k)
        *head = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->next = k->prev = NULL;
}

void gj_call_track(lua_State *L, int cidx, gj_call *k, int hidx)
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

void gj_call_untrack(lua_State *L, int cidx, gj_call *k)
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
