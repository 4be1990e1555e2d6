/* A transport written in Lua (a host's own: OpenResty, HAProxy, Neovim):
 * the request as a table, the answer read back from one. */
#ifndef GJ_LUA_TRANSPORT_H
#define GJ_LUA_TRANSPORT_H

#include "call.h"

/* Pushes the request of k as a transport sees it. */
void gj_lua_push_req(lua_State *L, gj_call *k);
/* Reads what a transport returned, (res) or (nil, msg) at stack indices r
 * and r + 1, into k->res and k->out; the body goes through k->body. */
void gj_lua_read_res(lua_State *L, gj_call *k, int r);
/* Calls the transport at stack index tix from C. 0, or -1 when it raised
 * (its error on top of the stack). */
int gj_lua_perform(lua_State *L, gj_call *k, int tix);

#endif
