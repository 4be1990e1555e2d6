/* A growable byte buffer, always NUL-terminated once anything was added. */
#ifndef GJ_BUF_H
#define GJ_BUF_H

#include <stddef.h>

typedef struct gj_buf {
    char *p;
    size_t n, cap;
} gj_buf;

#define GJ_BUF_INIT {NULL, 0, 0}

int gj_buf_add(gj_buf *b, const void *s, size_t n); /* 0, or -1 when out of memory */
int gj_buf_adds(gj_buf *b, const char *s);
int gj_buf_addc(gj_buf *b, char c);
void gj_buf_free(gj_buf *b);
/* Zeroes what the buffer held (a secret), then frees it. */
void gj_buf_wipe(gj_buf *b);
#define gj_buf_reset(b) ((b)->n = 0, (b)->p ? (void)((b)->p[0] = '\0') : (void)0)
/* The contents as a C string ("" when nothing was added). */
#define gj_buf_str(b) ((b)->p ? (const char *)(b)->p : "")

#endif
