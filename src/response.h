/* Reading an answer into Lua: pages, JSON, error objects and results. */
#ifndef GJ_RESPONSE_H
#define GJ_RESPONSE_H

#include "answer.h"
#include "call.h"
#include "compat.h"

#define GJ_ERROR_MT "gitlab.jobs.error"

/* The fields of an error object. */
typedef struct gj_errinfo {
    const char *kind;       /* "http", "network", "timeout", "decode", "tls" */
    const char *method, *path;
    long status;            /* 0 when none */
    int attempts;
    int maybe_done;
    double retry_after;     /* < 0 when none */
} gj_errinfo;

/* Pushes the page table read from the pagination headers (its next_url
 * rebased onto the client's url when c says keep_base_url). */
void gj_push_page(lua_State *L, const gj_res *r, const gj_conf *c);
/* Decodes JSON with the module's private decoder: on success pushes the
 * value (JSON null removed, integral numbers as integers) and returns 1;
 * else pushes a message and returns 0. */
int gj_push_json(lua_State *L, const char *s, size_t n);
/* The one constructor of error objects: pushes nil and the error table,
 * returns 2. The message is on top of the stack before (it is consumed);
 * body may be NULL. */
int gj_push_error(lua_State *L, const gj_errinfo *e, const char *body, size_t bodylen);
/* nil and the error of a non-2xx answer, GitLab's message read from its body. */
int gj_push_http_error(lua_State *L, gj_errinfo *e, const gj_res *r);
/* What a finished call returns: (value [, page]) or (nil, err). */
int gj_push_result(lua_State *L, const gj_call *k);
/* Registers the error metatable and the JSON decoder. */
void gj_open_error(lua_State *L);
void gj_open_json(lua_State *L);

#endif
