/* A request as plain data: method, URL, path, headers and body, built and
 * redirected here with no I/O and no Lua, so that every transport sends the
 * same bytes. Functions return 0, or -1 when out of memory. */
#ifndef GJ_REQUEST_H
#define GJ_REQUEST_H

#include "buf.h"
#include "conf.h"

/* Which credential a request carries. */
enum { GJ_AUTH_DEFAULT, GJ_AUTH_JOB, GJ_AUTH_NONE };

#define GJ_MAX_HEADERS 8
typedef struct gj_req {
    const char *method;     /* "GET", "POST" or "DELETE" */
    gj_buf url;             /* absolute URL, with the query */
    gj_buf path;            /* after /api/v4, without the query: for errors */
    gj_buf body;
    int has_body;
    int auth;               /* GJ_AUTH_* */
    int accept_json;        /* Accept: application/json */
    long long range_from;   /* Range: bytes=N- (only the rest of a body), or -1 */
    char range_value[32];
    int nheaders;
    const char *hname[GJ_MAX_HEADERS];
    const char *hvalue[GJ_MAX_HEADERS];
    gj_buf auth_value;      /* "Bearer ..." lives here */
} gj_req;

/* Starts a request: the URL is the client's base and /api/v4. */
int gj_req_begin(gj_req *r, const gj_conf *c, const char *method);
/* Appends to the path: a literal, "/<integer>", or "/<s escaped as one segment>". */
int gj_req_path(gj_req *r, const char *s);
int gj_req_path_int(gj_req *r, long long v);
int gj_req_path_segment(gj_req *r, const char *s, size_t n);
/* "/" and the path s, each of its '/'-separated segments escaped. */
int gj_req_path_segments(gj_req *r, const char *s, size_t n);
/* Appends name=value (value escaped) to the query. */
int gj_req_query(gj_req *r, const char *name, const char *value, size_t n);
int gj_req_query_int(gj_req *r, const char *name, long long v);
/* A GET of a URL the server linked (Link rel="next"), as given; another
 * origin gets no credential. */
int gj_req_link(gj_req *r, const gj_conf *c, const char *url, size_t n);
/* Points the request at a redirect's Location. 0 when followed, 1 when it
 * is not to be followed, -1 when out of memory. */
int gj_req_redirect(gj_req *r, const gj_conf *c, const char *loc, size_t n);
/* The header list, from the credential chosen and the request's kind. */
void gj_req_headers(gj_req *r, const gj_conf *c);
void gj_req_free(gj_req *r);

/* Percent-encodes all but RFC 3986's unreserved characters ('/' too). */
int gj_url_escape(gj_buf *b, const char *s, size_t n);
/* A JSON string literal. */
int gj_json_string(gj_buf *b, const char *s, size_t n);
/* The length of scheme://host[:port] at the start of url (0 when none). */
size_t gj_origin_len(const char *url);
/* url has the client's scheme, host and port. */
int gj_same_origin(const gj_conf *c, const char *url);
/* keep_base_url: a Link URL (n bytes, not NUL-terminated) moved onto the
 * client's own scheme, host, port and prefix: what follows its /api/v4 goes
 * after base (with no /api/v4 in it, its path after base's origin). A URL
 * that is not http(s) is copied as it is. 0, or -1 when out of memory. */
int gj_req_rebase(gj_buf *out, const gj_conf *c, const char *url, size_t n);

#endif
