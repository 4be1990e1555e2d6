/* The default transport: libcurl, one easy handle per client so that the
 * connection is kept alive between calls. Callbacks only append to C
 * buffers or hand bytes to gj_deliver, which catches every Lua error:
 * nothing unwinds through libcurl's frames. */
#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include "gj.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    /* No SSL-only or Win32 flags beyond the defaults; never cleaned up, as a
     * host may load the module in several states. */
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int gj_curl_global(void)
{
    pthread_once(&global_once, global_init);
    return global_rc == CURLE_OK ? 0 : -1;
}

int gj_curl_open(gj_client *c)
{
    c->curl = curl_easy_init();
    return c->curl ? 0 : -1;
}

void gj_curl_close(gj_client *c)
{
    if (c->curl_headers) {
        curl_slist_free_all((struct curl_slist *)c->curl_headers);
        c->curl_headers = NULL;
    }
    if (c->curl) {
        curl_easy_cleanup((CURL *)c->curl);
        c->curl = NULL;
    }
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    gj_client *c = (gj_client *)ud;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* a new answer (after a 1xx): forget the previous one's headers */
        gj_buf_reset(&c->res.head);
        c->res.status = 0;
        return n;
    }
    if (c->res.head.n + n > 1024 * 1024) /* headers larger than any server sends */
        return 0;
    return gj_buf_add(&c->res.head, p, n) ? 0 : n;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    gj_client *c = (gj_client *)ud;
    size_t n = size * nmemb;
    if (c->res.status == 0)
        curl_easy_getinfo((CURL *)c->curl, CURLINFO_RESPONSE_CODE, &c->res.status);
    if (c->skipping && c->res.status >= 200 && c->res.status < 300)
        return gj_deliver(c, p, n) ? 0 : n;
    if (c->res.body.n + n > c->max_body) {
        c->too_big = 1;
        return 0;
    }
    return gj_buf_add(&c->res.body, p, n) ? 0 : n;
}

static const char *kind_of(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
        return "tls";
    default:
        return "network";
    }
}

#define SET(opt, val) (rc == CURLE_OK ? (rc = curl_easy_setopt(h, (opt), (val))) : rc)

void gj_curl_perform(gj_client *c, gj_outcome *o)
{
    CURL *h = (CURL *)c->curl;
    CURLcode rc = CURLE_OK;
    struct curl_slist *list = NULL, *l2;
    int i, post = strcmp(c->req.method, "POST") == 0;
    char line[1024];

    o->ok = 0;
    o->kind = "network";
    o->sent = 0;
    c->errbuf[0] = '\0';

    for (i = 0; i < c->req.nheaders; i++) {
        size_t a = strlen(c->req.hname[i]), b = strlen(c->req.hvalue[i]);
        if (a + b + 3 > sizeof line) {
            /* a token longer than any GitLab issues: send it all the same */
            gj_buf tmp = {NULL, 0, 0};
            if (gj_buf_adds(&tmp, c->req.hname[i]) || gj_buf_adds(&tmp, ": ") ||
                gj_buf_adds(&tmp, c->req.hvalue[i])) {
                gj_buf_free(&tmp);
                goto oom;
            }
            l2 = curl_slist_append(list, tmp.p);
            memset(tmp.p, 0, tmp.n);
            gj_buf_free(&tmp);
        } else {
            memcpy(line, c->req.hname[i], a);
            memcpy(line + a, ": ", 2);
            memcpy(line + a + 2, c->req.hvalue[i], b + 1);
            l2 = curl_slist_append(list, line);
        }
        if (l2 == NULL)
            goto oom;
        list = l2;
    }
    /* no "Expect: 100-continue" round trip on bodies */
    l2 = curl_slist_append(list, "Expect:");
    if (l2 == NULL)
        goto oom;
    list = l2;
    memset(line, 0, sizeof line);
    c->curl_headers = list;

    SET(CURLOPT_URL, c->req.url.p);
    SET(CURLOPT_HTTPHEADER, list);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_SSL_VERIFYPEER, c->verify_tls ? 1L : 0L);
    SET(CURLOPT_SSL_VERIFYHOST, c->verify_tls ? 2L : 0L);
    if (c->ca_file)
        SET(CURLOPT_CAINFO, c->ca_file);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, c);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, c);
    if (post) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, c->req.has_body ? c->req.body.p : "");
        SET(CURLOPT_POSTFIELDSIZE, c->req.has_body ? (long)c->req.body.n : 0L);
        /* A kept-alive connection that turns out dead makes libcurl send
         * the request again by itself; an action must never go twice. */
        SET(CURLOPT_FRESH_CONNECT, 1L);
    } else {
        SET(CURLOPT_HTTPGET, 1L);
        SET(CURLOPT_FRESH_CONNECT, 0L);
    }
    if (rc == CURLE_OK)
        rc = curl_easy_perform(h);

    c->curl_headers = NULL;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(list);

    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->res.status);
        o->ok = 1;
        return;
    }
    o->kind = kind_of(rc);
    if (c->errbuf[0] == '\0')
        strncpy(c->errbuf, curl_easy_strerror(rc), sizeof c->errbuf - 1);
    c->errbuf[sizeof c->errbuf - 1] = '\0';
    if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
        rc == CURLE_COULDNT_CONNECT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
        rc == CURLE_URL_MALFORMAT) {
        o->sent = 0;
    } else {
        /* Nothing can have been sent before the transfer phase began
         * (connect and TLS handshake done). */
        curl_off_t pre = 0;
        curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &pre);
        o->sent = pre > 0 || rc == CURLE_WRITE_ERROR || rc == CURLE_PARTIAL_FILE ||
                  rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING;
    }
    return;

oom:
    curl_slist_free_all(list);
    c->curl_headers = NULL;
    strcpy(c->errbuf, "out of memory building the request");
}
