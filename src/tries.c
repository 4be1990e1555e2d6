/* Retries, redirects and the rate-limit budget, decided once for every driver. */
#include <math.h>
#include <string.h>

#include "tries.h"
#include "util.h"

void gj_tries_start(gj_call *k)
{
    gj_req_headers(&k->req, k->conf);
    k->attempts = 0;
    k->hops = 0;
    k->body.delivered = 0;
    k->body.total = -1;
    k->body.failed[0] = '\0';
}

void gj_try_begin(gj_call *k, lua_State *L)
{
    size_t from = gj_body_from(&k->body);
    k->attempts++;
    gj_res_reset(&k->res);
    gj_body_try(&k->body, L, k->conf->max_body);
    k->errbuf[0] = '\0';
    /* a log past its offset, or a download cut short: only the rest */
    k->req.range_from = from > 0 || k->body.ranged ? (long long)from : -1;
    gj_req_headers(&k->req, k->conf);
}

int gj_tries_ok(const gj_call *k)
{
    long s = k->res.status;
    if (!k->out.ok || k->body.too_big || k->body.failed[0] || k->body.err_ref != LUA_NOREF)
        return 0;
    /* 416 to a Range: nothing past what the caller has */
    return (s >= 200 && s <= 299) || (s == 416 && k->req.range_from >= 0);
}

int gj_tries_finish(gj_call *k, lua_State *L)
{
    gj_body_finish(&k->body, L, gj_tries_ok(k));
    return k->body.err_ref != LUA_NOREF ? -1 : 0;
}

void gj_try_failed(gj_call *k, const char *msg)
{
    k->out.ok = 0;
    k->out.kind = "network";
    k->out.sent = 0;
    k->out.permanent = 0;
    strncpy(k->errbuf, msg, sizeof k->errbuf - 1);
    k->errbuf[sizeof k->errbuf - 1] = '\0';
}

double gj_backoff(gj_conf *c, int n, double base, double max)
{
    double d = base * pow(2.0, n - 1), r;
    if (d > max)
        d = max;
    /* xorshift: jitter, so that many clients do not retry in step */
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    r = (double)(c->rng % 1000000UL) / 1e6;
    return d / 2 + r * d / 2;
}

static int retryable_status(long s, int post)
{
    if (s == 429)
        return 1;
    return !post && (s == 500 || s == 502 || s == 503 || s == 504);
}

static int is_redirect(long s)
{
    return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

static double backoff(gj_call *k)
{
    return gj_backoff(k->conf, k->attempts, k->conf->base_delay, k->conf->max_delay);
}

int gj_try_end(gj_call *k, double *wait)
{
    gj_conf *c = k->conf;
    int post = strcmp(k->req.method, "POST") == 0, get = strcmp(k->req.method, "GET") == 0;
    if (k->body.too_big || k->body.failed[0])
        return GJ_TRY_DONE;
    if (k->out.ok) {
        gj_budget_note(k->budget, &k->res, gj_wall_now());
        if (get && is_redirect(k->res.status) && k->hops < 10) {
            size_t n;
            const char *loc = gj_header(&k->res, "location", &n);
            int rc = loc ? gj_req_redirect(&k->req, c, loc, n) : 1;
            if (rc < 0) {
                gj_try_failed(k, "out of memory following a redirect");
                return GJ_TRY_DONE;
            }
            if (rc == 0) {
                k->hops++;
                k->attempts--; /* a hop is not a retry */
                return GJ_TRY_AGAIN;
            }
        }
        if (retryable_status(k->res.status, post) && k->attempts <= c->retry_max) {
            *wait = -1;
            if (k->res.status == 429 || k->res.status == 503)
                *wait = gj_retry_after(&k->res, gj_wall_now());
            if (*wait > c->max_wait)
                return GJ_TRY_DONE; /* the caller decides: err.retry_after says how long */
            if (*wait < 0)
                *wait = backoff(k);
            return GJ_TRY_WAIT;
        }
        return GJ_TRY_DONE;
    }
    if (k->attempts <= c->retry_max && (!post || !k->out.sent) && !k->out.permanent) {
        *wait = backoff(k);
        return GJ_TRY_WAIT;
    }
    return GJ_TRY_DONE;
}
