/* The client's rate-limit budget: the one place every driver (blocking,
 * started, stepped) asks when its next request may begin, and tells how
 * each try ended. It keeps a rate_limit option's sliding window, what the
 * server's RateLimit-* headers say (the requests in flight counted), and a
 * 429's pause for every call of the client. Times are seconds on the
 * client's clock: its clock option for the calls that wait through its
 * sleep (blocking, stepped), the monotonic clock for started calls, whose
 * waits are poll's timers. No Lua. */
#ifndef GJ_BUDGET_H
#define GJ_BUDGET_H

#include <stddef.h>

#include "answer.h"

/* A clock, read only when the budget needs the time (most requests need
 * none: a client with no limit of its own, and none learned). */
typedef struct gj_clock {
    double (*now)(void *ud);
    void *ud;
} gj_clock;

/* The monotonic clock. */
extern const gj_clock gj_mono_clock;

typedef struct gj_budget {
    /* rate_limit = {requests = n, per = s}: no more than n starts in any s seconds */
    int window_n;
    double window_s;
    double *starts;         /* the last window_n starts, a ring from the oldest */
    int oldest, filled;
    double last;            /* the latest start handed out */
    /* what the server said: its window ends at reset_at (GJ_UNKNOWN: a
     * window whose end no answer told yet) and holds limit requests
     * (RateLimit-Limit); used of them are this client's tries, others
     * another's (a token shared); next_used, this client's tries handed the
     * window that begins at reset_at */
    int learned;
    long limit, used, others, next_used;
    double reset_at;
    double paused_until;    /* a 429 holds every call till then */
    int in_flight;          /* tries handed a start and not ended */
    /* what client:stats() tells */
    double requests, answers_429, retries, bytes, waited;
} gj_budget;

#define GJ_UNKNOWN 1e300

/* Sets up the rate_limit window (n 0: none); -1 when out of memory. */
int gj_budget_init(gj_budget *b, int n, double per);
void gj_budget_free(gj_budget *b);
/* When a try may begin: the seconds to wait first. *granted 1: the try is
 * counted as begun then (and in flight); 0: it is not, and asks again after
 * the wait (the window it would go in is full, and only an answer still to
 * come can tell when the next begins). A wait that only the server asked
 * for (its headers, a 429) and that is longer than max_wait is not waited:
 * the server then answers for itself. retry: the try is a call's second or
 * later. */
double gj_budget_acquire(gj_budget *b, const gj_clock *clock, double max_wait, int retry, int *granted);
/* A try ended: r its answer (NULL when none came). bytes: the body bytes it read. */
void gj_budget_release(gj_budget *b, const gj_res *r, const gj_clock *clock, size_t bytes);
/* A 429 (or 503) asked every call to wait that long. */
void gj_budget_pause(gj_budget *b, double now, double wait);

#endif
