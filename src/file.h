/* A download's file, written atomically: the bytes go to a temporary file
 * beside the target, renamed onto it only once the whole body arrived, so a
 * failure leaves no file and an existing one untouched. No Lua. Functions
 * that fail fill err (errn bytes) with the reason. */
#ifndef GJ_FILE_H
#define GJ_FILE_H

#include <stddef.h>

typedef struct gj_file gj_file;

/* A new temporary file beside path, or NULL. */
gj_file *gj_file_open(const char *path, char *err, size_t errn);
/* 0, or -1. */
int gj_file_write(gj_file *f, const char *p, size_t n, char *err, size_t errn);
/* Closes the file and renames it onto path; frees f either way. 0, or -1
 * (the temporary file is then removed). */
int gj_file_commit(gj_file *f, const char *path, char *err, size_t errn);
/* Closes and removes the temporary file; frees f. */
void gj_file_abort(gj_file *f);

#endif
