/* The few shims Lua 5.1 (and LuaJIT), 5.2 and 5.3 need to look like 5.4. */
#ifndef GJ_COMPAT_H
#define GJ_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#ifndef LUA_OK
#define LUA_OK 0
#endif

#if LUA_VERSION_NUM < 502
/* LuaJIT 2.1 ships luaL_setfuncs and luaL_testudata; Lua 5.1 does not. */
#ifndef LUAJIT_VERSION
#define luaL_setfuncs gj_setfuncs
static inline void gj_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; l->name != NULL; l++) {
        int i;
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}

#define luaL_testudata gj_testudata
static inline void *gj_testudata(lua_State *L, int i, const char *tname)
{
    void *p = lua_touserdata(L, i);
    if (p == NULL || !lua_getmetatable(L, i))
        return NULL;
    luaL_getmetatable(L, tname);
    if (!lua_rawequal(L, -1, -2))
        p = NULL;
    lua_pop(L, 2);
    return p;
}
#endif
#define lua_rawlen(L, i) lua_objlen(L, (i))
/* 5.1 keeps one table per userdata: its environment. */
#define gj_setuservalue(L, i) lua_setfenv(L, (i))
#define gj_getuservalue(L, i) lua_getfenv(L, (i))
#define lua_newuserdatauv(L, sz, n) lua_newuserdata(L, (sz))
#elif LUA_VERSION_NUM < 504
#define gj_setuservalue(L, i) lua_setuservalue(L, (i))
#define gj_getuservalue(L, i) lua_getuservalue(L, (i))
#define lua_newuserdatauv(L, sz, n) lua_newuserdata(L, (sz))
#else
#define gj_setuservalue(L, i) lua_setiuservalue(L, (i), 1)
#define gj_getuservalue(L, i) ((void)lua_getiuservalue(L, (i), 1))
#endif

#if LUA_VERSION_NUM >= 503
#define gj_isinteger(L, i) lua_isinteger(L, (i))
#else
#define gj_isinteger(L, i) 0
#endif

#endif
