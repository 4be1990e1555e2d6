/* A call: one API request with everything it needs while under way (the
 * request, the answer, where the body goes, how its tries went), and its
 * lifetime. A client has one for its blocking calls; each started call is a
 * handle (userdata) of its own. The transport's connection is reached only
 * through conn_free, so nothing here knows libcurl. */
#ifndef GJ_CALL_H
#define GJ_CALL_H

#include "answer.h"
#include "body.h"
#include "compat.h"
#include "conf.h"
#include "budget.h"
#include "request.h"

#define GJ_CALL_MT "gitlab.jobs.call"

/* What a 2xx answer holds: a JSON object, a JSON array (a page), a log, the
 * bytes of a download, or nothing to read (a DELETE). */
enum { GJ_OBJECT, GJ_LIST, GJ_LOG, GJ_BYTES, GJ_NONE };

/* How the last try ended, besides the answer in res. */
typedef struct gj_outcome {
    int ok;                 /* an HTTP answer arrived (any status) */
    const char *kind;       /* when !ok: "network", "timeout", "tls" */
    int sent;               /* when !ok: the request may have reached the server */
    int permanent;          /* when !ok: trying again cannot help (a certificate refused) */
} gj_outcome;

/* A started call's state. */
enum { GJ_QUEUED, GJ_ACTIVE, GJ_DONE };

struct gj_client;

typedef struct gj_call {
    struct gj_client *client;
    gj_conf *conf;          /* the client's settings */
    gj_budget *budget;      /* the client's budget */
    gj_req req;
    gj_res res;
    gj_body body;
    int kind;               /* GJ_OBJECT, GJ_LIST, GJ_LOG, GJ_BYTES, GJ_NONE */
    int meta;               /* a log's result comes with the answer's status and the log's length */
    int attempts, hops;
    gj_outcome out;
    char errbuf[256];       /* the transport's description of a failure */
    void *conn;             /* the transport's connection, freed by conn_free */
    void *conn_headers;
    void (*conn_free)(struct gj_call *k);
    /* started calls */
    int state;              /* GJ_QUEUED, GJ_ACTIVE, GJ_DONE */
    int dropped;            /* canceled while its transfer ran: dropped once that returns */
    int cb_ref;             /* the callback in the registry */
    double due;             /* monotonic time before which it is not sent */
    struct gj_call *next, *prev;
} gj_call;

void gj_call_init(gj_call *k, struct gj_client *c, gj_conf *conf, gj_budget *budget);
/* Frees the call's memory and connection (no Lua: __gc may run late). */
void gj_call_free(gj_call *k);
/* Drops the call's registry references. */
void gj_call_release(lua_State *L, gj_call *k);
/* A new handle for a call of the client at stack index cidx, pushed. */
gj_call *gj_call_new(lua_State *L, int cidx, struct gj_client *c, gj_conf *conf, gj_budget *budget);

/* A list of started calls. */
void gj_call_link(gj_call **head, gj_call *k);
void gj_call_unlink(gj_call **head, gj_call *k);
/* While a call runs, its handle is kept in the client's uservalue (the
 * client at stack index cidx), so that a running call is not collected and
 * a forgotten client is. untrack pushes the handle (or nil). */
void gj_call_track(lua_State *L, int cidx, gj_call *k, int hidx);
void gj_call_untrack(lua_State *L, int cidx, gj_call *k);

#endif
