/* The blocking driver: a call run to its end on the caller's thread, its
 * waits through the client's sleep. */
#ifndef GJ_RUN_H
#define GJ_RUN_H

#include "client.h"

/* One try now, through the Lua transport at stack index tix (when it is a
 * function) or libcurl. 0, or -1 when the Lua transport raised (its error
 * on top of the stack). */
int gj_run_try(lua_State *L, gj_client *c, gj_call *k, int tix);
/* The end of a call, whichever driver ran it: its file renamed or removed,
 * what a callback raised at the end raised, its result pushed and its body
 * let go. Returns the count of values. */
int gj_run_result(lua_State *L, gj_call *k);
/* The method behind each API call of a libcurl client; its upvalue is the
 * gj_api (a light userdata). */
int gj_run_api(lua_State *L);

#endif
