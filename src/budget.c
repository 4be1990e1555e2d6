/* The per-client budget before each request. */
#include "budget.h"

void gj_budget_note(gj_budget *g, const gj_res *r, double now_wall)
{
    double remaining, reset;
    if (gj_header_int(r, "ratelimit-remaining", &remaining) && remaining == 0 &&
        gj_header_int(r, "ratelimit-reset", &reset))
        /* GitLab sends a Unix time; the IETF draft a number of seconds */
        g->until = reset < 1e9 ? now_wall + reset : reset;
}

double gj_budget_take(gj_budget *g, double now_wall, double max_wait)
{
    double wait = g->until - now_wall;
    g->until = 0;
    return wait > 0 && wait <= max_wait ? wait : 0;
}
