/* Internal interface shared by the C files of gitlab.jobs.core.
 * Nothing here is exported: the library is built with -fvisibility=hidden
 * and only luaopen_gitlab_jobs_core is marked visible. */
#ifndef GJ_H
#define GJ_H

#include <stddef.h>
#include "compat.h"

#define GJ_VERSION "0.1.0"
#define GJ_CLIENT_MT "gitlab.jobs.client"
#define GJ_TCLIENT_MT "gitlab.jobs.client (transport)"
#define GJ_ERROR_MT "gitlab.jobs.error"
#define GJ_REG_DECODE "gitlab.jobs.decode"
#define GJ_REG_NULL "gitlab.jobs.null"

/* A growable byte buffer; always NUL-terminated once anything was added. */
typedef struct gj_buf {
    char *p;
    size_t n, cap;
} gj_buf;

int gj_buf_add(gj_buf *b, const void *s, size_t n); /* 0, or -1 on OOM */
int gj_buf_adds(gj_buf *b, const char *s);
int gj_buf_addc(gj_buf *b, char c);
void gj_buf_free(gj_buf *b);
#define gj_buf_reset(b) ((b)->n = 0, (b)->p ? (void)((b)->p[0] = '\0') : (void)0)

/* Which credential a request carries. */
enum { GJ_AUTH_DEFAULT, GJ_AUTH_JOB, GJ_AUTH_NONE };

/* A request, as plain data: no I/O happens in request.c. */
#define GJ_MAX_HEADERS 8
typedef struct gj_req {
    const char *method;    /* "GET" or "POST" */
    gj_buf url;            /* absolute URL, with query */
    gj_buf path;           /* after /api/v4, without query: for errors */
    gj_buf body;
    int has_body;
    int nheaders;
    const char *hname[GJ_MAX_HEADERS];
    const char *hvalue[GJ_MAX_HEADERS];
    gj_buf auth_value;     /* "Bearer ..." lives here */
} gj_req;

int gj_url_escape(gj_buf *b, const char *s, size_t n);
int gj_json_string(gj_buf *b, const char *s, size_t n);
void gj_req_header(gj_req *r, const char *name, const char *value);

/* An answer, as plain data. head holds "Name: value\r\n" lines of the
 * final response only. */
typedef struct gj_res {
    long status;
    gj_buf head;
    gj_buf body;
} gj_res;

const char *gj_header(const gj_res *r, const char *name, size_t *len);
int gj_header_int(const gj_res *r, const char *name, double *out);
const char *gj_reason(long status);
double gj_parse_http_date(const char *s, size_t n); /* Unix time, or -1 */
double gj_days_from_civil(int y, int m, int d); /* days since 1970-01-01 */
double gj_retry_after(const gj_res *r, double now_wall); /* seconds, or -1 */

/* Pushes the page table read from the pagination headers. */
void gj_push_page(lua_State *L, const gj_res *r);
/* Decodes JSON with the module's private decoder; on success pushes the
 * value (JSON null removed, integral numbers as integers) and returns 1;
 * on failure pushes a message and returns 0. */
int gj_push_json(lua_State *L, const char *s, size_t n);

/* Error objects. */
typedef struct gj_errinfo {
    const char *kind;      /* "http", "network", "timeout", "decode", "tls" */
    const char *method, *path;
    long status;           /* 0 when none */
    int attempts;
    int maybe_done;
    double retry_after;    /* < 0 when none */
} gj_errinfo;

/* Pushes nil and an error table, returns 2. The message is on top of the
 * stack before the call (it is consumed); body may be NULL. */
int gj_push_error(lua_State *L, const gj_errinfo *e, const char *body, size_t bodylen);
/* Pushes nil and the error for a non-2xx answer, returns 2. */
int gj_push_http_error(lua_State *L, gj_errinfo *e, const gj_res *r);
void gj_open_error(lua_State *L);

/* ---- the client, its calls and its transports ---- */

typedef struct gj_client gj_client;
typedef struct gj_call gj_call;

enum { R_OBJECT, R_LIST, R_TRACE };

/* What a transport reports besides the answer in k->res. */
typedef struct gj_outcome {
    int ok;                 /* an HTTP answer arrived (any status) */
    const char *kind;       /* when !ok: "network", "timeout", "tls" */
    int sent;               /* when !ok: the request may have reached the server */
    int permanent;          /* when !ok: trying again cannot help (a certificate refused) */
} gj_outcome;
enum { CALL_QUEUED, CALL_ACTIVE, CALL_DONE };

/* One request and everything it needs while under way. A client has one
 * for its blocking calls; each call begun with start() has its own. */
struct gj_call {
    gj_client *client;
    gj_req req;
    gj_res res;
    void *curl;             /* CURL *, owned by curl_transport.c */
    void *curl_headers;     /* struct curl_slist * of the request under way */
    int kind, auth;         /* R_* and GJ_AUTH_* */
    size_t offset;          /* trace: bytes to skip */
    int attempts, hops;
    /* while a request is under way */
    lua_State *L;
    int sink;               /* stack index of the sink, 0 when none */
    int sink_ref;           /* or its registry reference (started calls) */
    int skipping;           /* a trace: the body is skipped/streamed when 2xx */
    size_t skip;            /* bytes of a 2xx body still to drop */
    size_t delivered;       /* bytes given to the sink so far */
    int err_ref;            /* registry reference of what the sink raised */
    int too_big;            /* the body went past max_body */
    char errbuf[256];
    /* started calls */
    int state;              /* CALL_* */
    int cb_ref;             /* registry reference of the callback */
    double due;             /* monotonic time before which it is not sent */
    gj_outcome out;         /* how the last try ended (calls driven from Lua) */
    gj_call *next, *prev;   /* the client's started calls */
};

struct gj_client {
    int closed;             /* no call may start */
    int busy;               /* a request is under way (a sink runs inside it) */
    int polling;            /* poll() is running */
    char *base;             /* scheme://host[:port][/prefix], no trailing slash */
    size_t origin_len;      /* length of scheme://host[:port] in base */
    char *token, *job_token, *oauth_token, *user_agent, *ca_file;
    long timeout_ms, connect_timeout_ms;
    int verify_tls;
    size_t max_body;
    int retry_max;
    double base_delay, max_delay;
    double ratelimit_until; /* wall-clock time the next request waits for */
    unsigned long rng;
    gj_call sync;           /* the blocking calls; keeps its connection alive */
    gj_call *building;      /* start(): the call the arguments are built into */
    void *multi;            /* CURLM * for started calls, made on first use */
    gj_call *calls;         /* started calls not yet done */
};

int gj_curl_global(void);
int gj_curl_open(gj_call *k);
void gj_curl_close(gj_call *k);
/* One blocking request. */
void gj_curl_perform(gj_call *k, gj_outcome *o);
/* Started calls: add to the client's multi handle, run it for at most
 * timeout seconds, read the calls that ended, remove one. */
int gj_multi_add(gj_client *c, gj_call *k, gj_outcome *o);
void gj_multi_run(gj_client *c, double timeout);
gj_call *gj_multi_next_done(gj_client *c, gj_outcome *o);
void gj_multi_remove(gj_client *c, gj_call *k);
void gj_multi_close(gj_client *c);
/* Hands 2xx trace bytes on: skip, then sink or buffer. 0, or -1 to abort. */
int gj_deliver(gj_call *k, const char *p, size_t n);

#endif
