/* One state machine for a call's tries, whichever driver runs it: what to
 * reset before a try, and after it whether the call is done, goes again at
 * once (a redirect) or again after a wait (backoff, Retry-After). The
 * drivers (run.c, poll.c, step.c) only move a call through it. No Lua. */
#ifndef GJ_TRIES_H
#define GJ_TRIES_H

#include "call.h"

enum { GJ_TRY_DONE, GJ_TRY_AGAIN, GJ_TRY_WAIT };

/* Before a call's first try. */
void gj_tries_start(gj_call *k);
/* Before each try: counts it and resets the answer. */
void gj_try_begin(gj_call *k, lua_State *L);
/* The budget's wait before a try (0: now). The driver waits, then asks
 * again, until it is told 0: the try is counted as begun once the budget
 * has handed it a start, and then 0 is all it is told. clock: the one the
 * driver waits by. */
double gj_try_acquire(gj_call *k, const gj_clock *clock);
/* Right after each try's transport returned: the budget told how it ended
 * (what the answer's headers say, the try no more in flight). The clock is
 * kept for gj_try_end, which the driver calls next. */
void gj_try_answered(gj_call *k, const gj_clock *clock);
/* Tells the budget a call gave up its counted try without one (dropped). */
void gj_try_abandon(gj_call *k);
/* After a try, with k->out set: GJ_TRY_DONE, GJ_TRY_AGAIN, or GJ_TRY_WAIT
 * and *wait seconds. */
int gj_try_end(gj_call *k, double *wait);
/* The call ended well: a 2xx answer read whole, or a 416 to a Range (there
 * was nothing new past what the caller has). */
int gj_tries_ok(const gj_call *k);
/* At the end of a call, before its result: its file renamed into place or
 * removed, on_progress told the end. -1 when on_progress raised. */
int gj_tries_finish(gj_call *k, lua_State *L);
/* The n-th backoff wait: between half and all of base * 2^(n-1), at most
 * max, from the client's random sequence. */
double gj_backoff(gj_conf *c, int n, double base, double max);
/* A failure of the transport's own, with k->errbuf set from msg. */
void gj_try_failed(gj_call *k, const char *msg);

#endif
