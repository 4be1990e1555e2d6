/* Where the bytes of an answer go. A 2xx body that is streamed (a log, a
 * download) is skipped up to where the caller stands (its offset, and what
 * earlier tries delivered), then given to a sink, written to a file (see
 * file.h) or kept, up to a cap; any other body is kept as the error's, up to
 * the cap. Both transports hand every byte to gj_body_write. */
#ifndef GJ_BODY_H
#define GJ_BODY_H

#include "answer.h"
#include "compat.h"
#include "file.h"

typedef struct gj_body {
    int stream;             /* a 2xx body is streamed (a log, a download) */
    int ranged;             /* every try asks for a Range, from the first byte too */
    size_t offset;          /* the bytes the caller asked to skip */
    size_t delivered;       /* the bytes handed on, over every try */
    size_t skip;            /* the bytes of this try's 2xx body still to drop */
    size_t max;             /* the cap on what is held in memory */
    size_t received;        /* the bytes this try read, whatever became of them */
    double total;           /* the whole length, when an answer said it (-1: unknown) */
    int begun;              /* this try's 2xx body has begun */
    int too_big;            /* a body went past max */
    int stop;               /* the call was canceled: take no more bytes */
    int sink_ref;           /* the sink in the registry, or LUA_NOREF */
    int progress_ref;       /* on_progress in the registry, or LUA_NOREF */
    int err_ref;            /* what the sink or on_progress raised, raised once the transfer returns */
    char *path;             /* write the body to this file, or NULL */
    gj_file *file;          /* its temporary file, once the first byte came */
    char failed[256];       /* why the body could not be taken ("": it could) */
    const char *failed_kind; /* "io" (the file) or "decode" (the answer) */
    gj_buf kept;            /* a streamed body returned whole */
    lua_State *L;           /* the thread the callbacks run on */
} gj_body;

void gj_body_init(gj_body *b);
/* Where the next try starts: > 0 asks for the rest only (Range). */
size_t gj_body_from(const gj_body *b);
/* Before each try. */
void gj_body_try(gj_body *b, lua_State *L, size_t max);
/* Takes n bytes of the answer r. 0, or -1 to abort the transfer (too big,
 * a callback raised, the file failed, memory ran out, or a Content-Range
 * that starts past what was asked). */
int gj_body_write(gj_body *b, gj_res *r, const char *p, size_t n);
/* At the end of the call: the file renamed into place (ok) or removed, and
 * on_progress told the end. 0, or -1: the file failed (failed says why) or
 * on_progress raised (err_ref). */
int gj_body_finish(gj_body *b, lua_State *L, int ok);
/* Raises what a callback raised, if one did (the reference is dropped first). */
void gj_body_reraise(lua_State *L, gj_body *b);
/* Drops the callbacks and any error they left, removes an unfinished file,
 * and frees the kept bytes. */
void gj_body_release(lua_State *L, gj_body *b);
/* The same without Lua (a collected call, whose references went with it). */
void gj_body_free(gj_body *b);

#endif
