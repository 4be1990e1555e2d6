/* Checking a call's arguments before anything is sent: every complaint
 * raises "bad argument #N to 'NAME' (what: ...)", where NAME and N are the
 * function the user called and the argument as the user counts it, whether
 * the call was made directly, through start or batch, or checked ahead by
 * a helper. */
#ifndef GJ_ARGS_H
#define GJ_ARGS_H

#include "compat.h"

/* Whom a complaint blames. */
typedef struct gj_blame {
    const char *name;       /* the function the user called */
    int shift;              /* added to the call's own argument number */
    int arg;                /* > 0: every complaint is about this argument of name, */
    const char *prefix;     /* and starts with this (batch's "calls[3]: ") */
} gj_blame;

/* A call's arguments: the i-th (project is 1) at stack index base + i, up
 * to index last. */
typedef struct gj_args {
    lua_State *L;
    int base, last;
    gj_blame blame;
} gj_args;

/* Raises about argument i. */
int gj_args_error(const gj_args *a, int i, const char *msg);
/* Raises "name: what expected, got <the value at stack index idx>" (idx 0:
 * none given) about argument i. */
int gj_args_expected(const gj_args *a, int i, int idx, const char *name, const char *what);
/* The stack index of argument i, or 0 when it was not given. */
int gj_args_index(const gj_args *a, int i);
int gj_args_type(const gj_args *a, int i);
/* A positive integer id; an integral float (1002.0) is one, "1002" is not.
 * _at checks the value at stack index idx (an option) and blames argument i. */
lua_Integer gj_args_id(const gj_args *a, int i, const char *name);
lua_Integer gj_args_id_at(const gj_args *a, int i, int idx, const char *name);
/* Raises "name: holds a NUL byte" about argument i when the string at
 * stack index idx does (C would read it cut short). */
void gj_args_nonul(const gj_args *a, int i, int idx, const char *name);
/* A project: an id, or a path string (not empty, "." or ".."). */
void gj_args_project(const gj_args *a, int i);
/* An options table (or none) whose names are all in allowed. Returns its
 * stack index, or 0 when none was given. */
int gj_args_options(const gj_args *a, int i, const char *const allowed[]);
/* Pushes the field name of the options table at stack index opts (nil when
 * opts is 0) and returns its type. */
int gj_args_field(lua_State *L, int opts, const char *name);

#endif
