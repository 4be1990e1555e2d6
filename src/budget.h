/* The client's budget: the one place every driver asks how long to hold its
 * next request. Today it remembers an answer's "RateLimit-Remaining: 0"
 * until its RateLimit-Reset. No Lua. */
#ifndef GJ_BUDGET_H
#define GJ_BUDGET_H

#include "answer.h"

typedef struct gj_budget {
    double until;           /* Unix time before which no request starts; 0: open */
} gj_budget;

/* Learns from an answer's rate-limit headers. */
void gj_budget_note(gj_budget *g, const gj_res *r, double now_wall);
/* The seconds the next request must wait (0 when the gate is open, or when
 * the wait is longer than max_wait: the server then answers for itself).
 * The gate then counts as waited for, so a caller whose clock is not the
 * wall's (a host's sleep, a spec's fake clock) is not held twice. */
double gj_budget_take(gj_budget *g, double now_wall, double max_wait);

#endif
