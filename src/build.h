/* The pieces every call's builder is made of: the request begun for a
 * kind of answer, the project's path, a job's path. Each raises (out of
 * memory, or a bad argument, naming it) before anything is sent. */
#ifndef GJ_BUILD_H
#define GJ_BUILD_H

#include "args.h"
#include "call.h"

/* Raises "out of memory" when rc is not 0. */
void gj_build_ok(lua_State *L, int rc);
/* Starts k's request: method, what a 2xx answer holds (GJ_*), which credential. */
void gj_build_begin(const gj_args *a, gj_call *k, const char *method, int kind, int auth);
/* Appends "/projects/<id or escaped path>", the project being argument 1. */
void gj_build_project(const gj_args *a, gj_call *k);
/* Begins "/projects/:id/jobs/:job_id[suffix]" (project and job_id being
 * arguments 1 and 2, both checked). */
void gj_build_job(const gj_args *a, gj_call *k, const char *method, int kind, const char *suffix);

#endif
