/* Blocking calls: build into the client's own call, then try until done. */
#include "calls.h"
#include "curl_transport.h"
#include "lua_transport.h"
#include "response.h"
#include "run.h"
#include "tries.h"
#include "util.h"

int gj_run_try(lua_State *L, gj_client *c, gj_call *k, int tix)
{
    int rc = 0;
    c->busy = 1;
    if (lua_type(L, tix) == LUA_TFUNCTION)
        rc = gj_lua_perform(L, k, tix);
    else
        gj_curl_perform(k);
    c->busy = 0;
    return rc;
}

/* Runs the call built in k, the client at stack index 1, and pushes what it
 * returns. */
static int run(lua_State *L, gj_client *c, gj_call *k)
{
    double wait = 0;
    int tix;
    gj_client_hook(L, 1, "transport");
    tix = lua_gettop(L);
    gj_tries_start(k);
    for (;;) {
        wait = gj_budget_take(&c->budget, gj_wall_now(), c->conf.max_wait);
        if (wait > 0)
            gj_client_sleep(L, 1, wait);
        gj_try_begin(k, L);
        if (gj_run_try(L, c, k, tix)) {
            gj_body_release(L, &k->body);
            return lua_error(L);
        }
        if (k->body.err_ref != LUA_NOREF) { /* a callback raised: its file goes */
            gj_body_finish(&k->body, L, 0);
            gj_unref(L, &k->body.sink_ref);
            gj_body_reraise(L, &k->body);
        }
        if (c->closed) /* by its sink: no other try */
            break;
        switch (gj_try_end(k, &wait)) {
        case GJ_TRY_AGAIN:
            continue;
        case GJ_TRY_WAIT:
            gj_client_sleep(L, 1, wait);
            continue;
        default:
            break;
        }
        break;
    }
    return gj_run_result(L, k);
}

int gj_run_result(lua_State *L, gj_call *k)
{
    int n;
    if (gj_tries_finish(k, L)) { /* on_progress raised at the end */
        gj_unref(L, &k->body.sink_ref);
        gj_body_reraise(L, &k->body);
    }
    n = gj_push_result(L, k);
    gj_body_release(L, &k->body);
    return n;
}

int gj_run_api(lua_State *L)
{
    const gj_api *api = (const gj_api *)lua_touserdata(L, lua_upvalueindex(1));
    gj_client *c = gj_client_check(L, 1);
    gj_call *k = &c->sync;
    gj_args a;
    int n;
    a.L = L;
    a.base = 1;
    a.last = lua_gettop(L);
    a.blame.name = api->name;
    a.blame.shift = 0;
    a.blame.arg = 0;
    a.blame.prefix = "";
    gj_body_release(L, &k->body); /* a sink an interrupted call left */
    api->build(&a, k);
    n = run(L, c, k);
    if (c->closed) /* its sink closed it */
        gj_client_release(L, 1, c);
    return n;
}
