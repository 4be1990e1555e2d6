/* The pieces of a call's request that every builder shares. */
#include "build.h"
#include "util.h"

void gj_build_ok(lua_State *L, int rc)
{
    if (rc)
        gj_oom(L);
}

void gj_build_begin(const gj_args *a, gj_call *k, const char *method, int kind, int auth)
{
    gj_build_ok(a->L, gj_req_begin(&k->req, k->conf, method));
    k->req.auth = auth;
    k->req.accept_json = kind != GJ_LOG && kind != GJ_BYTES;
    k->kind = kind;
    k->meta = 0;
    k->body.stream = kind == GJ_LOG || kind == GJ_BYTES;
    k->body.ranged = 0;
    k->body.offset = 0;
}

void gj_build_project(const gj_args *a, gj_call *k)
{
    lua_State *L = a->L;
    int idx = gj_args_index(a, 1);
    gj_build_ok(L, gj_req_path(&k->req, "/projects"));
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        gj_build_ok(L, gj_req_path_segment(&k->req, s, n));
    } else {
        gj_build_ok(L, gj_req_path_int(&k->req, (long long)gj_args_id(a, 1, "project")));
    }
}

void gj_build_job(const gj_args *a, gj_call *k, const char *method, int kind, const char *suffix)
{
    lua_Integer id;
    gj_args_project(a, 1);
    id = gj_args_id(a, 2, "job_id");
    gj_build_begin(a, k, method, kind, GJ_AUTH_DEFAULT);
    gj_build_project(a, k);
    gj_build_ok(a->L, gj_req_path(&k->req, "/jobs"));
    gj_build_ok(a->L, gj_req_path_int(&k->req, (long long)id));
    if (suffix)
        gj_build_ok(a->L, gj_req_path(&k->req, suffix));
}
