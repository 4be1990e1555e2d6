/* Building a request: path, query, headers, redirects. No I/O and no Lua
 * here, so every transport sends the same request. */
#include <stdio.h>
#include <string.h>

#include "request.h"

static const char HEX[] = "0123456789ABCDEF";

int gj_url_escape(gj_buf *b, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
            if (gj_buf_addc(b, (char)c))
                return -1;
        } else {
            char e[3];
            e[0] = '%';
            e[1] = HEX[c >> 4];
            e[2] = HEX[c & 15];
            if (gj_buf_add(b, e, 3))
                return -1;
        }
    }
    return 0;
}

/* Bytes >= 0x80 pass through as they are. */
int gj_json_string(gj_buf *b, const char *s, size_t n)
{
    size_t i;
    if (gj_buf_addc(b, '"'))
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default: break;
        }
        if (esc) {
            if (gj_buf_adds(b, esc))
                return -1;
        } else if (c < 0x20 || c == 0x7f) {
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
            u[4] = HEX[c >> 4]; u[5] = HEX[c & 15];
            if (gj_buf_add(b, u, 6))
                return -1;
        } else if (gj_buf_addc(b, (char)c)) {
            return -1;
        }
    }
    return gj_buf_addc(b, '"');
}

size_t gj_origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (p == NULL)
        return 0;
    p += 3;
    while (*p && *p != '/' && *p != '?' && *p != '#')
        p++;
    return (size_t)(p - url);
}

int gj_same_origin(const gj_conf *c, const char *url)
{
    size_t i, n = gj_origin_len(url);
    if (n != c->origin_len)
        return 0;
    for (i = 0; i < n; i++) {
        char a = c->base[i], b = url[i];
        if (a >= 'A' && a <= 'Z') a = (char)(a + 32);
        if (b >= 'A' && b <= 'Z') b = (char)(b + 32);
        if (a != b)
            return 0;
    }
    return 1;
}

int gj_req_begin(gj_req *r, const gj_conf *c, const char *method)
{
    gj_buf_reset(&r->url);
    gj_buf_reset(&r->path);
    gj_buf_reset(&r->body);
    r->has_body = 0;
    r->method = method;
    r->nheaders = 0;
    r->auth = GJ_AUTH_DEFAULT;
    r->accept_json = 1;
    return gj_buf_adds(&r->url, c->base) || gj_buf_add(&r->url, "/api/v4", 7) ||
           gj_buf_add(&r->path, "", 0);
}

int gj_req_path(gj_req *r, const char *s)
{
    size_t n = strlen(s);
    return gj_buf_add(&r->url, s, n) || gj_buf_add(&r->path, s, n);
}

int gj_req_path_int(gj_req *r, long long v)
{
    char num[32];
    snprintf(num, sizeof num, "/%lld", v);
    return gj_req_path(r, num);
}

int gj_req_path_segment(gj_req *r, const char *s, size_t n)
{
    size_t start = r->url.n;
    return gj_buf_addc(&r->url, '/') || gj_url_escape(&r->url, s, n) ||
           gj_buf_add(&r->path, r->url.p + start, r->url.n - start);
}

int gj_req_query(gj_req *r, const char *name, const char *value, size_t n)
{
    return gj_buf_addc(&r->url, strchr(r->url.p, '?') ? '&' : '?') || gj_buf_adds(&r->url, name) ||
           gj_buf_addc(&r->url, '=') || gj_url_escape(&r->url, value, n);
}

int gj_req_query_int(gj_req *r, const char *name, long long v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%lld", v);
    return gj_req_query(r, name, num, (size_t)n);
}

/* The path for errors is what follows /api/v4, without the query. */
int gj_req_link(gj_req *r, const gj_conf *c, const char *url, size_t n)
{
    const char *p, *q;
    int auth = r->auth;
    if (gj_req_begin(r, c, "GET"))
        return -1;
    r->auth = auth;
    gj_buf_reset(&r->url);
    if (gj_buf_add(&r->url, url, n))
        return -1;
    p = strstr(r->url.p, "/api/v4");
    p = p ? p + 7 : r->url.p + gj_origin_len(r->url.p);
    q = strchr(p, '?');
    if (gj_buf_add(&r->path, p, q ? (size_t)(q - p) : strlen(p)))
        return -1;
    if (!gj_same_origin(c, r->url.p))
        r->auth = GJ_AUTH_NONE;
    return 0;
}

static void header(gj_req *r, const char *name, const char *value)
{
    if (r->nheaders < GJ_MAX_HEADERS) {
        r->hname[r->nheaders] = name;
        r->hvalue[r->nheaders] = value;
        r->nheaders++;
    }
}

void gj_req_headers(gj_req *r, const gj_conf *c)
{
    r->nheaders = 0;
    if (r->auth == GJ_AUTH_JOB) {
        header(r, "JOB-TOKEN", c->job_token);
    } else if (r->auth == GJ_AUTH_DEFAULT) {
        if (c->token) {
            header(r, "PRIVATE-TOKEN", c->token);
        } else if (c->oauth_token) {
            gj_buf_reset(&r->auth_value);
            if (gj_buf_adds(&r->auth_value, "Bearer ") == 0 &&
                gj_buf_adds(&r->auth_value, c->oauth_token) == 0)
                header(r, "Authorization", r->auth_value.p);
        } else if (c->job_token) {
            header(r, "JOB-TOKEN", c->job_token);
        }
    }
    if (r->accept_json)
        header(r, "Accept", "application/json");
    header(r, "User-Agent", c->user_agent);
    if (r->has_body)
        header(r, "Content-Type", "application/json");
}

int gj_req_redirect(gj_req *r, const gj_conf *c, const char *loc, size_t n)
{
    gj_buf target = GJ_BUF_INIT;
    if (n == 0)
        return 1;
    if (gj_buf_add(&target, loc, n))
        return -1;
    if (target.p[0] == '/') {
        /* an absolute path on the current origin */
        r->url.n = gj_origin_len(r->url.p);
        if (gj_buf_add(&r->url, target.p, n))
            goto oom;
    } else if (strncmp(target.p, "http://", 7) == 0 || strncmp(target.p, "https://", 8) == 0) {
        if (strncmp(r->url.p, "https://", 8) == 0 && strncmp(target.p, "http://", 7) == 0) {
            gj_buf_free(&target);
            return 1; /* never from https down to http */
        }
        gj_buf_reset(&r->url);
        if (gj_buf_add(&r->url, target.p, n))
            goto oom;
    } else {
        gj_buf_free(&target);
        return 1;
    }
    gj_buf_free(&target);
    if (r->auth != GJ_AUTH_NONE && !gj_same_origin(c, r->url.p)) {
        r->auth = GJ_AUTH_NONE; /* another origin never sees the token */
        gj_req_headers(r, c);
    }
    return 0;
oom:
    gj_buf_free(&target);
    return -1;
}

void gj_req_free(gj_req *r)
{
    gj_buf_wipe(&r->auth_value);
    gj_buf_free(&r->url);
    gj_buf_free(&r->path);
    gj_buf_free(&r->body);
}
