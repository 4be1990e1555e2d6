/* Building a request: path, query, headers, redirects. No I/O and no Lua
 * here, so every transport sends the same request. */
#include <stdio.h>
#include <string.h>

#include "answer.h"
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

/* Where /api/v4 begins in the path p[0..n) (before its query), as a whole
 * segment; n when it is not there. */
static size_t api_at(const char *p, size_t n)
{
    size_t i, end;
    for (end = 0; end < n && p[end] != '?' && p[end] != '#'; end++)
        ;
    for (i = 0; i + 7 <= end; i++)
        if (memcmp(p + i, "/api/v4", 7) == 0 && (i + 7 == end || p[i + 7] == '/'))
            return i;
    return n;
}

int gj_req_rebase(gj_buf *out, const gj_conf *c, const char *url, size_t n)
{
    size_t o = 0, at;
    gj_buf_reset(out);
    if ((n > 7 && strncmp(url, "http://", 7) == 0) || (n > 8 && strncmp(url, "https://", 8) == 0)) {
        for (o = url[4] == ':' ? 7 : 8; o < n && url[o] != '/' && url[o] != '?' && url[o] != '#'; o++)
            ;
    }
    if (o == 0) /* not http(s): left for the pager to refuse */
        return gj_buf_add(out, url, n);
    at = api_at(url + o, n - o);
    if (at < n - o) /* the prefix goes with the origin */
        return gj_buf_adds(out, c->base) || gj_buf_add(out, url + o + at, n - o - at);
    return gj_buf_add(out, c->base, c->origin_len) || gj_buf_add(out, url + o, n - o);
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
    r->range_from = -1;
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

int gj_req_path_segments(gj_req *r, const char *s, size_t n)
{
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != '/')
            j++;
        if (gj_req_path_segment(r, s + i, j - i))
            return -1;
        i = j + 1;
    }
    return 0;
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
    if (r->range_from >= 0) {
        snprintf(r->range_value, sizeof r->range_value, "bytes=%lld-", r->range_from);
        header(r, "Range", r->range_value);
    }
    header(r, "User-Agent", c->user_agent);
    if (r->has_body)
        header(r, "Content-Type", "application/json");
}

/* Drops the last segment written to out, with the '/' before it. */
static void pop_segment(gj_buf *out)
{
    while (out->n > 0 && out->p[out->n - 1] != '/')
        out->n--;
    if (out->n > 0)
        out->n--;
    if (out->p)
        out->p[out->n] = '\0';
}

/* RFC 3986 5.2.4: remove_dot_segments of the path in[0, n), onto out. */
static int remove_dots(gj_buf *out, const char *in, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *s = in + i;
        size_t left = n - i, j;
        if (left >= 3 && memcmp(s, "../", 3) == 0) {
            i += 3;
        } else if (left >= 2 && memcmp(s, "./", 2) == 0) {
            i += 2;
        } else if (left >= 3 && memcmp(s, "/./", 3) == 0) {
            i += 2;
        } else if (left == 2 && memcmp(s, "/.", 2) == 0) {
            return gj_buf_addc(out, '/');
        } else if (left >= 4 && memcmp(s, "/../", 4) == 0) {
            pop_segment(out);
            i += 3;
        } else if (left == 3 && memcmp(s, "/..", 3) == 0) {
            pop_segment(out);
            return gj_buf_addc(out, '/');
        } else if ((left == 1 && s[0] == '.') || (left == 2 && memcmp(s, "..", 2) == 0)) {
            return 0;
        } else {
            for (j = s[0] == '/' ? 1 : 0; j < left && s[j] != '/'; j++)
                ;
            if (gj_buf_add(out, s, j))
                return -1;
            i += j;
        }
    }
    return 0;
}

/* The length of ref's scheme and its ':' (0 when it has none). */
static size_t scheme_len(const char *ref, size_t n)
{
    size_t i;
    if (n == 0 || !((ref[0] >= 'a' && ref[0] <= 'z') || (ref[0] >= 'A' && ref[0] <= 'Z')))
        return 0;
    for (i = 1; i < n; i++) {
        char ch = ref[i];
        if (ch == ':')
            return i + 1;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '+' || ch == '-' || ch == '.'))
            return 0;
    }
    return 0;
}

/* origin, then path with its dot segments removed, then the query (the
 * fragment is never sent). */
static int join(gj_buf *t, const char *origin, size_t on, const char *path, size_t pn, const char *query, size_t qn)
{
    const char *hash = memchr(query, '#', qn);
    if (hash)
        qn = (size_t)(hash - query);
    return gj_buf_add(t, origin, on) || remove_dots(t, path, pn) || gj_buf_add(t, query, qn);
}

/* The end of the path in url[from, n): its query or fragment, or n. */
static size_t path_end(const char *url, size_t from, size_t n)
{
    while (from < n && url[from] != '?' && url[from] != '#')
        from++;
    return from;
}

/* RFC 3986 5.2: the Location ref resolved against the URL asked, into t.
 * 0, 1 when it is not to be followed (not http(s), or https to http). */
static int resolve(gj_buf *t, const char *base, const char *ref, size_t n)
{
    size_t bn = strlen(base), bo = gj_origin_len(base), bs = scheme_len(base, bn);
    size_t rs = scheme_len(ref, n), pe;
    gj_buf abs = GJ_BUF_INIT;
    int rc;
    if (rs == 0 && n >= 2 && ref[0] == '/' && ref[1] == '/') {
        /* scheme-relative: another origin, on the same scheme */
        if (gj_buf_add(&abs, base, bs) || gj_buf_add(&abs, ref, n)) {
            gj_buf_free(&abs);
            return -1;
        }
        rc = resolve(t, base, abs.p, abs.n);
        gj_buf_free(&abs);
        return rc;
    }
    if (rs > 0) {
        size_t ro;
        if (!(rs == 5 && gj_ieq(ref, 5, "http:")) && !(rs == 6 && gj_ieq(ref, 6, "https:")))
            return 1;
        if (bs == 6 && rs == 5)
            return 1; /* never from https down to http */
        if (gj_buf_add(&abs, ref, n)) /* NUL-terminated, for gj_origin_len */
            return -1;
        ro = gj_origin_len(abs.p);
        if (ro <= rs + 2) {
            gj_buf_free(&abs);
            return 1; /* no host */
        }
        pe = path_end(abs.p, ro, n);
        rc = join(t, abs.p, ro, abs.p + ro, pe - ro, abs.p + pe, n - pe);
        gj_buf_free(&abs);
        return rc;
    }
    if (n > 0 && ref[0] == '/') {
        pe = path_end(ref, 0, n);
        return join(t, base, bo, ref, pe, ref + pe, n - pe);
    }
    if (n == 0 || ref[0] == '?' || ref[0] == '#') {
        /* the same path, with the reference's query (else the base's) */
        size_t bp = path_end(base, bo, bn);
        return join(t, base, bo, base + bo, bp - bo, n ? ref : base + bp, n ? n : bn - bp);
    }
    /* a relative path: merged with the base path's directory */
    {
        size_t bp = path_end(base, bo, bn), dir = bp;
        while (dir > bo && base[dir - 1] != '/')
            dir--;
        pe = path_end(ref, 0, n);
        if (gj_buf_add(&abs, dir > bo ? base + bo : "/", dir > bo ? dir - bo : 1) || gj_buf_add(&abs, ref, pe)) {
            gj_buf_free(&abs);
            return -1;
        }
        rc = join(t, base, bo, abs.p, abs.n, ref + pe, n - pe);
        gj_buf_free(&abs);
        return rc;
    }
}

int gj_req_redirect(gj_req *r, const gj_conf *c, const char *loc, size_t n)
{
    gj_buf target = GJ_BUF_INIT;
    int rc = resolve(&target, r->url.p, loc, n);
    if (rc != 0) {
        gj_buf_free(&target);
        return rc;
    }
    gj_buf_reset(&r->url);
    rc = gj_buf_add(&r->url, target.p, target.n);
    gj_buf_free(&target);
    if (rc)
        return -1;
    if (r->auth != GJ_AUTH_NONE && !gj_same_origin(c, r->url.p)) {
        r->auth = GJ_AUTH_NONE; /* another origin never sees the token */
        gj_req_headers(r, c);
    }
    return 0;
}

void gj_req_free(gj_req *r)
{
    gj_buf_wipe(&r->auth_value);
    gj_buf_free(&r->url);
    gj_buf_free(&r->path);
    gj_buf_free(&r->body);
}
