/* The calls of the Jobs API, each as a builder of its request, and the table
 * of every call. */
#include <stdlib.h>
#include <string.h>

#include "artifacts.h"
#include "build.h"
#include "calls.h"

const char *const gj_statuses[] = {
    "created", "waiting_for_resource", "preparing", "waiting_for_callback",
    "pending", "running", "success", "failed", "canceling", "canceled",
    "skipped", "manual", "scheduled", NULL};

static int is_status(const char *s)
{
    int i;
    for (i = 0; gj_statuses[i]; i++)
        if (strcmp(s, gj_statuses[i]) == 0)
            return 1;
    return 0;
}

/* scope: a status or an array of them, sent as scope[]=a&scope[]=b */
static void query_scope(const gj_args *a, gj_call *k, int i, int opts)
{
    lua_State *L = a->L;
    int t = gj_args_field(L, opts, "scope"), v = lua_gettop(L);
    if (t == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, v, &n);
        gj_args_nonul(a, i, v, "scope");
        if (!is_status(s))
            gj_args_error(a, i, lua_pushfstring(L, "scope: unknown status '%s'", s));
        gj_build_ok(L, gj_req_query(&k->req, "scope%5B%5D", s, n));
    } else if (t == LUA_TTABLE) {
        size_t j, n = lua_rawlen(L, v);
        if (n == 0)
            gj_args_error(a, i, "scope: empty array (leave scope out to get every status)");
        for (j = 1; j <= n; j++) {
            lua_rawgeti(L, v, (int)j);
            if (lua_type(L, -1) != LUA_TSTRING)
                gj_args_error(a, i, lua_pushfstring(L, "scope: status string expected at [%d], got %s",
                                                    (int)j, luaL_typename(L, -1)));
            gj_args_nonul(a, i, lua_gettop(L), "scope");
            if (!is_status(lua_tostring(L, -1)))
                gj_args_error(a, i, lua_pushfstring(L, "scope: unknown status '%s'", lua_tostring(L, -1)));
            lua_pop(L, 1);
        }
        for (j = 1; j <= n; j++) {
            size_t m;
            const char *s;
            lua_rawgeti(L, v, (int)j);
            s = lua_tolstring(L, -1, &m);
            gj_build_ok(L, gj_req_query(&k->req, "scope%5B%5D", s, m));
            lua_pop(L, 1);
        }
    } else if (t != LUA_TNIL) {
        gj_args_expected(a, i, v, "scope", "status string or array of them");
    }
    lua_pop(L, 1);
}

static const char *const ORDERS[] = {"id", NULL};
static const char *const SORTS[] = {"asc", "desc", NULL};
static const char *const PAGINATIONS[] = {"keyset", NULL};

/* An option that is one of choices (or absent), sent as name=value. */
static void choice(const gj_args *a, gj_call *k, int i, int opts, const char *name, const char *const choices[],
                   const char *expected)
{
    lua_State *L = a->L;
    int t = gj_args_field(L, opts, name), j;
    if (t != LUA_TNIL) {
        size_t n;
        const char *v = t == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
        for (j = 0; v && choices[j]; j++)
            if (strlen(choices[j]) == n && strcmp(v, choices[j]) == 0)
                break;
        if (v == NULL || choices[j] == NULL)
            gj_args_expected(a, i, lua_gettop(L), name, expected);
        gj_build_ok(L, gj_req_query(&k->req, name, v, n));
    }
    lua_pop(L, 1);
}

/* scope, page, per_page, include_retried and pagination, as the call allows */
static void list_query(const gj_args *a, gj_call *k, int i, int opts)
{
    lua_State *L = a->L;
    int t;
    query_scope(a, k, i, opts);
    if (gj_args_field(L, opts, "page") != LUA_TNIL)
        gj_build_ok(L, gj_req_query_int(&k->req, "page", (long long)gj_args_id_at(a, i, lua_gettop(L), "page")));
    lua_pop(L, 1);
    if (gj_args_field(L, opts, "per_page") != LUA_TNIL) {
        lua_Integer v = gj_args_id_at(a, i, lua_gettop(L), "per_page");
        if (v > 100)
            gj_args_error(a, i, "per_page: must be between 1 and 100");
        gj_build_ok(L, gj_req_query_int(&k->req, "per_page", (long long)v));
    }
    lua_pop(L, 1);
    t = gj_args_field(L, opts, "include_retried");
    if (t == LUA_TBOOLEAN) {
        int yes = lua_toboolean(L, -1);
        gj_build_ok(L, gj_req_query(&k->req, "include_retried", yes ? "true" : "false", yes ? 4 : 5));
    } else if (t != LUA_TNIL) {
        gj_args_expected(a, i, lua_gettop(L), "include_retried", "boolean");
    }
    lua_pop(L, 1);
    choice(a, k, i, opts, "order_by", ORDERS, "\"id\"");
    choice(a, k, i, opts, "sort", SORTS, "\"asc\" or \"desc\"");
    choice(a, k, i, opts, "pagination", PAGINATIONS, "\"keyset\"");
}

/* next_url: the page the server linked, fetched as given. 1 when given. */
static int next_url(const gj_args *a, gj_call *k, int i, int opts)
{
    static const char *const others[] = {"scope", "page", "per_page", "include_retried", "pagination", "order_by",
                                         "sort", NULL};
    lua_State *L = a->L;
    size_t n;
    const char *u;
    int j;
    if (gj_args_field(L, opts, "next_url") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        gj_args_expected(a, i, lua_gettop(L), "next_url", "string");
    u = lua_tolstring(L, -1, &n);
    gj_args_nonul(a, i, lua_gettop(L), "next_url");
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
        gj_args_error(a, i, "next_url: http or https URL expected");
    if (strncmp(k->conf->base, "https://", 8) == 0 && strncmp(u, "http://", 7) == 0)
        gj_args_error(a, i, "next_url: refusing to go from https to http");
    for (j = 0; others[j]; j++) {
        if (gj_args_field(L, opts, others[j]) != LUA_TNIL)
            gj_args_error(a, i, lua_pushfstring(L, "next_url: cannot be combined with '%s' (the URL carries it)",
                                                others[j]));
        lua_pop(L, 1);
    }
    gj_build_begin(a, k, "GET", GJ_LIST, GJ_AUTH_DEFAULT);
    gj_build_ok(L, gj_req_link(&k->req, k->conf, u, n));
    lua_pop(L, 1);
    return 1;
}

static const char *const LIST_OPTS[] = {"scope", "page", "per_page", "pagination", "order_by", "sort", "next_url",
                                        NULL};
static const char *const PIPELINE_OPTS[] = {"scope", "page", "per_page", "include_retried", "next_url", NULL};
static const char *const BRIDGE_OPTS[] = {"scope", "page", "per_page", "next_url", NULL};
static const char *const TRACE_OPTS[] = {"sink", "offset", NULL};
static const char *const PLAY_OPTS[] = {"variables", NULL};

static void build_list(const gj_args *a, gj_call *k)
{
    int opts;
    gj_args_project(a, 1);
    opts = gj_args_options(a, 2, LIST_OPTS);
    if (!next_url(a, k, 2, opts)) {
        gj_build_begin(a, k, "GET", GJ_LIST, GJ_AUTH_DEFAULT);
        gj_build_project(a, k);
        gj_build_ok(a->L, gj_req_path(&k->req, "/jobs"));
        list_query(a, k, 2, opts);
    }
}

static void pipeline_list(const gj_args *a, gj_call *k, const char *const allowed[], const char *what)
{
    lua_Integer pid;
    int opts;
    gj_args_project(a, 1);
    pid = gj_args_id(a, 2, "pipeline_id");
    opts = gj_args_options(a, 3, allowed);
    if (!next_url(a, k, 3, opts)) {
        gj_build_begin(a, k, "GET", GJ_LIST, GJ_AUTH_DEFAULT);
        gj_build_project(a, k);
        gj_build_ok(a->L, gj_req_path(&k->req, "/pipelines"));
        gj_build_ok(a->L, gj_req_path_int(&k->req, (long long)pid));
        gj_build_ok(a->L, gj_req_path(&k->req, what));
        list_query(a, k, 3, opts);
    }
}

static void build_pipeline_jobs(const gj_args *a, gj_call *k)
{
    pipeline_list(a, k, PIPELINE_OPTS, "/jobs");
}

static void build_bridges(const gj_args *a, gj_call *k)
{
    pipeline_list(a, k, BRIDGE_OPTS, "/bridges");
}

static void build_get(const gj_args *a, gj_call *k)
{
    gj_build_job(a, k, "GET", GJ_OBJECT, NULL);
}

static void build_cancel(const gj_args *a, gj_call *k)
{
    static const char *const CANCEL_OPTS[] = {"force", NULL};
    int opts, t;
    gj_build_job(a, k, "POST", GJ_OBJECT, "/cancel");
    opts = gj_args_options(a, 3, CANCEL_OPTS);
    t = gj_args_field(a->L, opts, "force");
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        gj_args_expected(a, 3, lua_gettop(a->L), "force", "boolean");
    if (lua_toboolean(a->L, -1)) /* GitLab 17.10+: a job in canceling is killed */
        gj_build_ok(a->L, gj_req_query(&k->req, "force", "true", 4));
    lua_pop(a->L, 1);
}

static void build_retry(const gj_args *a, gj_call *k)
{
    gj_build_job(a, k, "POST", GJ_OBJECT, "/retry");
}

static void build_erase(const gj_args *a, gj_call *k)
{
    gj_build_job(a, k, "POST", GJ_OBJECT, "/erase");
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* One {"key":K,"value":V} of job_variables_attributes. */
static int add_variable(gj_buf *b, int first, const char *key, size_t kl, const char *val, size_t vl)
{
    return (!first && gj_buf_addc(b, ',')) || gj_buf_adds(b, "{\"key\":") || gj_json_string(b, key, kl) ||
           gj_buf_adds(b, ",\"value\":") || gj_json_string(b, val, vl) || gj_buf_addc(b, '}');
}

/* Both forms of play's variables are checked before the body is written. */
static size_t check_variables(const gj_args *a, int i, int v, size_t n)
{
    static const char *const both =
        "variables: use either {NAME = \"value\"} or {{key = \"NAME\", value = \"value\"}}, not both";
    lua_State *L = a->L;
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, v)) {
        count++;
        if (n > 0) { /* the array form: {{key = "K", value = "V"}, ...} */
            if (lua_type(L, -2) != LUA_TNUMBER || lua_type(L, -1) != LUA_TTABLE)
                gj_args_error(a, i, both);
            lua_getfield(L, -1, "key");
            if (lua_type(L, -1) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
                gj_args_error(a, i, lua_pushfstring(L, "variables[%d].key: non-empty string expected, got %s",
                                                    (int)lua_tonumber(L, -3), luaL_typename(L, -1)));
            lua_getfield(L, -2, "value");
            if (lua_type(L, -1) != LUA_TSTRING)
                gj_args_error(a, i, lua_pushfstring(L, "variables[%d].value: string expected, got %s",
                                                    (int)lua_tonumber(L, -4), luaL_typename(L, -1)));
            gj_args_nonul(a, i, lua_gettop(L) - 1, "variables: a key");
            gj_args_nonul(a, i, lua_gettop(L), "variables: a value");
            lua_pop(L, 2);
        } else {
            if (lua_type(L, -2) != LUA_TSTRING || lua_rawlen(L, -2) == 0)
                gj_args_error(a, i, lua_pushfstring(L, "variables: names must be non-empty strings, got %s",
                                                    luaL_typename(L, -2)));
            if (lua_type(L, -1) != LUA_TSTRING)
                gj_args_error(a, i, lua_pushfstring(L, "variables.%s: string expected, got %s",
                                                    lua_tostring(L, -2), luaL_typename(L, -1)));
            gj_args_nonul(a, i, lua_gettop(L) - 1, "variables: a name");
            gj_args_nonul(a, i, lua_gettop(L), "variables: a value");
        }
        lua_pop(L, 1);
    }
    if (n > 0 && count != n)
        gj_args_error(a, i, both);
    return count;
}

/* play's variables, in either form, as {"job_variables_attributes": [...]};
 * the map form sorted by name, so the body does not depend on hashing */
static void play_body(const gj_args *a, gj_call *k, int i, int opts)
{
    lua_State *L = a->L;
    int v, t = gj_args_field(L, opts, "variables");
    size_t j, n, count;
    gj_buf *b = &k->req.body;
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    v = lua_gettop(L);
    if (t != LUA_TTABLE)
        gj_args_expected(a, i, v, "variables", "table");
    n = lua_rawlen(L, v);
    count = check_variables(a, i, v, n);
    if (count == 0) {
        lua_pop(L, 1);
        return;
    }
    gj_build_ok(L, gj_buf_adds(b, "{\"job_variables_attributes\":["));
    if (n > 0) {
        for (j = 1; j <= n; j++) {
            size_t kl, vl;
            const char *key, *val;
            lua_rawgeti(L, v, (int)j);
            lua_getfield(L, -1, "key");
            lua_getfield(L, -2, "value");
            key = lua_tolstring(L, -2, &kl);
            val = lua_tolstring(L, -1, &vl);
            gj_build_ok(L, add_variable(b, j == 1, key, kl, val, vl));
            lua_pop(L, 3);
        }
    } else {
        const char **names = (const char **)lua_newuserdata(L, count * sizeof(char *));
        j = 0;
        lua_pushnil(L);
        while (lua_next(L, v)) {
            names[j++] = lua_tostring(L, -2); /* anchored by the table */
            lua_pop(L, 1);
        }
        qsort(names, count, sizeof(char *), cmp_str);
        for (j = 0; j < count; j++) {
            size_t vl;
            const char *val;
            lua_getfield(L, v, names[j]);
            val = lua_tolstring(L, -1, &vl);
            gj_build_ok(L, add_variable(b, j == 0, names[j], strlen(names[j]), val, vl));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    gj_build_ok(L, gj_buf_add(b, "]}", 2));
    k->req.has_body = 1;
    lua_pop(L, 1);
}

static void build_play(const gj_args *a, gj_call *k)
{
    int opts = gj_args_options(a, 3, PLAY_OPTS);
    gj_build_job(a, k, "POST", GJ_OBJECT, "/play");
    play_body(a, k, 3, opts);
}

static void build_trace(const gj_args *a, gj_call *k)
{
    lua_State *L = a->L;
    int opts = gj_args_options(a, 3, TRACE_OPTS), sink = 0, t;
    size_t offset = 0;
    gj_build_job(a, k, "GET", GJ_LOG, "/trace");
    t = gj_args_field(L, opts, "sink");
    if (t == LUA_TFUNCTION)
        sink = lua_gettop(L);
    else if (t != LUA_TNIL)
        gj_args_expected(a, 3, lua_gettop(L), "sink", "function");
    if (gj_args_field(L, opts, "offset") != LUA_TNIL) {
        int o = lua_gettop(L);
        if (!(lua_type(L, o) == LUA_TNUMBER && lua_tonumber(L, o) == 0))
            offset = (size_t)gj_args_id_at(a, 3, o, "offset");
    }
    lua_pop(L, 1);
    k->body.offset = offset;
    if (sink) { /* last: nothing raises after the reference is taken */
        lua_pushvalue(L, sink);
        k->body.sink_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_pop(L, 1);
}

/* _trace_rest: trace asking for a Range from its first try on (a server
 * that honours it tells so with 206 or 416), its result followed by the
 * answer's status and the log's length: for follow, which asks only for the
 * rest. */
static void build_trace_rest(const gj_args *a, gj_call *k)
{
    build_trace(a, k);
    k->meta = 1;
    k->body.ranged = 1;
}

static void job_token_call(const gj_args *a, gj_call *k, const char *path)
{
    if (k->conf->job_token == NULL)
        luaL_error(a->L, "gitlab.jobs: %s needs a job token (job_token option or $CI_JOB_TOKEN)", path);
    gj_build_begin(a, k, "GET", GJ_OBJECT, GJ_AUTH_JOB);
    gj_build_ok(a->L, gj_req_path(&k->req, path));
}

static void build_job(const gj_args *a, gj_call *k)
{
    job_token_call(a, k, "/job");
}

static void build_allowed_agents(const gj_args *a, gj_call *k)
{
    job_token_call(a, k, "/job/allowed_agents");
}

const gj_api gj_apis[] = {
    {"list", build_list},
    {"pipeline_jobs", build_pipeline_jobs},
    {"bridges", build_bridges},
    {"get", build_get},
    {"job", build_job},
    {"allowed_agents", build_allowed_agents},
    {"trace", build_trace},
    {"_trace_rest", build_trace_rest},
    {"cancel", build_cancel},
    {"retry", build_retry},
    {"erase", build_erase},
    {"play", build_play},
    {"artifacts", gj_build_artifacts},
    {"artifacts_by_ref", gj_build_artifacts_by_ref},
    {"artifact", gj_build_artifact},
    {"artifact_by_ref", gj_build_artifact_by_ref},
    {"keep_artifacts", gj_build_keep_artifacts},
    {"delete_artifacts", gj_build_delete_artifacts},
    {"delete_project_artifacts", gj_build_delete_project_artifacts},
    {NULL, NULL}};

const gj_api *gj_api_find(const char *name)
{
    const gj_api *api;
    for (api = gj_apis; api->name; api++)
        if (strcmp(api->name, name) == 0)
            return api;
    return NULL;
}
