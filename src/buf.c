/* The growable buffer every request and answer is built in. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int gj_buf_add(gj_buf *b, const void *s, size_t n)
{
    if (n > ((size_t)-1) / 2 - b->n)
        return -1;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->n + n + 1)
            cap *= 2;
        p = (char *)realloc(b->p, cap);
        if (p == NULL)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

int gj_buf_adds(gj_buf *b, const char *s)
{
    return gj_buf_add(b, s, strlen(s));
}

int gj_buf_addc(gj_buf *b, char c)
{
    return gj_buf_add(b, &c, 1);
}

void gj_buf_free(gj_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

void gj_buf_wipe(gj_buf *b)
{
    if (b->p) {
        volatile char *v = b->p;
        size_t i;
        for (i = 0; i < b->cap; i++)
            v[i] = '\0';
    }
    gj_buf_free(b);
}
