/* The API calls as data: a name and a builder each. A builder checks the
 * call's arguments (raising, naming them, before anything is sent) and
 * writes the request into a call; a driver then runs it. */
#ifndef GJ_CALLS_H
#define GJ_CALLS_H

#include "args.h"
#include "call.h"

typedef struct gj_api {
    const char *name;
    void (*build)(const gj_args *a, gj_call *k);
} gj_api;

/* Every call, ending with {NULL, NULL}. */
extern const gj_api gj_apis[];
/* The call of that name, or NULL. */
const gj_api *gj_api_find(const char *name);
/* The job statuses GitLab knows, in its order, ending with NULL. */
extern const char *const gj_statuses[];

#endif
