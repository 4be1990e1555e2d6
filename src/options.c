/* Reading new's options into a client's settings: every check comes before
 * anything is allocated, so a bad option leaves nothing to free. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "options.h"
#include "request.h"
#include "util.h"

static const char *const NEW_OPTS[] = {
    "url", "token", "job_token", "oauth_token", "timeout", "connect_timeout",
    "retries", "verify_tls", "ca_file", "user_agent", "transport", "sleep",
    "clock", "max_body", "rate_limit", "proxy", "cert_file", "key_file",
    "keep_base_url", NULL};

/* new's one argument, its options table at stack index 1 */
static const gj_args NEW_ARGS = {NULL, 0, 1, {"new", 0, 0, NULL}};

/* What a string option may hold. */
enum { PLAIN, HEADER };

/* A NUL would cut the string short; in a header, CR or LF would end it and
 * start another (a second header, even a second request). */
static void check_bytes(const gj_args *a, const char *name, const char *s, size_t n, int kind)
{
    if (kind == HEADER && (memchr(s, '\r', n) || memchr(s, '\n', n) || strlen(s) != n))
        gj_args_error(a, 1, lua_pushfstring(a->L, "%s: holds a CR, LF or NUL byte, which would break the request's "
                                            "headers (a value read from a file often ends in a newline: strip it)",
                                            name));
    if (strlen(s) != n)
        gj_args_error(a, 1, lua_pushfstring(a->L, "%s: holds a NUL byte", name));
}

/* A string option; false means none (and no environment default). */
static const char *str_opt(const gj_args *a, const char *name, const char *env, int kind)
{
    lua_State *L = a->L;
    int t = gj_args_field(L, 1, name);
    const char *s;
    if (t == LUA_TSTRING) {
        size_t n;
        s = lua_tolstring(L, -1, &n);
        check_bytes(a, name, s, n, kind);
        lua_pop(L, 1); /* anchored in the options table */
        return *s ? s : NULL;
    }
    if (t == LUA_TBOOLEAN) {
        int yes = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (!yes)
            return NULL;
    } else if (t != LUA_TNIL) {
        gj_args_expected(a, 1, lua_gettop(L), name, "string");
    } else {
        lua_pop(L, 1);
    }
    if (env) {
        s = getenv(env);
        if (s && *s)
            check_bytes(a, env, s, strlen(s), kind);
        return s && *s ? s : NULL;
    }
    return NULL;
}

/* http(s)://[user[:password]@]host[:port][/path]: the host must be there. */
static int has_host(const char *url)
{
    const char *p = strstr(url, "://") + 3, *end = p, *at;
    while (*end && *end != '/' && *end != '?' && *end != '#')
        end++;
    for (at = end; at > p && at[-1] != '@'; at--)
        ;
    p = at;
    if (*p == '[')
        return end - p > 2 && memchr(p, ']', (size_t)(end - p)) != NULL;
    return p < end && *p != ':';
}

static double num_opt(const gj_args *a, const char *name, double def, double min)
{
    lua_State *L = a->L;
    int t = gj_args_field(L, 1, name);
    double d = def;
    if (t == LUA_TNUMBER) {
        d = lua_tonumber(L, -1);
        if (!(d >= min) || d > 1e9)
            gj_args_expected(a, 1, lua_gettop(L), name, min > 0 ? "positive number" : "non-negative number");
    } else if (t != LUA_TNIL) {
        gj_args_expected(a, 1, lua_gettop(L), name, "number");
    }
    lua_pop(L, 1);
    return d;
}

/* Seconds as libcurl's milliseconds, rounded up: 0 means none there, so
 * 0.0004 s must be 1 ms, not 0. */
static long millis(double s)
{
    return (long)ceil(s * 1000);
}

static void retries_opt(const gj_args *a, gj_conf *c)
{
    static const char *const keys[] = {"max", "base_delay", "max_delay", "max_wait", NULL};
    lua_State *L = a->L;
    int t = gj_args_field(L, 1, "retries"), r = lua_gettop(L), i;
    c->retry_max = 3;
    c->base_delay = 0.5;
    c->max_delay = 30;
    c->max_wait = 300;
    if (t == LUA_TBOOLEAN && !lua_toboolean(L, r)) {
        c->retry_max = 0;
    } else if (t == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, r)) {
            int known = 0;
            if (lua_type(L, -2) == LUA_TSTRING)
                for (i = 0; keys[i]; i++)
                    known |= strcmp(lua_tostring(L, -2), keys[i]) == 0;
            if (!known)
                gj_args_error(a, 1, lua_pushfstring(L, "retries: unknown option '%s'", lua_tostring(L, -2)));
            if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) >= 0) || lua_tonumber(L, -1) > 1e9)
                gj_args_error(a, 1, lua_pushfstring(L, "retries.%s: non-negative number expected",
                                                    lua_tostring(L, -2)));
            lua_pop(L, 1);
        }
        lua_getfield(L, r, "max");
        if (!lua_isnil(L, -1)) {
            lua_Number m = lua_tonumber(L, -1);
            if (m != floor(m) || m > 100)
                gj_args_error(a, 1, "retries.max: integer between 0 and 100 expected");
            c->retry_max = (int)m;
        }
        lua_getfield(L, r, "base_delay");
        if (!lua_isnil(L, -1))
            c->base_delay = lua_tonumber(L, -1);
        lua_getfield(L, r, "max_delay");
        if (!lua_isnil(L, -1))
            c->max_delay = lua_tonumber(L, -1);
        lua_getfield(L, r, "max_wait");
        if (!lua_isnil(L, -1))
            c->max_wait = lua_tonumber(L, -1);
        lua_pop(L, 4);
    } else if (t != LUA_TNIL) {
        gj_args_expected(a, 1, r, "retries", "table or false");
    }
    lua_pop(L, 1);
}

/* rate_limit = {requests = N, per = seconds}, or false / nil for none. */
static void rate_limit_opt(const gj_args *a, gj_conf *c)
{
    lua_State *L = a->L;
    int t = gj_args_field(L, 1, "rate_limit"), r = lua_gettop(L);
    c->rate_n = 0;
    c->rate_per = 0;
    if (t == LUA_TTABLE) {
        lua_Number n, per;
        lua_pushnil(L);
        while (lua_next(L, r)) {
            if (lua_type(L, -2) != LUA_TSTRING ||
                (strcmp(lua_tostring(L, -2), "requests") != 0 && strcmp(lua_tostring(L, -2), "per") != 0))
                gj_args_error(a, 1, lua_pushfstring(L, "rate_limit: unknown option '%s'",
                                                    lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                                                   : luaL_typename(L, -2)));
            lua_pop(L, 1);
        }
        lua_getfield(L, r, "requests");
        n = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(n >= 1 && n <= 1e6) || n != floor(n))
            gj_args_error(a, 1, "rate_limit.requests: integer from 1 to 1000000 expected");
        lua_getfield(L, r, "per");
        per = lua_tonumber(L, -1);
        if (lua_type(L, -1) != LUA_TNUMBER || !(per > 0 && per <= 86400))
            gj_args_error(a, 1, "rate_limit.per: seconds (a positive number, at most a day) expected");
        c->rate_n = (int)n;
        c->rate_per = per;
        lua_pop(L, 2);
    } else if (!(t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, r)))) {
        gj_args_expected(a, 1, r, "rate_limit", "table {requests = N, per = seconds} or false");
    }
    lua_pop(L, 1);
}

/* proxy = "scheme://host:port" (libcurl's schemes), false for none, nil for
 * libcurl's http_proxy, https_proxy and no_proxy environment variables. */
static void proxy_opt(const gj_args *a, gj_conf *c)
{
    static const char *const schemes[] = {"http", "https", "socks4", "socks4a", "socks5", "socks5h", NULL};
    lua_State *L = a->L;
    int t = gj_args_field(L, 1, "proxy"), i;
    if (t == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n), *sep = strstr(s, "://");
        check_bytes(a, "proxy", s, n, HEADER);
        if (n == 0)
            gj_args_error(a, 1, "proxy: a proxy URL expected (false for none), got ''");
        for (i = 0; sep && schemes[i]; i++)
            if ((size_t)(sep - s) == strlen(schemes[i]) && strncmp(s, schemes[i], (size_t)(sep - s)) == 0)
                break;
        if (sep && schemes[i] == NULL)
            gj_args_error(a, 1, "proxy: http, https, socks4, socks4a, socks5 or socks5h URL expected");
        c->proxy = (char *)s;
    } else if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
        c->proxy = (char *)"";
    } else if (t != LUA_TNIL) {
        gj_args_expected(a, 1, lua_gettop(L), "proxy", "string or false");
    }
    lua_pop(L, 1); /* a string stays anchored in the options table */
}

/* The options that speak of libcurl's own connections. */
static void connection_opts(const gj_args *a, gj_conf *c)
{
    static const char *const own[] = {"proxy", "cert_file", "key_file", NULL};
    lua_State *L = a->L;
    int t, i;
    proxy_opt(a, c);
    c->cert_file = (char *)str_opt(a, "cert_file", NULL, PLAIN);
    c->key_file = (char *)str_opt(a, "key_file", NULL, PLAIN);
    if (c->key_file && c->cert_file == NULL)
        gj_args_error(a, 1, "key_file: given without cert_file (the certificate it is the key of)");
    t = gj_args_field(L, 1, "keep_base_url");
    if (t == LUA_TBOOLEAN)
        c->keep_base_url = lua_toboolean(L, -1);
    else if (t != LUA_TNIL)
        gj_args_expected(a, 1, lua_gettop(L), "keep_base_url", "boolean");
    lua_pop(L, 1);
    t = gj_args_field(L, 1, "transport");
    lua_pop(L, 1);
    for (i = 0; t != LUA_TNIL && own[i]; i++) {
        int given = (gj_args_field(L, 1, own[i]), lua_toboolean(L, -1)); /* false: none anyway */
        lua_pop(L, 1);
        if (given)
            gj_args_error(a, 1, lua_pushfstring(L, "%s: not used with a transport, which makes its own "
                                                   "connections (set it there)", own[i]));
    }
}

void gj_conf_read(lua_State *L, gj_conf *c)
{
    static const char *const fns[] = {"transport", "sleep", "clock", NULL};
    gj_args a = NEW_ARGS;
    const char *url;
    int i, t;
    a.L = L;
    gj_args_options(&a, 1, NEW_OPTS);
    memset(c, 0, sizeof *c);
    url = str_opt(&a, "url", "GITLAB_URL", PLAIN);
    if (url == NULL && (t = gj_args_field(L, 1, "url"), lua_pop(L, 1), t == LUA_TNIL))
        url = getenv("CI_SERVER_URL");
    if (url == NULL || *url == '\0')
        gj_args_error(&a, 1, "url: no GitLab URL given (url option, $GITLAB_URL or $CI_SERVER_URL)");
    if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) || !has_host(url))
        /* the url is not shown when it may hold a password */
        gj_args_error(&a, 1, lua_pushfstring(L, "url: http:// or https:// URL with a host expected, got '%s'",
                                            strchr(url, '@') ? "..." : url));
    c->base = (char *)url; /* borrowed until gj_conf_own */
    c->token = (char *)str_opt(&a, "token", "GITLAB_TOKEN", HEADER);
    c->job_token = (char *)str_opt(&a, "job_token", "CI_JOB_TOKEN", HEADER);
    c->oauth_token = (char *)str_opt(&a, "oauth_token", NULL, HEADER);
    c->user_agent = (char *)str_opt(&a, "user_agent", NULL, HEADER);
    c->ca_file = (char *)str_opt(&a, "ca_file", NULL, PLAIN);
    c->timeout_ms = millis(num_opt(&a, "timeout", 30, 0));
    c->connect_timeout_ms = millis(num_opt(&a, "connect_timeout", 10, 0));
    c->max_body = (size_t)num_opt(&a, "max_body", 64.0 * 1024 * 1024, 1);
    c->verify_tls = 1;
    t = gj_args_field(L, 1, "verify_tls");
    if (t == LUA_TBOOLEAN)
        c->verify_tls = lua_toboolean(L, -1);
    else if (t != LUA_TNIL)
        gj_args_expected(&a, 1, lua_gettop(L), "verify_tls", "boolean");
    lua_pop(L, 1);
    retries_opt(&a, c);
    rate_limit_opt(&a, c);
    connection_opts(&a, c);
    for (i = 0; fns[i]; i++) {
        t = gj_args_field(L, 1, fns[i]);
        if (t != LUA_TNIL && t != LUA_TFUNCTION)
            gj_args_expected(&a, 1, lua_gettop(L), fns[i], "function");
        lua_pop(L, 1);
    }
}

int gj_conf_own(gj_conf *c)
{
    char *src[9], **dst[9];
    size_t n;
    int i;
    src[0] = c->base, dst[0] = &c->base;
    src[1] = c->token, dst[1] = &c->token;
    src[2] = c->job_token, dst[2] = &c->job_token;
    src[3] = c->oauth_token, dst[3] = &c->oauth_token;
    src[4] = c->user_agent ? c->user_agent : (char *)"gitlab-jobs/" GJ_VERSION, dst[4] = &c->user_agent;
    src[5] = c->ca_file, dst[5] = &c->ca_file;
    src[6] = c->proxy, dst[6] = &c->proxy;
    src[7] = c->cert_file, dst[7] = &c->cert_file;
    src[8] = c->key_file, dst[8] = &c->key_file;
    /* borrowed until copied: on a failure only copies are left to free */
    for (i = 0; i < 9; i++)
        *dst[i] = NULL;
    for (i = 0; i < 9; i++)
        if (src[i] && (*dst[i] = gj_dupstr(src[i])) == NULL)
            return -1;
    n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    /* a CI_API_V4_URL given as url: the client adds /api/v4 itself */
    if (n >= 7 && strcmp(c->base + n - 7, "/api/v4") == 0) {
        n -= 7;
        c->base[n] = '\0';
        while (n > 0 && c->base[n - 1] == '/')
            c->base[--n] = '\0';
    }
    c->origin_len = gj_origin_len(c->base);
    c->rng = (unsigned long)time(NULL) ^ (unsigned long)(size_t)c ^ 0x9e3779b9UL;
    if (c->rng == 0)
        c->rng = 1;
    return 0;
}

void gj_conf_free(gj_conf *c)
{
    free(c->base);
    c->base = NULL;
    gj_free_secret(&c->token);
    gj_free_secret(&c->job_token);
    gj_free_secret(&c->oauth_token);
    free(c->user_agent);
    c->user_agent = NULL;
    free(c->ca_file);
    c->ca_file = NULL;
    gj_free_secret(&c->proxy); /* it may carry a user and password */
    free(c->cert_file);
    c->cert_file = NULL;
    free(c->key_file);
    c->key_file = NULL;
}
