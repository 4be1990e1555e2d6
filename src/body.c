/* The one place answer bytes are routed, whichever transport read them. */
#include "body.h"
#include "util.h"

void gj_body_init(gj_body *b)
{
    b->stream = 0;
    b->offset = b->skip = b->delivered = b->max = 0;
    b->too_big = 0;
    b->stop = 0;
    b->sink_ref = b->err_ref = LUA_NOREF;
    b->L = NULL;
}

void gj_body_try(gj_body *b, lua_State *L, size_t max)
{
    b->L = L;
    b->max = max;
    b->skip = b->offset + b->delivered;
    b->too_big = 0;
}

/* Keeps bytes in the answer's buffer, up to the cap. */
static int keep(gj_body *b, gj_res *r, const char *p, size_t n)
{
    if (n > b->max || r->body.n > b->max - n) {
        b->too_big = 1;
        return -1;
    }
    return gj_buf_add(&r->body, p, n);
}

/* Hands 2xx stream bytes on: skip, then sink or buffer. */
static int deliver(gj_body *b, gj_res *r, const char *p, size_t n)
{
    if (b->skip) {
        size_t m = b->skip < n ? b->skip : n;
        p += m;
        n -= m;
        b->skip -= m;
    }
    if (n == 0)
        return 0;
    if (b->sink_ref != LUA_NOREF) {
        lua_State *L = b->L;
        if (!lua_checkstack(L, 3)) {
            lua_pushliteral(L, "gitlab.jobs: stack overflow in sink");
            b->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);
            return -1;
        }
        lua_rawgeti(L, LUA_REGISTRYINDEX, b->sink_ref);
        lua_pushlstring(L, p, n);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
            /* raised once the transfer has returned, never through it */
            b->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);
            return -1;
        }
        b->delivered += n;
        return 0;
    }
    return keep(b, r, p, n);
}

int gj_body_write(gj_body *b, gj_res *r, const char *p, size_t n)
{
    if (b->stop)
        return -1;
    if (b->stream && r->status >= 200 && r->status < 300)
        return deliver(b, r, p, n);
    return keep(b, r, p, n);
}

void gj_body_reraise(lua_State *L, gj_body *b)
{
    if (b->err_ref != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, b->err_ref);
        gj_unref(L, &b->err_ref);
        lua_error(L);
    }
}

void gj_body_release(lua_State *L, gj_body *b)
{
    gj_unref(L, &b->sink_ref);
    gj_unref(L, &b->err_ref);
}
