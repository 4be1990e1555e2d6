/* Reading what an answer's headers say. No I/O and no Lua: every
 * transport's answer is read here. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "answer.h"

int gj_ieq(const char *a, size_t an, const char *b)
{
    size_t i;
    for (i = 0; i < an; i++, b++)
        if (*b == '\0' || tolower((unsigned char)a[i]) != tolower((unsigned char)*b))
            return 0;
    return *b == '\0';
}

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
        if (colon && gj_ieq(p, (size_t)(colon - p), name)) {
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
        if (gj_ieq(s, 3, names[i]))
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
        if (v > now_wall)
            return v - now_wall;
    }
    if (gj_header_int(r, "ratelimit-reset", &v)) {
        /* GitLab sends a Unix time; the IETF draft a number of seconds */
        if (v < 1e9)
            return v;
        if (v > now_wall)
            return v - now_wall;
    }
    return -1; /* nothing, or a time already past: no advice */
}

/* Digits at p (n bytes at most) as a number; the count of digits read. */
static size_t digits(const char *p, size_t n, double *out)
{
    size_t i = 0;
    double d = 0;
    while (i < n && i < 16 && p[i] >= '0' && p[i] <= '9')
        d = d * 10 + (p[i++] - '0');
    *out = d;
    return i;
}

int gj_content_range(const gj_res *r, double *start, double *total)
{
    size_t n, i, k;
    double end;
    const char *v = gj_header(r, "content-range", &n);
    if (v == NULL || n < 7 || !gj_ieq(v, 6, "bytes "))
        return 0;
    i = 6;
    if ((k = digits(v + i, n - i, start)) == 0 || i + k >= n || v[i + k] != '-')
        return 0;
    i += k + 1;
    if ((k = digits(v + i, n - i, &end)) == 0 || i + k >= n || v[i + k] != '/' || end < *start)
        return 0;
    i += k + 1;
    if (i < n && v[i] == '*') {
        *total = -1;
        return 1;
    }
    if (digits(v + i, n - i, total) == 0 || *total <= end)
        return 0;
    return 1;
}

double gj_range_total(const gj_res *r)
{
    size_t n;
    double start, total;
    const char *v = gj_header(r, "content-range", &n);
    if (v && n > 8 && gj_ieq(v, 8, "bytes */")) {
        if (digits(v + 8, n - 8, &total) == n - 8)
            return total;
        return -1;
    }
    return gj_content_range(r, &start, &total) ? total : -1;
}

const char *gj_next_link(const gj_res *r, size_t *len)
{
    size_t n;
    const char *p = gj_header(r, "link", &n), *end;
    if (p == NULL)
        return NULL;
    end = p + n;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p)), *gt, *q, *next;
        if (lt == NULL)
            return NULL;
        gt = memchr(lt, '>', (size_t)(end - lt));
        if (gt == NULL)
            return NULL;
        next = memchr(gt, ',', (size_t)(end - gt));
        if (next == NULL)
            next = end;
        /* look for rel="... next ..." among this link's parameters */
        for (q = gt; q + 3 <= next; q++) {
            if (gj_ieq(q, 3, "rel")) {
                const char *v = q + 3;
                while (v < next && (*v == ' ' || *v == '='))
                    v++;
                if (v < next && *v == '"')
                    v++;
                while (v < next && *v != '"' && *v != ';') {
                    const char *w = v;
                    while (w < next && *w != ' ' && *w != '"' && *w != ';')
                        w++;
                    if (gj_ieq(v, (size_t)(w - v), "next")) {
                        *len = (size_t)(gt - lt - 1);
                        return lt + 1;
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
    return NULL;
}

void gj_res_reset(gj_res *r)
{
    r->status = 0;
    gj_buf_reset(&r->head);
    gj_buf_reset(&r->body);
}

void gj_res_free(gj_res *r)
{
    gj_buf_free(&r->head);
    gj_buf_free(&r->body);
}
