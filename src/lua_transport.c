/* Transports written in Lua: the request as a table, the answer read back. */
#include <math.h>
#include <string.h>

#include "lua_transport.h"
#include "util.h"

static void add(lua_State *L, gj_buf *b, const char *s, size_t n)
{
    if (gj_buf_add(b, s, n))
        gj_oom(L);
}

/* Pushes the request of k as a transport sees it. */
void gj_lua_push_req(lua_State *L, gj_call *k)
{
    int i;
    lua_createtable(L, 0, 5);
    lua_pushstring(L, k->req.method);
    lua_setfield(L, -2, "method");
    lua_pushlstring(L, k->req.url.p, k->req.url.n);
    lua_setfield(L, -2, "url");
    lua_createtable(L, 0, k->req.nheaders);
    for (i = 0; i < k->req.nheaders; i++) {
        lua_pushstring(L, k->req.hvalue[i]);
        lua_setfield(L, -2, k->req.hname[i]);
    }
    lua_setfield(L, -2, "headers");
    if (k->req.has_body) {
        lua_pushlstring(L, k->req.body.p, k->req.body.n);
        lua_setfield(L, -2, "body");
    }
    if (k->conf->timeout_ms > 0) {
        lua_pushnumber(L, k->conf->timeout_ms / 1000.0);
        lua_setfield(L, -2, "timeout");
    }
}

/* A sink's error is kept in the body, raised by the driver. */
void gj_lua_read_res(lua_State *L, gj_call *k, int r)
{
    int top = lua_gettop(L);
    gj_outcome *o = &k->out;
    o->ok = 0;
    o->kind = "network";
    o->sent = 1; /* a transport cannot tell us: assume the worst */
    o->permanent = 0;
    k->errbuf[0] = '\0';
    if (lua_type(L, r) == LUA_TTABLE) {
        size_t n, off = 0;
        const char *body;
        lua_Number status;
        lua_getfield(L, r, "status");
        status = lua_tonumber(L, -1);
        /* compared before the cast: NaN, inf or 1e300 in a long is undefined */
        if (lua_type(L, -1) != LUA_TNUMBER || !(status >= 100 && status <= 999) || status != floor(status)) {
            strcpy(k->errbuf, "transport returned a response without a valid HTTP status (100 to 999)");
            lua_settop(L, top);
            return;
        }
        k->res.status = (long)status;
        lua_pop(L, 1);
        lua_getfield(L, r, "headers");
        if (lua_type(L, -1) == LUA_TTABLE) {
            int h = lua_gettop(L);
            lua_pushnil(L);
            while (lua_next(L, h)) {
                if (lua_type(L, -2) == LUA_TSTRING) {
                    size_t kn, j;
                    const char *key = lua_tolstring(L, -2, &kn);
                    for (j = 0; j < kn; j++) {
                        char ch = key[j];
                        if (gj_buf_addc(&k->res.head, (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch)))
                            gj_oom(L);
                    }
                    add(L, &k->res.head, ": ", 2);
                    if (lua_type(L, -1) == LUA_TTABLE) { /* repeated header */
                        size_t m = lua_rawlen(L, -1);
                        for (j = 1; j <= m; j++) {
                            lua_rawgeti(L, -1, (int)j);
                            if (lua_isstring(L, -1)) {
                                const char *v = lua_tolstring(L, -1, &n);
                                if (j > 1)
                                    add(L, &k->res.head, ", ", 2);
                                add(L, &k->res.head, v, n);
                            }
                            lua_pop(L, 1);
                        }
                    } else if (lua_isstring(L, -1)) {
                        const char *v;
                        lua_pushvalue(L, -1); /* a number converted in place would upset lua_next */
                        v = lua_tolstring(L, -1, &n);
                        add(L, &k->res.head, v, n);
                        lua_pop(L, 1);
                    }
                    add(L, &k->res.head, "\r\n", 2);
                }
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
        lua_getfield(L, r, "body");
        body = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : (n = 0, "");
        o->ok = 1;
        while (off < n) { /* in pieces, as a network would give them */
            size_t m = n - off < 65536 ? n - off : 65536;
            if (gj_body_write(&k->body, &k->res, body + off, m)) {
                if (k->body.err_ref == LUA_NOREF && !k->body.too_big)
                    gj_oom(L);
                break;
            }
            off += m;
        }
    } else {
        const char *msg = lua_tostring(L, r + 1);
        strncpy(k->errbuf, msg ? msg : "transport failed", sizeof k->errbuf - 1);
        k->errbuf[sizeof k->errbuf - 1] = '\0';
    }
    lua_settop(L, top);
}

/* gj_lua_read_res under pcall: an answer table may raise when read (a
 * metatable), and the caller must get to clear its busy flag. */
static int read_protected(lua_State *L)
{
    gj_lua_read_res(L, (gj_call *)lua_touserdata(L, 1), 2);
    return 0;
}

int gj_lua_perform(lua_State *L, gj_call *k, int tix)
{
    int base = lua_gettop(L);
    lua_pushvalue(L, tix);
    gj_lua_push_req(L, k);
    if (lua_pcall(L, 1, 2, 0) != LUA_OK)
        return -1;
    lua_pushcfunction(L, read_protected);
    lua_pushlightuserdata(L, k);
    lua_pushvalue(L, base + 1);
    lua_pushvalue(L, base + 2);
    if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
        lua_replace(L, base + 1);
        lua_settop(L, base + 1);
        return -1;
    }
    lua_settop(L, base);
    return 0;
}
