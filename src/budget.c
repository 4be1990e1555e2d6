/* The per-client budget before each request. */
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "util.h"

/* How long a try waits before it asks again, when only an answer still to
 * come can tell when the next window begins. */
#define ASK_AGAIN 0.05

static double mono(void *ud)
{
    (void)ud;
    return gj_mono_now();
}

const gj_clock gj_mono_clock = {mono, NULL};

int gj_budget_init(gj_budget *b, int n, double per)
{
    b->window_n = n;
    b->window_s = per;
    b->starts = NULL;
    b->oldest = b->filled = 0;
    b->next_used = b->used = b->others = 0;
    b->reset_at = GJ_UNKNOWN;
    if (n > 0 && (b->starts = (double *)calloc((size_t)n, sizeof(double))) == NULL)
        return -1;
    return 0;
}

void gj_budget_free(gj_budget *b)
{
    free(b->starts);
    b->starts = NULL;
}

/* The user's own limit: the earliest a start at s may be, its starts only
 * going forward. When the window is full, a little later than its oldest
 * start's window ends (2%, a tenth of a second at least): a request's trip
 * to the server varies, and one that arrives sooner than the one a window
 * before it must still find that one's window over. */
static double window_free(const gj_budget *b, double s)
{
    if (s < b->last)
        s = b->last;
    if (b->filled == b->window_n) {
        double guard = b->window_s * 0.02 > 0.1 ? b->window_s * 0.02 : 0.1;
        double free_at = b->starts[b->oldest] + b->window_s + guard;
        if (free_at > s)
            s = free_at;
    }
    return s;
}

static void window_take(gj_budget *b, double s)
{
    if (b->filled == b->window_n) {
        b->starts[b->oldest] = s;
        b->oldest = (b->oldest + 1) % b->window_n;
    } else {
        b->starts[(b->oldest + b->filled) % b->window_n] = s;
        b->filled++;
    }
    b->last = s;
}

/* The server's window has ended: the next holds what was taken of it
 * already, until an answer tells when it ends. */
static void roll(gj_budget *b)
{
    b->used = b->next_used;
    b->next_used = 0;
    b->others = 0;
    b->reset_at = GJ_UNKNOWN;
}

/* What the server said, for a try that would begin at *s: 1 when it may
 * (*s moved to the next window when this one is full), 0 when it must ask
 * again later. */
static int take(gj_budget *b, double now, double *s, double max_wait)
{
    if (*s < b->reset_at) {
        if (b->limit - b->used - b->others > 0 || (b->reset_at == GJ_UNKNOWN && b->in_flight == 0) ||
            (b->reset_at != GJ_UNKNOWN && b->reset_at - now > max_wait)) {
            /* room left; or no answer is to come, and this one goes to learn;
             * or too long to wait, and the server answers for itself */
            b->used++;
            return 1;
        }
        if (b->reset_at == GJ_UNKNOWN)
            return 0;
        *s = b->reset_at;
    }
    if (b->next_used < b->limit) {
        b->next_used++;
        return 1;
    }
    return 0;
}

double gj_budget_acquire(gj_budget *b, const gj_clock *clock, double max_wait, int retry, int *granted)
{
    double now, s;
    *granted = 1;
    if (b->window_n > 0 || b->learned || b->paused_until > 0) {
        now = s = clock->now(clock->ud);
        if (b->paused_until <= now)
            b->paused_until = 0; /* the pause is over */
        else if (b->paused_until - now <= max_wait)
            s = b->paused_until;
        if (b->window_n > 0)
            s = window_free(b, s);
        if (b->learned && now >= b->reset_at)
            roll(b);
        if (b->learned && !take(b, now, &s, max_wait)) {
            *granted = 0;
            return (b->reset_at == GJ_UNKNOWN || b->reset_at < now ? 0 : b->reset_at - now) + ASK_AGAIN;
        }
        if (b->window_n > 0)
            window_take(b, s);
        s -= now;
    } else {
        s = 0; /* nothing holds it: no need to ask the time */
    }
    b->in_flight++;
    b->requests++;
    if (retry)
        b->retries++;
    b->waited += s;
    return s;
}

void gj_budget_release(gj_budget *b, const gj_res *r, const gj_clock *clock, size_t bytes)
{
    double remaining, reset, limit, now, at;
    if (b->in_flight > 0)
        b->in_flight--;
    b->bytes += (double)bytes;
    if (r == NULL)
        return;
    if (r->status == 429)
        b->answers_429++;
    if (gj_header_int(r, "ratelimit-limit", &limit) && limit >= 1)
        b->limit = limit < 1e9 ? (long)limit : 1000000000L;
    if (!gj_header_int(r, "ratelimit-remaining", &remaining) || !gj_header_int(r, "ratelimit-reset", &reset))
        return;
    if (remaining > 1e9)
        remaining = 1e9;
    /* GitLab sends a Unix time; the IETF draft a number of seconds */
    now = clock->now(clock->ud);
    at = reset < 1e9 ? now + reset : now + (reset - gj_wall_now());
    if (!(at > now))
        return; /* of a window over already */
    if (b->learned && (now >= b->reset_at || (b->reset_at != GJ_UNKNOWN && at > b->reset_at + 0.5)))
        roll(b); /* a later window than the one known */
    if (!b->learned) {
        /* the first the server said: every try so far counted in its window */
        b->used = (long)b->requests;
        b->learned = 1;
    }
    if (b->reset_at == GJ_UNKNOWN || at > b->reset_at)
        b->reset_at = at;
    /* The server counted at most this client's tries of the window: what
     * else it counted is another client's (one token shared by several).
     * Counted so, another's share is never taken for more than it is. */
    if (b->limit <= 0)
        b->limit = (long)remaining + b->used; /* no RateLimit-Limit: what this window held */
    if ((long)(b->limit - remaining) - b->used > b->others)
        b->others = (long)(b->limit - remaining) - b->used;
}

void gj_budget_pause(gj_budget *b, double now, double wait)
{
    if (wait > 0 && now + wait > b->paused_until)
        b->paused_until = now + wait;
}
