/* Reading an answer: headers, the page table, JSON into Lua tables and the
 * error objects. No I/O here: every transport hands its answer to these. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gj.h"

#define GJ_ERR_BODY_MAX 4096
#define GJ_ERR_MESSAGE_MAX 512

static int ieq(const char *a, size_t an, const char *b)
{
    size_t i;
    for (i = 0; i < an; i++, b++)
        if (*b == '\0' || tolower((unsigned char)a[i]) != tolower((unsigned char)*b))
            return 0;
    return *b == '\0';
}

/* First header of that name (any case), value trimmed. */
const char *gj_header(const gj_res *r, const char *name, size_t *len)
{
    const char *p = r->head.p, *end;
    if (p == NULL)
        return NULL;
    end = p + r->head.n;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *colon, *v, *ve;
        if (eol == NULL)
            eol = end;
        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon && ieq(p, (size_t)(colon - p), name)) {
            v = colon + 1;
            ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *len = (size_t)(ve - v);
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

/* A header holding a non-negative integer; 0 when absent, empty or not a
 * number (GitLab sends X-Next-Page empty on the last page). */
int gj_header_int(const gj_res *r, const char *name, double *out)
{
    size_t n, i;
    const char *v = gj_header(r, name, &n);
    double d = 0;
    if (v == NULL || n == 0 || n > 15)
        return 0;
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        d = d * 10 + (v[i] - '0');
    }
    *out = d;
    return 1;
}

const char *gj_reason(long status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "";
    }
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
double gj_days_from_civil(int y, int m, int d)
{
    int era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (double)era * 146097 + doe - 719468;
}

static int month_of(const char *s)
{
    static const char *const names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
    int i;
    for (i = 0; i < 12; i++)
        if (ieq(s, 3, names[i]))
            return i + 1;
    return 0;
}

/* IMF-fixdate, RFC 850 and asctime forms (RFC 9110 5.6.7). */
double gj_parse_http_date(const char *s, size_t n)
{
    char buf[64], mon[4] = {0};
    const char *p;
    int d = 0, y = 0, hh = 0, mm = 0, ss = 0, m;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    p = strchr(buf, ',');
    if (p != NULL) {
        p++;
        if (sscanf(p, " %d %3s %d %d:%d:%d", &d, mon, &y, &hh, &mm, &ss) != 6 &&
            sscanf(p, " %d-%3s-%d %d:%d:%d", &d, mon, &y, &hh, &mm, &ss) != 6)
            return -1;
        if (y < 100)
            y += y < 70 ? 2000 : 1900;
    } else {
        p = strchr(buf, ' ');
        if (p == NULL || sscanf(p, " %3s %d %d:%d:%d %d", mon, &d, &hh, &mm, &ss, &y) != 6)
            return -1;
    }
    m = month_of(mon);
    if (m == 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    return gj_days_from_civil(y, m, d) * 86400.0 + hh * 3600.0 + mm * 60.0 + ss;
}

double gj_retry_after(const gj_res *r, double now_wall)
{
    size_t n;
    double v;
    const char *s = gj_header(r, "retry-after", &n);
    if (s != NULL) {
        if (gj_header_int(r, "retry-after", &v))
            return v;
        v = gj_parse_http_date(s, n);
        if (v >= 0)
            return v > now_wall ? v - now_wall : 0;
    }
    if (gj_header_int(r, "ratelimit-reset", &v)) {
        /* GitLab sends a Unix time; the IETF draft a number of seconds. */
        if (v < 1e9)
            return v;
        return v > now_wall ? v - now_wall : 0;
    }
    return -1;
}

static void set_int_field(lua_State *L, const gj_res *r, const char *header, const char *field)
{
    double v;
    if (gj_header_int(r, header, &v)) {
        lua_pushinteger(L, (lua_Integer)v);
        lua_setfield(L, -2, field);
    }
}

/* Finds the rel="next" target in a Link header. */
static void set_next_url(lua_State *L, const gj_res *r)
{
    size_t n;
    const char *p = gj_header(r, "link", &n), *end;
    if (p == NULL)
        return;
    end = p + n;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p)), *gt, *q, *next;
        if (lt == NULL)
            return;
        gt = memchr(lt, '>', (size_t)(end - lt));
        if (gt == NULL)
            return;
        next = memchr(gt, ',', (size_t)(end - gt));
        if (next == NULL)
            next = end;
        /* look for rel="... next ..." among this link's parameters */
        for (q = gt; q + 3 <= next; q++) {
            if (ieq(q, 3, "rel")) {
                const char *v = q + 3;
                while (v < next && (*v == ' ' || *v == '='))
                    v++;
                if (v < next && *v == '"')
                    v++;
                while (v < next && *v != '"' && *v != ';') {
                    const char *w = v;
                    while (w < next && *w != ' ' && *w != '"' && *w != ';')
                        w++;
                    if (ieq(v, (size_t)(w - v), "next")) {
                        lua_pushlstring(L, lt + 1, (size_t)(gt - lt - 1));
                        lua_setfield(L, -2, "next_url");
                        return;
                    }
                    v = w;
                    while (v < next && *v == ' ')
                        v++;
                }
                break;
            }
        }
        p = next + 1;
    }
}

void gj_push_page(lua_State *L, const gj_res *r)
{
    lua_createtable(L, 0, 7);
    set_int_field(L, r, "x-page", "page");
    set_int_field(L, r, "x-per-page", "per_page");
    set_int_field(L, r, "x-next-page", "next_page");
    set_int_field(L, r, "x-prev-page", "prev_page");
    set_int_field(L, r, "x-total", "total");
    set_int_field(L, r, "x-total-pages", "total_pages");
    set_next_url(L, r);
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
        if (ieq(s + i, 7, "<title>")) {
            size_t j, start = i + 7;
            for (j = start; j + 8 <= n; j++)
                if (ieq(s + j, 8, "</title>")) {
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
    if (!have && i < n && (body[i] == '<' || (ct && ctn >= 9 && ieq(ct, 9, "text/html"))))
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
