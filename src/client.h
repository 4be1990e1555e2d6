/* The client, its settings, its budget, the call its blocking requests use,
 * the calls it has started, and its lifetime (new, close, __gc). Created
 * closed and opened last, as liolib makes its files, so that an error at
 * any point leaves nothing leaked. */
#ifndef GJ_CLIENT_H
#define GJ_CLIENT_H

#include "call.h"
#include "compat.h"
#include "conf.h"
#include "budget.h"

#define GJ_CLIENT_MT "gitlab.jobs.client"
#define GJ_TCLIENT_MT "gitlab.jobs.client (transport)"

typedef struct gj_client {
    gj_conf conf;
    gj_budget budget;
    int closed;             /* no call may start */
    int busy;               /* a transfer is under way (a sink or transport runs inside it) */
    int polling;            /* poll() is running */
    gj_call sync;           /* the blocking calls; keeps its connection alive */
    void *multi;            /* the transport's multi handle for started calls, made on first use */
    gj_call *calls;         /* started calls not yet done */
} gj_client;

/* A client of either kind (libcurl's, or one with a Lua transport). */
gj_client *gj_client_to(lua_State *L, int idx);
/* The same, raising when it is closed or busy. */
gj_client *gj_client_check(lua_State *L, int idx);
/* Pushes the client's transport, sleep or clock option (or nil). */
void gj_client_hook(lua_State *L, int idx, const char *name);
/* Waits through the client's sleep (a Lua function), else nanosleep. */
void gj_client_sleep(lua_State *L, int idx, double s);
/* Stops a started call for good; its callback never runs. */
void gj_client_drop(lua_State *L, int idx, gj_call *k);
/* Frees everything the client holds (idempotent). */
void gj_client_release(lua_State *L, int idx, gj_client *c);

/* new, and the client's own methods and metamethods. */
int gj_client_new(lua_State *L);
extern const luaL_Reg gj_client_methods[];
extern const luaL_Reg gj_client_metamethods[];

#endif
