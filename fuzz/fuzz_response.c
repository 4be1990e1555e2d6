/* libFuzzer target over the response reader alone (answer.c, response.c;
 * no libcurl, no client): a raw HTTP answer is split into status line,
 * headers and body, then read the way every call reads one: headers,
 * Retry-After, Content-Range, the page table with its Link header (as
 * given, and moved onto a client's url as keep_base_url does), JSON to
 * tables and the error object with its tostring. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "../src/answer.h"
#include "../src/response.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static gj_res res;
/* a client's settings, as far as the page table reads them */
static gj_conf plain, rebased;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    L = luaL_newstate();
    luaL_openlibs(L);
    gj_open_json(L);
    gj_open_error(L);
    lua_settop(L, 0);
    plain.base = rebased.base = (char *)"https://gitlab.example.com/gitlab";
    plain.origin_len = rebased.origin_len = 26;
    rebased.keep_base_url = 1;
    return 0;
}

/* "HTTP/1.1 200 OK\r\nName: value\r\n\r\nbody" */
static void split(const char *p, size_t n)
{
    const char *end = p + n, *eol = memchr(p, '\n', n), *q;
    long status = 0;
    gj_buf_reset(&res.head);
    gj_buf_reset(&res.body);
    if (eol == NULL)
        eol = end;
    for (q = p; q < eol && (*q < '0' || *q > '9'); q++)
        ;
    while (q < eol && *q >= '0' && *q <= '9' && status < 1000)
        status = status * 10 + (*q++ - '0');
    res.status = status;
    p = eol < end ? eol + 1 : end;
    while (p < end) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        size_t len = e ? (size_t)(e - p + 1) : (size_t)(end - p);
        if (len == 1 || (len == 2 && p[0] == '\r')) {
            p += len;
            break;
        }
        gj_buf_add(&res.head, p, len);
        p += len;
    }
    gj_buf_add(&res.body, p, (size_t)(end - p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gj_errinfo e;
    size_t n;
    double v, t;
    split((const char *)data, size);
    gj_header(&res, "content-type", &n);
    gj_header_int(&res, "x-total", &v);
    gj_retry_after(&res, 1.7e9);
    gj_content_range(&res, &v, &t);
    gj_range_total(&res);
    gj_push_page(L, &res, &plain);
    gj_push_page(L, &res, &rebased);
    lua_settop(L, 0);
    gj_push_json(L, res.body.p ? res.body.p : "", res.body.n);
    lua_settop(L, 0);
    memset(&e, 0, sizeof e);
    e.method = "GET";
    e.path = "/projects/1/jobs";
    e.retry_after = -1;
    gj_push_http_error(L, &e, &res);
    lua_getglobal(L, "tostring");
    lua_pushvalue(L, -2);
    lua_call(L, 1, 1);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
}
