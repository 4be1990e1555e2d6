/* The default transport, over libcurl: one blocking request on a call's own
 * easy handle (kept alive between calls), or many at once over a multi
 * handle. Each sets the call's outcome (k->out) and hands the answer's
 * bytes to its body. */
#ifndef GJ_CURL_TRANSPORT_H
#define GJ_CURL_TRANSPORT_H

#include "call.h"

/* curl_global_init, once per process; 0, or -1 when it failed. */
int gj_curl_global(void);
/* Gives the call its easy handle (freed by gj_call_free); -1 when out of memory. */
int gj_curl_open(gj_call *k);
/* One request, blocking. */
void gj_curl_perform(gj_call *k);

/* Started calls: a multi handle (NULL when out of memory) ... */
void *gj_curl_multi_new(void);
/* ... a call added to it: 0, or -1 with k->out telling why it was not ... */
int gj_curl_multi_add(void *m, gj_call *k);
/* ... moved on for at most timeout seconds ... */
void gj_curl_multi_run(void *m, double timeout);
/* ... a call whose transfer ended (its outcome set), or NULL ... */
gj_call *gj_curl_multi_done(void *m);
/* ... one taken out before its end, and the handle freed. */
void gj_curl_multi_remove(void *m, gj_call *k);
void gj_curl_multi_free(void *m);

#endif
