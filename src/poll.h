/* The polled driver: calls begun with start() and moved on by poll(),
 * their waits kept as timers so that nothing blocks, and their handles. */
#ifndef GJ_POLL_H
#define GJ_POLL_H

#include "compat.h"

/* client:start and client:poll. */
extern const luaL_Reg gj_poll_methods[];
/* A call handle's cancel, __gc and __tostring. */
extern const luaL_Reg gj_handle_methods[];
extern const luaL_Reg gj_handle_metamethods[];

#endif
