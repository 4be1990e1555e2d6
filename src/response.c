/* Reading an answer into Lua: the page table, JSON into tables, the error
 * objects (one constructor) and what a finished call returns. No I/O: every
 * transport's answer ends here. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "response.h"
#include "util.h"

#define GJ_ERR_BODY_MAX 4096
#define GJ_ERR_MESSAGE_MAX 512
#define GJ_REG_DECODE "gitlab.jobs.decode"
#define GJ_REG_NULL "gitlab.jobs.null"

static void set_int_field(lua_State *L, const gj_res *r, const char *header, const char *field)
{
    double v;
    if (gj_header_int(r, header, &v)) {
        lua_pushinteger(L, (lua_Integer)v);
        lua_setfield(L, -2, field);
    }
}

void gj_push_page(lua_State *L, const gj_res *r, const gj_conf *c)
{
    size_t n;
    const char *link;
    lua_createtable(L, 0, 7);
    set_int_field(L, r, "x-page", "page");
    set_int_field(L, r, "x-per-page", "per_page");
    set_int_field(L, r, "x-next-page", "next_page");
    set_int_field(L, r, "x-prev-page", "prev_page");
    set_int_field(L, r, "x-total", "total");
    set_int_field(L, r, "x-total-pages", "total_pages");
    link = gj_next_link(r, &n);
    if (link && c->keep_base_url) {
        gj_buf b = {NULL, 0, 0};
        if (gj_req_rebase(&b, c, link, n)) {
            gj_buf_free(&b);
            luaL_error(L, "gitlab.jobs: out of memory");
        }
        lua_pushlstring(L, b.p, b.n);
        gj_buf_free(&b);
        lua_setfield(L, -2, "next_url");
    } else if (link) {
        lua_pushlstring(L, link, n);
        lua_setfield(L, -2, "next_url");
    }
}

/* Removes the null sentinel from the table at idx, in place, and turns
 * integral floats into integers (cjson hands back 1002.0 on 5.3+). The
 * decoder bounds the depth, so recursion is bounded too. */
static void clean_json(lua_State *L, int idx, int null_idx)
{
    luaL_checkstack(L, 4, "JSON too deep");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int t = lua_type(L, -1);
        if (t == LUA_TTABLE) {
            clean_json(L, lua_gettop(L), null_idx);
        } else if ((t == LUA_TLIGHTUSERDATA || t == LUA_TUSERDATA) && lua_rawequal(L, -1, null_idx)) {
            lua_pushvalue(L, -2);
            lua_pushnil(L);
            lua_rawset(L, idx); /* clearing a field during lua_next is allowed */
        }
#if LUA_VERSION_NUM >= 503
        else if (t == LUA_TNUMBER && !lua_isinteger(L, -1)) {
            lua_Number d = lua_tonumber(L, -1);
            if (d == floor(d) && d >= -9007199254740992.0 && d <= 9007199254740992.0) {
                lua_pushvalue(L, -2);
                lua_pushinteger(L, (lua_Integer)d);
                lua_rawset(L, idx);
            }
        }
#endif
        lua_pop(L, 1);
    }
}

int gj_push_json(lua_State *L, const char *s, size_t n)
{
    int top = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, GJ_REG_NULL);
    lua_getfield(L, LUA_REGISTRYINDEX, GJ_REG_DECODE);
    lua_pushlstring(L, s, n);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        lua_pushfstring(L, "invalid JSON in response: %s", msg ? msg : "decoder failed");
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        return 0;
    }
    if (lua_type(L, -1) == LUA_TTABLE)
        clean_json(L, lua_gettop(L), top + 1);
    else if (lua_rawequal(L, -1, top + 1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    lua_replace(L, top + 1);
    return 1;
}

/* ---- errors ---- */

int gj_push_error(lua_State *L, const gj_errinfo *e, const char *body, size_t bodylen)
{
    int msg = lua_gettop(L);
    lua_pushnil(L);
    lua_createtable(L, 0, 10);
    lua_pushstring(L, e->kind);
    lua_setfield(L, -2, "kind");
    lua_pushvalue(L, msg);
    lua_setfield(L, -2, "message");
    if (e->method) {
        lua_pushstring(L, e->method);
        lua_setfield(L, -2, "method");
    }
    if (e->path) {
        lua_pushstring(L, e->path);
        lua_setfield(L, -2, "path");
    }
    if (e->status > 0) {
        lua_pushinteger(L, (lua_Integer)e->status);
        lua_setfield(L, -2, "status");
    }
    if (e->retry_after >= 0) {
        lua_pushnumber(L, e->retry_after);
        lua_setfield(L, -2, "retry_after");
    }
    if (e->attempts > 0) {
        lua_pushinteger(L, e->attempts);
        lua_setfield(L, -2, "attempts");
    }
    if (e->maybe_done) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "maybe_done");
    }
    if (body != NULL) {
        lua_pushlstring(L, body, bodylen > GJ_ERR_BODY_MAX ? GJ_ERR_BODY_MAX : bodylen);
        lua_setfield(L, -2, "body");
    }
    luaL_getmetatable(L, GJ_ERROR_MT);
    lua_setmetatable(L, -2);
    lua_remove(L, msg);
    return 2;
}

/* Pushes text cut to a readable length, whitespace trimmed. */
static void push_trimmed(lua_State *L, const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s))
        s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    lua_pushlstring(L, s, n > GJ_ERR_MESSAGE_MAX ? GJ_ERR_MESSAGE_MAX : n);
}

/* The text of an HTML <title>, as proxies put the status there. */
static int push_html_title(lua_State *L, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i + 7 <= n; i++) {
        if (gj_ieq(s + i, 7, "<title>")) {
            size_t j, start = i + 7;
            for (j = start; j + 8 <= n; j++)
                if (gj_ieq(s + j, 8, "</title>")) {
                    push_trimmed(L, s + start, j - start);
                    return 1;
                }
            return 0;
        }
    }
    return 0;
}

/* GitLab's message from a decoded JSON body at the top of the stack:
 * {"message": "..."}, {"message": {"error": "..."}}, {"message": {field:
 * [...]}}, {"error": "..."} and {"error": ..., "error_description": ...}. */
static int push_json_message(lua_State *L)
{
    int t = lua_gettop(L);
    if (lua_type(L, t) != LUA_TTABLE)
        return 0;
    lua_getfield(L, t, "message");
    if (lua_type(L, -1) == LUA_TSTRING)
        return 1;
    if (lua_type(L, -1) == LUA_TTABLE) {
        int m = lua_gettop(L), acc, first = 1;
        lua_getfield(L, m, "error");
        if (lua_type(L, -1) == LUA_TSTRING)
            return 1;
        lua_pop(L, 1);
        /* validation errors: {"name": ["is too long"]} -> "name is too long" */
        lua_pushliteral(L, "");
        acc = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, m)) {
            if (lua_type(L, -2) == LUA_TSTRING) {
                size_t i, len = lua_type(L, -1) == LUA_TTABLE ? lua_rawlen(L, -1) : 0;
                lua_pushvalue(L, acc);
                lua_pushstring(L, first ? "" : "; ");
                lua_pushvalue(L, -4);
                lua_concat(L, 3);
                lua_replace(L, acc);
                first = 0;
                for (i = 0; i <= len; i++) {
                    if (i == 0)
                        lua_pushvalue(L, -1);
                    else
                        lua_rawgeti(L, -1, (int)i);
                    if (lua_type(L, -1) == LUA_TSTRING) {
                        lua_pushvalue(L, acc);
                        lua_pushliteral(L, " ");
                        lua_pushvalue(L, -3);
                        lua_concat(L, 3);
                        lua_replace(L, acc);
                    }
                    lua_pop(L, 1);
                }
            }
            lua_pop(L, 1);
        }
        if (!first)
            return 1;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "error");
    if (lua_type(L, -1) == LUA_TSTRING) {
        lua_getfield(L, t, "error_description");
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushliteral(L, ": ");
            lua_insert(L, -2);
            lua_concat(L, 3);
        } else {
            lua_pop(L, 1);
        }
        return 1;
    }
    lua_pop(L, 1);
    return 0;
}

int gj_push_http_error(lua_State *L, gj_errinfo *e, const gj_res *r)
{
    const char *body = r->body.p ? r->body.p : "";
    size_t n = r->body.n, i = 0, ctn = 0;
    const char *ct = gj_header(r, "content-type", &ctn);
    int top = lua_gettop(L), have = 0;

    while (i < n && isspace((unsigned char)body[i]))
        i++;
    if (i < n && (body[i] == '{' || body[i] == '[')) {
        if (gj_push_json(L, body, n)) {
            have = push_json_message(L);
            if (have) {
                lua_replace(L, top + 1);
                lua_settop(L, top + 1);
            }
        }
        if (!have)
            lua_settop(L, top);
    }
    if (!have && i < n && (body[i] == '<' || (ct && ctn >= 9 && gj_ieq(ct, 9, "text/html"))))
        have = push_html_title(L, body, n);
    /* plain text; JSON without a message, or too deep to read, says nothing */
    if (!have && i < n && body[i] != '<' && body[i] != '{' && body[i] != '[') {
        push_trimmed(L, body, n);
        have = 1;
    }
    if (!have)
        lua_pushfstring(L, "%d %s", (int)r->status, gj_reason(r->status));
    if (lua_tostring(L, -1)[0] == '\0') {
        lua_pop(L, 1);
        lua_pushfstring(L, "%d %s", (int)r->status, gj_reason(r->status));
    }
    e->kind = "http";
    e->status = r->status;
    return gj_push_error(L, e, body, n);
}

/* __tostring: "POST /projects/1/jobs/42/retry: 403 Forbidden - Job is not
 * retryable"; the status is not repeated when the message starts with it. */
static int error_tostring(lua_State *L)
{
    luaL_Buffer b;
    const char *method, *path, *msg;
    int has_status, maybe_done;
    long status;
    char code[24];
    lua_settop(L, 1);
    lua_getfield(L, 1, "method");   /* 2 */
    lua_getfield(L, 1, "path");     /* 3 */
    lua_getfield(L, 1, "message");  /* 4 */
    lua_getfield(L, 1, "status");   /* 5 */
    lua_getfield(L, 1, "maybe_done");
    method = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    path = lua_type(L, 3) == LUA_TSTRING ? lua_tostring(L, 3) : NULL;
    msg = lua_tostring(L, 4);
    if (msg == NULL)
        msg = "";
    has_status = lua_type(L, 5) == LUA_TNUMBER;
    status = has_status ? (long)lua_tonumber(L, 5) : 0;
    maybe_done = lua_toboolean(L, 6);
    snprintf(code, sizeof code, "%ld", status);
    /* only buffer operations from here: the strings above stay on the stack */
    luaL_buffinit(L, &b);
    if (method && path) {
        luaL_addstring(&b, method);
        luaL_addchar(&b, ' ');
        luaL_addstring(&b, path);
        luaL_addstring(&b, ": ");
    }
    if (has_status && strncmp(msg, code, strlen(code)) != 0) {
        luaL_addstring(&b, code);
        luaL_addchar(&b, ' ');
        luaL_addstring(&b, gj_reason(status));
        if (*msg)
            luaL_addstring(&b, " - ");
    }
    luaL_addstring(&b, msg);
    if (maybe_done)
        luaL_addstring(&b, " (the request may have reached the server: its action may have happened)");
    luaL_pushresult(&b);
    return 1;
}

void gj_open_error(lua_State *L)
{
    if (luaL_newmetatable(L, GJ_ERROR_MT)) {
        lua_pushcfunction(L, error_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
}

/* The JSON decoder: a private lua-cjson instance, so that the host's cjson
 * settings do not leak in; else the host's vim.json. */
void gj_open_json(lua_State *L)
{
    int top = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TTABLE) {
        int m = lua_gettop(L);
        lua_getfield(L, m, "new");
        if (lua_type(L, -1) == LUA_TFUNCTION && lua_pcall(L, 0, 1, 0) == LUA_OK &&
            lua_type(L, -1) == LUA_TTABLE) {
            lua_replace(L, m);
        } else {
            lua_settop(L, m);
        }
        lua_getfield(L, m, "decode");
        lua_setfield(L, LUA_REGISTRYINDEX, GJ_REG_DECODE);
        lua_getfield(L, m, "null");
        lua_setfield(L, LUA_REGISTRYINDEX, GJ_REG_NULL);
        lua_settop(L, top);
        return;
    }
    lua_settop(L, top);
    lua_getglobal(L, "vim");
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_getfield(L, -1, "json");
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_getfield(L, -1, "decode");
            lua_setfield(L, LUA_REGISTRYINDEX, GJ_REG_DECODE);
            lua_getfield(L, -2, "NIL");
            lua_setfield(L, LUA_REGISTRYINDEX, GJ_REG_NULL);
            lua_settop(L, top);
            return;
        }
    }
    lua_settop(L, top);
    luaL_error(L, "gitlab.jobs.core needs lua-cjson (require \"cjson\") or vim.json");
}

/* After a log's value, for a call that asked (follow): the answer's status
 * (206: the rest, 200: the whole, 416: nothing new) and the log's whole
 * length, when the answer told it. Returns the count of values. */
static int push_meta(lua_State *L, const gj_call *k)
{
    double total = gj_range_total(&k->res);
    if (!k->meta)
        return 1;
    lua_pushinteger(L, (lua_Integer)k->res.status);
    if (total < 0 && k->res.status == 200)
        total = k->body.total;
    if (total >= 0)
        lua_pushnumber(L, total);
    else
        lua_pushnil(L);
    return 3;
}

int gj_push_result(lua_State *L, const gj_call *k)
{
    gj_errinfo e;
    const char *body = gj_buf_str(&k->res.body);
    int post = strcmp(k->req.method, "POST") == 0;
    memset(&e, 0, sizeof e);
    e.method = k->req.method;
    e.path = gj_buf_str(&k->req.path);
    e.attempts = k->attempts;
    e.retry_after = -1;
    if (k->body.failed[0]) {
        e.kind = k->body.failed_kind ? k->body.failed_kind : "io";
        lua_pushstring(L, k->body.failed);
        return gj_push_error(L, &e, NULL, 0);
    }
    /* a POST that got any answer reached the server: its action may have run */
    if (k->body.too_big) {
        e.kind = "decode";
        e.maybe_done = post;
        lua_pushfstring(L, "response body larger than max_body (%d bytes)%s", (int)k->conf->max_body,
                        k->body.stream ? ": give it a sink (or a path) instead" : "");
        return gj_push_error(L, &e, NULL, 0);
    }
    if (!k->out.ok) {
        e.kind = k->out.kind;
        e.maybe_done = post && k->out.sent;
        lua_pushstring(L, k->errbuf);
        return gj_push_error(L, &e, NULL, 0);
    }
    if (k->res.status == 416 && k->req.range_from >= 0 && k->body.stream) {
        /* nothing past what the caller has */
        if (k->body.sink_ref != LUA_NOREF || k->body.path)
            lua_pushinteger(L, (lua_Integer)k->body.delivered);
        else
            lua_pushliteral(L, "");
        return push_meta(L, k);
    }
    if (k->res.status < 200 || k->res.status > 299) {
        if (k->res.status == 429 || k->res.status == 503)
            e.retry_after = gj_retry_after(&k->res, gj_wall_now());
        e.maybe_done = post && k->res.status >= 500;
        return gj_push_http_error(L, &e, &k->res);
    }
    if (k->kind == GJ_LOG || k->kind == GJ_BYTES) {
        if (k->body.sink_ref != LUA_NOREF || k->body.path)
            lua_pushinteger(L, (lua_Integer)k->body.delivered);
        else
            lua_pushlstring(L, gj_buf_str(&k->body.kept), k->body.kept.n);
        return push_meta(L, k);
    }
    if (k->kind == GJ_NONE) {
        lua_pushboolean(L, 1);
        return 1;
    }
    e.maybe_done = post;
    if (!gj_push_json(L, body, k->res.body.n)) {
        e.kind = "decode";
        return gj_push_error(L, &e, body, k->res.body.n);
    }
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_pop(L, 1);
        e.kind = "decode";
        lua_pushstring(L, k->kind == GJ_LIST ? "expected a JSON array in the response"
                                             : "expected a JSON object in the response");
        return gj_push_error(L, &e, body, k->res.body.n);
    }
    if (k->kind == GJ_LIST) {
        gj_push_page(L, &k->res, k->conf);
        return 2;
    }
    return 1;
}
