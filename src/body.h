/* Where the bytes of an answer go: dropped (a trace's offset, or what an
 * earlier try already delivered), given to a sink, or kept in the answer's
 * buffer up to a cap. Both transports hand every byte to gj_body_write. */
#ifndef GJ_BODY_H
#define GJ_BODY_H

#include "answer.h"
#include "compat.h"

typedef struct gj_body {
    int stream;             /* a 2xx body is streamed: skipped, then sunk or kept (trace) */
    size_t offset;          /* the bytes the caller asked to skip */
    size_t skip;            /* the bytes of this try's 2xx body still to drop */
    size_t delivered;       /* the bytes handed on, over every try */
    size_t max;             /* the cap on a body that is not streamed */
    int too_big;            /* the body went past max */
    int stop;               /* the call was canceled: take no more bytes */
    int sink_ref;           /* the sink in the registry, or LUA_NOREF */
    int err_ref;            /* what the sink raised, kept until the transfer returns */
    lua_State *L;           /* the thread the sink runs on */
} gj_body;

void gj_body_init(gj_body *b);
/* Before each try: a retried stream goes on where it stopped. */
void gj_body_try(gj_body *b, lua_State *L, size_t max);
/* Takes n bytes of the answer r. 0, or -1 to abort the transfer (the body
 * is too big, the sink raised, or memory ran out). */
int gj_body_write(gj_body *b, gj_res *r, const char *p, size_t n);
/* Raises what the sink raised, if it did (the reference is dropped first). */
void gj_body_reraise(lua_State *L, gj_body *b);
/* Drops the sink and any error it left. */
void gj_body_release(lua_State *L, gj_body *b);

#endif
