/* The one place answer bytes are routed, whichever transport read them. */
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "util.h"

void gj_body_init(gj_body *b)
{
    memset(b, 0, sizeof *b);
    b->total = -1;
    b->sink_ref = b->progress_ref = b->err_ref = LUA_NOREF;
}

size_t gj_body_from(const gj_body *b)
{
    return b->stream ? b->offset + b->delivered : 0;
}

void gj_body_try(gj_body *b, lua_State *L, size_t max)
{
    b->L = L;
    b->max = max;
    b->begun = 0;
    b->skip = 0;
    b->received = 0;
    b->too_big = 0;
}

/* Keeps bytes in buf, up to the cap. */
static int keep(gj_body *b, gj_buf *buf, const char *p, size_t n)
{
    if (n > b->max || buf->n > b->max - n) {
        b->too_big = 1;
        return -1;
    }
    return gj_buf_add(buf, p, n);
}

/* Calls the function at ref with nargs arguments pushed above it; a raise
 * is kept for after the transfer. */
static int callback(gj_body *b, int nargs)
{
    if (lua_pcall(b->L, nargs, 0, 0) != LUA_OK) {
        b->err_ref = luaL_ref(b->L, LUA_REGISTRYINDEX);
        return -1;
    }
    return 0;
}

static int progress(gj_body *b)
{
    lua_State *L = b->L;
    if (b->progress_ref == LUA_NOREF)
        return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, b->progress_ref);
    lua_pushnumber(L, (lua_Number)b->delivered);
    if (b->total >= 0)
        lua_pushnumber(L, b->total);
    else
        lua_pushnil(L);
    return callback(b, 2);
}

static int open_file(gj_body *b)
{
    b->file = gj_file_open(b->path, b->failed, sizeof b->failed);
    b->failed_kind = "io";
    return b->file == NULL ? -1 : 0;
}

/* The first byte of a try's 2xx body: where it starts, how long the whole
 * is, and the file it goes to. */
static int begin(gj_body *b, gj_res *r)
{
    size_t from = gj_body_from(b);
    double start, total, len;
    b->begun = 1;
    if (r->status == 206 && gj_content_range(r, &start, &total)) {
        if (start > (double)from) {
            strcpy(b->failed, "the server's Content-Range starts past the bytes asked for");
            b->failed_kind = "decode";
            return -1;
        }
        b->skip = from - (size_t)start; /* the server honoured Range */
        b->total = total;
    } else {
        b->skip = from; /* the whole body: what was delivered is dropped */
        if (gj_header_int(r, "content-length", &len))
            b->total = len;
    }
    if (b->path && b->file == NULL && open_file(b))
        return -1;
    return 0;
}

/* Hands 2xx stream bytes on: skip, then sink, file or kept bytes. */
static int deliver(gj_body *b, gj_res *r, const char *p, size_t n)
{
    if (!b->begun && begin(b, r))
        return -1;
    if (b->skip) {
        size_t m = b->skip < n ? b->skip : n;
        p += m;
        n -= m;
        b->skip -= m;
    }
    if (n == 0)
        return 0;
    if (b->sink_ref != LUA_NOREF) {
        if (!lua_checkstack(b->L, 4)) {
            lua_pushliteral(b->L, "gitlab.jobs: stack overflow in sink");
            b->err_ref = luaL_ref(b->L, LUA_REGISTRYINDEX);
            return -1;
        }
        lua_rawgeti(b->L, LUA_REGISTRYINDEX, b->sink_ref);
        lua_pushlstring(b->L, p, n);
        if (callback(b, 1))
            return -1;
    } else if (b->file) {
        if (gj_file_write(b->file, p, n, b->failed, sizeof b->failed)) {
            b->failed_kind = "io";
            return -1;
        }
    } else if (keep(b, &b->kept, p, n)) {
        return -1;
    }
    b->delivered += n;
    return progress(b);
}

int gj_body_write(gj_body *b, gj_res *r, const char *p, size_t n)
{
    if (b->stop)
        return -1;
    b->received += n;
    if (b->stream && r->status >= 200 && r->status < 300)
        return deliver(b, r, p, n);
    return keep(b, &r->body, p, n);
}

int gj_body_finish(gj_body *b, lua_State *L, int ok)
{
    b->L = L;
    if (ok && b->path && b->file == NULL && open_file(b))
        return -1; /* an empty body: the file is made all the same */
    if (b->file) {
        gj_file *f = b->file;
        b->file = NULL;
        if (!ok) {
            gj_file_abort(f);
            return 0;
        }
        if (gj_file_commit(f, b->path, b->failed, sizeof b->failed)) {
            b->failed_kind = "io";
            return -1;
        }
    }
    if (ok && b->progress_ref != LUA_NOREF) {
        if (b->total < 0)
            b->total = (double)b->delivered;
        return progress(b);
    }
    return 0;
}

void gj_body_reraise(lua_State *L, gj_body *b)
{
    if (b->err_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, b->err_ref);
        gj_unref(L, &b->err_ref);
        lua_error(L);
    }
}

void gj_body_free(gj_body *b)
{
    if (b->file) {
        gj_file_abort(b->file);
        b->file = NULL;
    }
    free(b->path);
    b->path = NULL;
    gj_buf_free(&b->kept);
}

void gj_body_release(lua_State *L, gj_body *b)
{
    gj_unref(L, &b->sink_ref);
    gj_unref(L, &b->progress_ref);
    gj_unref(L, &b->err_ref);
    gj_body_free(b);
}
