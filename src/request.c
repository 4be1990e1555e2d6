/* Building a request: buffers, URL encoding, JSON strings, headers.
 * No I/O and no Lua here, so it can be reused by any transport. */
#include <stdlib.h>
#include <string.h>

#include "gj.h"

int gj_buf_add(gj_buf *b, const void *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->n + n + 1) {
            if (cap > ((size_t)-1) / 2)
                return -1;
            cap *= 2;
        }
        p = (char *)realloc(b->p, cap);
        if (p == NULL)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

int gj_buf_adds(gj_buf *b, const char *s)
{
    return gj_buf_add(b, s, strlen(s));
}

int gj_buf_addc(gj_buf *b, char c)
{
    return gj_buf_add(b, &c, 1);
}

void gj_buf_free(gj_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static const char HEX[] = "0123456789ABCDEF";

/* RFC 3986 unreserved characters pass; everything else, '/' included, is
 * percent-encoded, so a project path becomes one segment. */
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

/* A JSON string literal; bytes >= 0x80 pass through as they are. */
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

void gj_req_header(gj_req *r, const char *name, const char *value)
{
    if (r->nheaders < GJ_MAX_HEADERS) {
        r->hname[r->nheaders] = name;
        r->hvalue[r->nheaders] = value;
        r->nheaders++;
    }
}
