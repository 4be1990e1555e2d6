/* The artifact calls: a job's archive or one file of it, by job or by the
 * latest successful pipeline of a ref, streamed to a sink or a file; and
 * keeping or deleting artifacts. Builders, as calls.h lists them. */
#ifndef GJ_ARTIFACTS_H
#define GJ_ARTIFACTS_H

#include "args.h"
#include "call.h"

void gj_build_artifacts(const gj_args *a, gj_call *k);
void gj_build_artifacts_by_ref(const gj_args *a, gj_call *k);
void gj_build_artifact(const gj_args *a, gj_call *k);
void gj_build_artifact_by_ref(const gj_args *a, gj_call *k);
void gj_build_keep_artifacts(const gj_args *a, gj_call *k);
void gj_build_delete_artifacts(const gj_args *a, gj_call *k);
void gj_build_delete_project_artifacts(const gj_args *a, gj_call *k);

#endif
