/* The artifact calls, each as a builder of its request. */
#include <stdlib.h>
#include <string.h>

#include "artifacts.h"
#include "build.h"
#include "util.h"

static const char *const DOWNLOAD_OPTS[] = {"sink", "path", "on_progress", NULL};

/* A string argument that is not empty and holds no NUL; its stack index. */
static int string_arg(const gj_args *a, int i, const char *name)
{
    int idx = gj_args_index(a, i);
    if (idx == 0 || lua_type(a->L, idx) != LUA_TSTRING)
        gj_args_expected(a, i, idx, name, "non-empty string");
    if (lua_rawlen(a->L, idx) == 0)
        gj_args_error(a, i, lua_pushfstring(a->L, "%s: must not be empty", name));
    gj_args_nonul(a, i, idx, name);
    return idx;
}

/* A path inside the archive: no empty, "." or ".." segment, which would
 * change the route once the segments are sent. */
static int artifact_path_arg(const gj_args *a, int i)
{
    int idx = string_arg(a, i, "artifact_path");
    size_t n, s = 0, e;
    const char *p = lua_tolstring(a->L, idx, &n);
    while (s <= n) {
        for (e = s; e < n && p[e] != '/'; e++)
            ;
        if (e == s || (e - s == 1 && p[s] == '.') || (e - s == 2 && p[s] == '.' && p[s + 1] == '.'))
            gj_args_error(a, i, lua_pushfstring(a->L, "artifact_path: an empty, '.' or '..' segment in '%s'", p));
        s = e + 1;
    }
    return idx;
}

/* A function option (or none): its stack index, or 0. */
static int function_opt(const gj_args *a, int i, int opts, const char *name)
{
    int t = gj_args_field(a->L, opts, name);
    if (t == LUA_TNIL) {
        lua_pop(a->L, 1);
        return 0;
    }
    if (t != LUA_TFUNCTION)
        gj_args_expected(a, i, lua_gettop(a->L), name, "function");
    return lua_gettop(a->L);
}

/* A download's sink, path and on_progress (options at argument i). */
static void download_opts(const gj_args *a, gj_call *k, int i, int opts)
{
    lua_State *L = a->L;
    int sink = function_opt(a, i, opts, "sink"), progress = function_opt(a, i, opts, "on_progress"), t;
    const char *path = NULL;
    t = gj_args_field(L, opts, "path");
    if (t != LUA_TNIL) {
        if (t != LUA_TSTRING || lua_rawlen(L, -1) == 0)
            gj_args_expected(a, i, lua_gettop(L), "path", "non-empty string");
        gj_args_nonul(a, i, lua_gettop(L), "path");
        path = lua_tostring(L, -1); /* anchored in the options */
    }
    lua_pop(L, 1);
    if (sink && path)
        gj_args_error(a, i, "sink and path exclude each other: stream to one or the other");
    /* last: nothing raises once memory and references are taken */
    if (path && (k->body.path = gj_dupstr(path)) == NULL)
        gj_oom(L);
    if (sink) {
        lua_pushvalue(L, sink);
        k->body.sink_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    if (progress) {
        lua_pushvalue(L, progress);
        k->body.progress_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
}

/* "/projects/:id/jobs/artifacts/<ref>/<what>", job=NAME to come */
static void by_ref(const gj_args *a, gj_call *k, const char *what)
{
    size_t n;
    const char *ref;
    gj_args_project(a, 1);
    ref = lua_tolstring(a->L, string_arg(a, 2, "ref"), &n);
    string_arg(a, 3, "job_name");
    gj_build_begin(a, k, "GET", GJ_BYTES, GJ_AUTH_DEFAULT);
    gj_build_project(a, k);
    gj_build_ok(a->L, gj_req_path(&k->req, "/jobs/artifacts"));
    gj_build_ok(a->L, gj_req_path_segment(&k->req, ref, n));
    gj_build_ok(a->L, gj_req_path(&k->req, what));
}

/* ?job=NAME, the job's name being argument 3 */
static void job_query(const gj_args *a, gj_call *k)
{
    size_t n;
    const char *name = lua_tolstring(a->L, gj_args_index(a, 3), &n);
    gj_build_ok(a->L, gj_req_query(&k->req, "job", name, n));
}

static void path_arg(const gj_args *a, gj_call *k, int idx)
{
    size_t n;
    const char *p = lua_tolstring(a->L, idx, &n);
    gj_build_ok(a->L, gj_req_path_segments(&k->req, p, n));
}

void gj_build_artifacts(const gj_args *a, gj_call *k)
{
    gj_build_job(a, k, "GET", GJ_BYTES, "/artifacts");
    download_opts(a, k, 3, gj_args_options(a, 3, DOWNLOAD_OPTS));
}

void gj_build_artifacts_by_ref(const gj_args *a, gj_call *k)
{
    by_ref(a, k, "/download");
    job_query(a, k);
    download_opts(a, k, 4, gj_args_options(a, 4, DOWNLOAD_OPTS));
}

void gj_build_artifact(const gj_args *a, gj_call *k)
{
    int idx;
    gj_args_project(a, 1);
    gj_args_id(a, 2, "job_id");
    idx = artifact_path_arg(a, 3);
    gj_build_job(a, k, "GET", GJ_BYTES, "/artifacts");
    path_arg(a, k, idx);
    download_opts(a, k, 4, gj_args_options(a, 4, DOWNLOAD_OPTS));
}

void gj_build_artifact_by_ref(const gj_args *a, gj_call *k)
{
    int idx;
    gj_args_project(a, 1);
    string_arg(a, 2, "ref");
    string_arg(a, 3, "job_name");
    idx = artifact_path_arg(a, 4);
    by_ref(a, k, "/raw");
    path_arg(a, k, idx);
    job_query(a, k);
    download_opts(a, k, 5, gj_args_options(a, 5, DOWNLOAD_OPTS));
}

void gj_build_keep_artifacts(const gj_args *a, gj_call *k)
{
    gj_build_job(a, k, "POST", GJ_OBJECT, "/artifacts/keep");
}

void gj_build_delete_artifacts(const gj_args *a, gj_call *k)
{
    gj_build_job(a, k, "DELETE", GJ_NONE, "/artifacts");
}

void gj_build_delete_project_artifacts(const gj_args *a, gj_call *k)
{
    gj_args_project(a, 1);
    gj_build_begin(a, k, "DELETE", GJ_NONE, GJ_AUTH_DEFAULT);
    gj_build_project(a, k);
    gj_build_ok(a->L, gj_req_path(&k->req, "/artifacts"));
}
