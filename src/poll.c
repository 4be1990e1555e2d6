/* Started calls: each its own call object, tried by poll when its time has
 * come, over the transport's multi handle (or one after the other through a
 * Lua transport). */
#include "calls.h"
#include "client.h"
#include "curl_transport.h"
#include "poll.h"
#include "response.h"
#include "run.h"
#include "tries.h"
#include "util.h"

/* client:start(method, ..., callback): the request is built now, into a
 * call of its own, and sent by poll. */
static int l_start(lua_State *L)
{
    gj_client *c = gj_client_check(L, 1);
    int top = lua_gettop(L);
    const char *name = luaL_checkstring(L, 2);
    const gj_api *api;
    gj_call *k;
    gj_args a;
    if (top < 3 || lua_type(L, top) != LUA_TFUNCTION)
        return luaL_argerror(L, top < 3 ? 3 : top, "callback: function expected as the last argument");
    api = gj_api_find(name);
    if (api == NULL)
        return luaL_argerror(L, 2, lua_pushfstring(L, "method: no call named '%s'", name));
    k = gj_call_new(L, 1, c, &c->conf, &c->budget);
    a.L = L;
    a.base = 2;
    a.last = top - 1;
    a.blame.name = "start";
    a.blame.shift = 1;
    a.blame.arg = 0;
    a.blame.prefix = "";
    api->build(&a, k);
    gj_tries_start(k);
    lua_pushvalue(L, top);
    k->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    k->state = GJ_QUEUED;
    k->due = 0;
    gj_call_link(&c->calls, k);
    gj_call_track(L, 1, k, top + 1);
    lua_settop(L, top + 1);
    return 1;
}

/* A call ended: its callback gets (value [, page]) or (nil, err). */
static void complete(lua_State *L, gj_call *k)
{
    gj_client *c = k->client;
    int n;
    gj_call_unlink(&c->calls, k);
    k->state = GJ_DONE;
    gj_call_untrack(L, 1, k); /* the handle stays on the stack while k is used */
    if (k->body.err_ref == LUA_NOREF)
        gj_tries_finish(k, L);
    else
        gj_body_finish(&k->body, L, 0); /* a sink raised: its file goes */
    if (k->body.err_ref != LUA_NOREF) {
        gj_unref(L, &k->cb_ref);
        gj_unref(L, &k->body.sink_ref);
        c->polling = 0;
        gj_body_reraise(L, &k->body);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, k->cb_ref);
    gj_unref(L, &k->cb_ref);
    n = gj_push_result(L, k);
    gj_unref(L, &k->body.sink_ref);
    if (lua_pcall(L, n, 0, 0) != LUA_OK) {
        c->polling = 0;
        lua_error(L);
    }
    lua_pop(L, 1);
}

/* After one try of a started call. */
static void step(lua_State *L, gj_call *k)
{
    double wait = 0;
    if (k->client->closed) /* from inside the transfer: release drops it */
        return;
    if (k->dropped) {
        gj_client_drop(L, 1, k);
        return;
    }
    if (k->body.err_ref == LUA_NOREF) {
        switch (gj_try_end(k, &wait)) {
        case GJ_TRY_AGAIN:
            k->state = GJ_QUEUED;
            k->due = 0;
            return;
        case GJ_TRY_WAIT:
            k->state = GJ_QUEUED;
            k->due = gj_mono_now() + wait;
            return;
        default:
            break;
        }
    }
    complete(L, k);
}

/* Drops the calls canceled while a transfer ran, now that it has returned
 * (libcurl is out of their callbacks: they may leave its multi handle). */
static void sweep(lua_State *L, gj_client *c)
{
    gj_call *k = c->calls;
    while (k && !c->closed) {
        gj_call *next = k->next;
        if (k->dropped)
            gj_client_drop(L, 1, k);
        k = next;
    }
}

/* Sends every queued call whose time has come. A callback may start or
 * cancel calls, so the list is walked afresh after each one. */
static void launch_due(lua_State *L, gj_client *c, int tix)
{
    for (;;) {
        gj_call *k;
        double now = gj_mono_now(), gate;
        for (k = c->calls; k; k = k->next)
            if (k->state == GJ_QUEUED && k->due <= now)
                break;
        if (k == NULL || c->closed)
            return;
        gate = gj_budget_take(&c->budget, gj_wall_now(), c->conf.max_wait);
        if (gate > 0) {
            /* the gate holds every queued call, each timer moved past it */
            for (k = c->calls; k; k = k->next)
                if (k->state == GJ_QUEUED && k->due < now + gate)
                    k->due = now + gate;
            return;
        }
        gj_try_begin(k, L);
        k->state = GJ_ACTIVE;
        if (lua_type(L, tix) == LUA_TFUNCTION) {
            if (gj_run_try(L, c, k, tix)) {
                c->polling = 0;
                gj_client_drop(L, 1, k);
                lua_error(L);
            }
            step(L, k);
            sweep(L, c);
        } else if (c->multi == NULL && (c->multi = gj_curl_multi_new()) == NULL) {
            gj_try_failed(k, "out of memory starting the request");
            k->state = GJ_QUEUED; /* never added: nothing to remove */
            step(L, k);
        } else if (gj_curl_multi_add(c->multi, k)) {
            k->state = GJ_QUEUED;
            step(L, k);
        }
    }
}

static int l_poll(lua_State *L)
{
    gj_client *c = gj_client_check(L, 1);
    double timeout = luaL_optnumber(L, 2, 0), deadline;
    int tix, count = 0;
    gj_call *k;
    if (!(timeout >= 0))
        return luaL_argerror(L, 2, "timeout: non-negative number of seconds expected");
    if (c->polling)
        return luaL_error(L, "gitlab.jobs: poll is already running (called from a callback?)");
    lua_settop(L, 2);
    gj_client_hook(L, 1, "transport");
    tix = 3;
    deadline = gj_mono_now() + timeout;
    c->polling = 1;
    for (;;) {
        double now, wait, due = -1;
        int active = 0;
        launch_due(L, c, tix);
        if (c->calls == NULL || c->closed)
            break;
        now = gj_mono_now();
        wait = deadline - now;
        for (k = c->calls; k; k = k->next) {
            if (k->state == GJ_ACTIVE) {
                active = 1;
                k->body.L = L; /* a sink runs on the thread that polls */
            } else if (due < 0 || k->due < due) {
                due = k->due;
            }
        }
        if (due >= 0 && due - now < wait)
            wait = due - now;
        if (wait < 0)
            wait = 0;
        if (active && c->multi) {
            c->busy = 1; /* sinks run inside: a cancel or close waits for the return */
            gj_curl_multi_run(c->multi, wait);
            c->busy = 0;
        } else {
            gj_nanosleep(wait);
        }
        while (!c->closed && c->multi && (k = gj_curl_multi_done(c->multi)) != NULL)
            step(L, k);
        sweep(L, c);
        if (c->closed || gj_mono_now() >= deadline)
            break;
    }
    c->polling = 0;
    if (c->closed) { /* by a sink or a callback: free what the transfer held */
        gj_client_release(L, 1, c);
        lua_pushinteger(L, 0);
        return 1;
    }
    for (k = c->calls; k; k = k->next)
        count++;
    lua_pushinteger(L, count);
    return 1;
}

static int l_handle_cancel(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    int running = k->state != GJ_DONE && !k->dropped;
    if (running && k->client->busy && k->state == GJ_ACTIVE) {
        /* canceled from inside a transfer (a sink, a transport): libcurl may
         * be writing to this very call, so it is only stopped now and
         * dropped when the transfer returns */
        k->dropped = 1;
        k->body.stop = 1;
    } else if (running) {
        lua_settop(L, 1);
        gj_getuservalue(L, 1);
        lua_rawgeti(L, -1, 1); /* the client */
        gj_client_drop(L, lua_gettop(L), k);
    }
    lua_pushboolean(L, running);
    return 1;
}

static int l_handle_gc(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    if (k->state != GJ_DONE) {
        /* collected with its client, whose __gc has not run yet */
        if (k->state == GJ_ACTIVE)
            gj_curl_multi_remove(k->client->multi, k);
        gj_call_unlink(&k->client->calls, k);
        k->state = GJ_DONE;
    }
    gj_call_release(L, k);
    gj_call_free(k);
    return 0;
}

static int l_handle_tostring(lua_State *L)
{
    gj_call *k = (gj_call *)luaL_checkudata(L, 1, GJ_CALL_MT);
    lua_pushfstring(L, "gitlab.jobs.call (%s %s, %s): %p", k->req.method ? k->req.method : "?",
                    gj_buf_str(&k->req.path), k->state == GJ_DONE ? "done" : "running", (void *)k);
    return 1;
}

const luaL_Reg gj_poll_methods[] = {
    {"start", l_start},
    {"poll", l_poll},
    {NULL, NULL}};

const luaL_Reg gj_handle_methods[] = {{"cancel", l_handle_cancel}, {NULL, NULL}};

const luaL_Reg gj_handle_metamethods[] = {
    {"__gc", l_handle_gc},
    {"__tostring", l_handle_tostring},
    {NULL, NULL}};
