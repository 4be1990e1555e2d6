/* The per-client gate before each request. */
#include "gate.h"

void gj_gate_note(gj_gate *g, const gj_res *r, double now_wall)
{
    double remaining, reset;
    if (gj_header_int(r, "ratelimit-remaining", &remaining) && remaining == 0 &&
        gj_header_int(r, "ratelimit-reset", &reset))
        /* GitLab sends a Unix time; the IETF draft a number of seconds */
        g->until = reset < 1e9 ? now_wall + reset : reset;
}

double gj_gate_take(gj_gate *g, double now_wall, double max_wait)
{
    double wait = g->until - now_wall;
    g->until = 0;
    return wait > 0 && wait <= max_wait ? wait : 0;
}
