/* The few helpers every other file needs: running out of memory, wiping
 * secrets, dropping registry references, and the clocks. Nothing here knows
 * of a client, a call or a transport. */
#ifndef GJ_UTIL_H
#define GJ_UTIL_H

#include "compat.h"

#define GJ_VERSION "0.1.0"

/* Raises "out of memory"; never returns. */
int gj_oom(lua_State *L);
/* A malloc'd copy of s, or NULL. */
char *gj_dupstr(const char *s);
/* Overwrites a secret with zeros, frees it, and sets *p to NULL. */
void gj_free_secret(char **p);
/* luaL_unref, once: *ref becomes LUA_NOREF. */
void gj_unref(lua_State *L, int *ref);
/* Takes the value on top of the stack into the registry (LUA_NOREF for nil). */
int gj_ref(lua_State *L);

/* Unix time (wall clock), and seconds on a monotonic clock. */
double gj_wall_now(void);
double gj_mono_now(void);
/* Sleeps s seconds; nothing for s <= 0 or NaN. */
void gj_nanosleep(double s);

#endif
