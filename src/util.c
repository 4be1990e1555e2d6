/* The bottom of the module: memory, secrets, references and clocks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

int gj_oom(lua_State *L)
{
    return luaL_error(L, "gitlab.jobs: out of memory");
}

char *gj_dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = (char *)malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void gj_free_secret(char **p)
{
    if (*p) {
        volatile char *v = *p; /* volatile: the stores must not be optimised away */
        while (*v)
            *v++ = '\0';
        free(*p);
        *p = NULL;
    }
}

void gj_unref(lua_State *L, int *ref)
{
    if (*ref != LUA_NOREF && *ref != LUA_REFNIL)
        luaL_unref(L, LUA_REGISTRYINDEX, *ref);
    *ref = LUA_NOREF;
}

int gj_ref(lua_State *L)
{
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

double gj_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double gj_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void gj_nanosleep(double s)
{
    struct timespec ts;
    if (!(s > 0))
        return;
    if (s > 1e9)
        s = 1e9;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
