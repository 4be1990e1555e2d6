/* An answer as plain data, and what its headers say: the status's reason,
 * Retry-After and RateLimit-Reset, HTTP dates, the Link to the next page.
 * No I/O and no Lua. */
#ifndef GJ_ANSWER_H
#define GJ_ANSWER_H

#include "buf.h"

/* head holds the "Name: value\r\n" lines of the final answer only. */
typedef struct gj_res {
    long status;
    gj_buf head;
    gj_buf body;
} gj_res;

/* The an bytes at a equal the C string b, ignoring ASCII case. */
int gj_ieq(const char *a, size_t an, const char *b);
/* The first header of that name (any case), its value trimmed, or NULL. */
const char *gj_header(const gj_res *r, const char *name, size_t *len);
/* A header holding a non-negative integer: 1 and *out, or 0 when absent,
 * empty or not a number (GitLab sends X-Next-Page empty on the last page). */
int gj_header_int(const gj_res *r, const char *name, double *out);
const char *gj_reason(long status);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
double gj_days_from_civil(int y, int m, int d);
/* An HTTP date (RFC 9110 5.6.7) as Unix time, or -1. */
double gj_parse_http_date(const char *s, size_t n);
/* The seconds a 429 or 503 asks to wait (Retry-After, else RateLimit-Reset),
 * or -1 when it says nothing (a time already past, a value that is neither
 * a number nor a date). */
double gj_retry_after(const gj_res *r, double now_wall);
/* A 206's Content-Range "bytes START-END/TOTAL": 1 with *start and *total
 * (-1 for "*"), or 0 when there is none to read. */
int gj_content_range(const gj_res *r, double *start, double *total);
/* The whole length LEN a Content-Range tells: a 206's "bytes A-B/LEN", or a
 * 416's, which has a star for A-B. -1 when it tells none. */
double gj_range_total(const gj_res *r);
/* The target of the Link header's rel="next", or NULL. */
const char *gj_next_link(const gj_res *r, size_t *len);
void gj_res_reset(gj_res *r);
void gj_res_free(gj_res *r);

#endif
