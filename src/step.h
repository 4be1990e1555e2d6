/* The Lua-stepped driver, for clients with a Lua transport: the transport
 * is called by Lua code (lua/gitlab/jobs.lua), never from C, so a host's
 * transport may yield (OpenResty's and HAProxy's sockets do):
 *   h = client:_begin(method, ...)
 *   repeat req, wait = h:_request(); res, msg = transport(req)
 *          step, secs = h:_response(res, msg) until step == "done"
 *   return h:_result() */
#ifndef GJ_STEP_H
#define GJ_STEP_H

#include "compat.h"

/* client:_begin. */
extern const luaL_Reg gj_step_methods[];
/* A call handle's _request, _response and _result. */
extern const luaL_Reg gj_step_handle_methods[];

#endif
