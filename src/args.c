/* Argument checks: raised before anything is sent, naming the argument. */
#include <math.h>
#include <string.h>

#include "args.h"

int gj_args_error(const gj_args *a, int i, const char *msg)
{
    const gj_blame *b = &a->blame;
    if (b->arg > 0)
        return luaL_error(a->L, "bad argument #%d to '%s' (%s%s)", b->arg, b->name, b->prefix, msg);
    return luaL_error(a->L, "bad argument #%d to '%s' (%s)", i + b->shift, b->name, msg);
}

int gj_args_expected(const gj_args *a, int i, int idx, const char *name, const char *what)
{
    lua_State *L = a->L;
    const char *got;
    if (idx == 0)
        got = "no value";
    else if (lua_type(L, idx) == LUA_TNUMBER || lua_type(L, idx) == LUA_TSTRING) {
        lua_pushvalue(L, idx);
        got = lua_pushfstring(L, "%s '%s'", luaL_typename(L, idx), lua_tostring(L, -1));
    } else {
        got = luaL_typename(L, idx);
    }
    return gj_args_error(a, i, lua_pushfstring(L, "%s: %s expected, got %s", name, what, got));
}

int gj_args_index(const gj_args *a, int i)
{
    int idx = a->base + i;
    return idx <= a->last ? idx : 0;
}

int gj_args_type(const gj_args *a, int i)
{
    int idx = gj_args_index(a, i);
    return idx ? lua_type(a->L, idx) : LUA_TNONE;
}

lua_Integer gj_args_id_at(const gj_args *a, int i, int idx, const char *name)
{
    lua_State *L = a->L;
    lua_Number d;
    if (idx == 0 || lua_type(L, idx) != LUA_TNUMBER)
        goto bad;
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(L, idx)) {
        lua_Integer v = lua_tointeger(L, idx);
        if (v > 0 && v <= (lua_Integer)9007199254740991LL)
            return v;
        goto bad;
    }
#endif
    d = lua_tonumber(L, idx);
    if (d >= 1 && d <= 9007199254740991.0 && d == floor(d))
        return (lua_Integer)d;
bad:
    gj_args_expected(a, i, idx, name, "positive integer");
    return 0;
}

lua_Integer gj_args_id(const gj_args *a, int i, const char *name)
{
    return gj_args_id_at(a, i, gj_args_index(a, i), name);
}

void gj_args_nonul(const gj_args *a, int i, int idx, const char *name)
{
    size_t n;
    const char *s = lua_tolstring(a->L, idx, &n);
    if (s && strlen(s) != n)
        gj_args_error(a, i, lua_pushfstring(a->L, "%s: holds a NUL byte", name));
}

void gj_args_project(const gj_args *a, int i)
{
    int idx = gj_args_index(a, i), t = idx ? lua_type(a->L, idx) : LUA_TNONE;
    if (t == LUA_TSTRING) {
        const char *s = lua_tostring(a->L, idx);
        if (lua_rawlen(a->L, idx) == 0)
            gj_args_error(a, i, "project: path must not be empty");
        /* sent as a segment of its own, "." and ".." would change the route */
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
            gj_args_error(a, i, lua_pushfstring(a->L, "project: '%s' is not a project path", s));
        gj_args_nonul(a, i, idx, "project");
        return;
    }
    if (t == LUA_TNUMBER) {
        gj_args_id(a, i, "project");
        return;
    }
    gj_args_expected(a, i, idx, "project", "integer id or path string");
}

int gj_args_options(const gj_args *a, int i, const char *const allowed[])
{
    lua_State *L = a->L;
    int idx = gj_args_index(a, i);
    if (idx == 0 || lua_isnil(L, idx))
        return 0;
    if (lua_type(L, idx) != LUA_TTABLE)
        gj_args_expected(a, i, idx, "options", "table");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int j, known = 0;
        if (lua_type(L, -2) != LUA_TSTRING)
            gj_args_error(a, i, lua_pushfstring(L, "option names must be strings, got %s",
                                               luaL_typename(L, -2)));
        for (j = 0; allowed[j]; j++)
            if (strcmp(lua_tostring(L, -2), allowed[j]) == 0)
                known = 1;
        if (!known)
            gj_args_error(a, i, lua_pushfstring(L, "unknown option '%s'", lua_tostring(L, -2)));
        lua_pop(L, 1);
    }
    return idx;
}

int gj_args_field(lua_State *L, int opts, const char *name)
{
    if (opts == 0) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    lua_getfield(L, opts, name);
    return lua_type(L, -1);
}
