/* The default transport: libcurl, one easy handle per client so that the
 * connection is kept alive between calls, and a multi handle for started
 * calls. Callbacks only append to C buffers or hand bytes to gj_body_write,
 * which catches every Lua error: nothing unwinds through libcurl's frames. */
#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include "curl_transport.h"

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

static void curl_close(gj_call *k)
{
    if (k->conn_headers) {
        curl_slist_free_all((struct curl_slist *)k->conn_headers);
        k->conn_headers = NULL;
    }
    if (k->conn) {
        curl_easy_cleanup((CURL *)k->conn);
        k->conn = NULL;
    }
    k->conn_free = NULL;
}

int gj_curl_open(gj_call *k)
{
    if (k->conn)
        return 0;
    k->conn = curl_easy_init();
    if (k->conn == NULL)
        return -1;
    k->conn_free = curl_close;
    /* reads of 256 KiB (libcurl's default is 16): fewer system calls and
     * callbacks per byte of a download. Set once: libcurl refuses it on a
     * handle whose last transfer failed early (its buffer is still there). */
    curl_easy_setopt((CURL *)k->conn, CURLOPT_BUFFERSIZE, 256L * 1024);
    return 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    gj_call *k = (gj_call *)ud;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* a new answer (after a 1xx): forget the previous one's headers */
        gj_buf_reset(&k->res.head);
        k->res.status = 0;
        return n;
    }
    if (k->res.head.n + n > 1024 * 1024) /* headers larger than any server sends */
        return 0;
    return gj_buf_add(&k->res.head, p, n) ? 0 : n;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    gj_call *k = (gj_call *)ud;
    size_t n = size * nmemb;
    if (k->res.status == 0)
        curl_easy_getinfo((CURL *)k->conn, CURLINFO_RESPONSE_CODE, &k->res.status);
    return gj_body_write(&k->body, &k->res, p, n) ? 0 : n;
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

/* Sets every option of the request in k->req on its easy handle. 0, or -1
 * with errbuf set. */
static int prepare(gj_call *k)
{
    const gj_conf *c = k->conf;
    CURL *h = (CURL *)k->conn;
    CURLcode rc = CURLE_OK;
    struct curl_slist *list = NULL, *l2;
    int i, post = strcmp(k->req.method, "POST") == 0;
    char line[1024];

    k->errbuf[0] = '\0';
    for (i = 0; i < k->req.nheaders; i++) {
        size_t a = strlen(k->req.hname[i]), b = strlen(k->req.hvalue[i]);
        if (a + b + 3 > sizeof line) {
            /* a token longer than any GitLab issues: send it all the same */
            gj_buf tmp = {NULL, 0, 0};
            if (gj_buf_adds(&tmp, k->req.hname[i]) || gj_buf_adds(&tmp, ": ") ||
                gj_buf_adds(&tmp, k->req.hvalue[i])) {
                gj_buf_free(&tmp);
                goto oom;
            }
            l2 = curl_slist_append(list, tmp.p);
            memset(tmp.p, 0, tmp.n);
            gj_buf_free(&tmp);
        } else {
            memcpy(line, k->req.hname[i], a);
            memcpy(line + a, ": ", 2);
            memcpy(line + a + 2, k->req.hvalue[i], b + 1);
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
    k->conn_headers = list;

    SET(CURLOPT_URL, k->req.url.p);
    SET(CURLOPT_HTTPHEADER, list);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    /* the path goes as built: no dot segment is removed, so no route changes */
    SET(CURLOPT_PATH_AS_IS, 1L);
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
    if (c->proxy) {
        SET(CURLOPT_PROXY, c->proxy); /* "": none, whatever the environment says */
#if LIBCURL_VERSION_NUM >= 0x073400
        /* an https proxy is verified as the server is */
        SET(CURLOPT_PROXY_SSL_VERIFYPEER, c->verify_tls ? 1L : 0L);
        SET(CURLOPT_PROXY_SSL_VERIFYHOST, c->verify_tls ? 2L : 0L);
        if (c->ca_file)
            SET(CURLOPT_PROXY_CAINFO, c->ca_file);
#endif
    }
    if (c->cert_file) {
        SET(CURLOPT_SSLCERT, c->cert_file);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (c->key_file)
        SET(CURLOPT_SSLKEY, c->key_file);
    /* compression for JSON and logs, not where a Range or a length counts */
    SET(CURLOPT_ACCEPT_ENCODING, k->kind == GJ_BYTES || k->req.range_from >= 0 ? NULL : "");
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ERRORBUFFER, k->errbuf);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, k);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, k);
    SET(CURLOPT_PRIVATE, k);
    if (post) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, k->req.has_body ? k->req.body.p : "");
        SET(CURLOPT_POSTFIELDSIZE, k->req.has_body ? (long)k->req.body.n : 0L);
        /* A kept-alive connection that turns out dead makes libcurl send
         * the request again by itself; an action must never go twice. */
        SET(CURLOPT_FRESH_CONNECT, 1L);
    } else {
        SET(CURLOPT_HTTPGET, 1L);
        SET(CURLOPT_FRESH_CONNECT, 0L);
    }
    /* the easy handle is reused: a DELETE's method must not stay for the next */
    SET(CURLOPT_CUSTOMREQUEST, strcmp(k->req.method, "DELETE") == 0 ? "DELETE" : NULL);
    if (rc != CURLE_OK) {
        strncpy(k->errbuf, curl_easy_strerror(rc), sizeof k->errbuf - 1);
        k->errbuf[sizeof k->errbuf - 1] = '\0';
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL); /* the request is never sent: its headers go */
        curl_slist_free_all(list);
        k->conn_headers = NULL;
        return -1;
    }
    return 0;

oom:
    curl_slist_free_all(list);
    k->conn_headers = NULL;
    strcpy(k->errbuf, "out of memory building the request");
    return -1;
}

/* Frees the request's headers and reads how it ended. */
static void conclude(gj_call *k, CURLcode rc)
{
    gj_outcome *o = &k->out;
    CURL *h = (CURL *)k->conn;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all((struct curl_slist *)k->conn_headers);
    k->conn_headers = NULL;
    o->ok = 0;
    o->kind = "network";
    o->sent = 0;
    o->permanent = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &k->res.status);
        o->ok = 1;
        return;
    }
    o->kind = kind_of(rc);
    o->permanent = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                   rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR ||
                   rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || rc == CURLE_URL_MALFORMAT ||
                   rc == CURLE_UNSUPPORTED_PROTOCOL;
    if (k->errbuf[0] == '\0')
        strncpy(k->errbuf, curl_easy_strerror(rc), sizeof k->errbuf - 1);
    k->errbuf[sizeof k->errbuf - 1] = '\0';
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
}

static void failed_to_prepare(gj_call *k)
{
    k->out.ok = 0;
    k->out.kind = "network";
    k->out.sent = 0;
    k->out.permanent = 0;
}

void gj_curl_perform(gj_call *k)
{
    if (gj_curl_open(k)) {
        strcpy(k->errbuf, "out of memory starting the request");
        failed_to_prepare(k);
        return;
    }
    if (prepare(k)) {
        failed_to_prepare(k);
        return;
    }
    conclude(k, curl_easy_perform((CURL *)k->conn));
}

/* ---- started calls, over one multi handle per client ---- */

void *gj_curl_multi_new(void)
{
    return curl_multi_init();
}

int gj_curl_multi_add(void *m, gj_call *k)
{
    if (gj_curl_open(k)) {
        strcpy(k->errbuf, "out of memory starting the request");
        failed_to_prepare(k);
        return -1;
    }
    if (prepare(k)) {
        failed_to_prepare(k);
        return -1;
    }
    if (curl_multi_add_handle((CURLM *)m, (CURL *)k->conn) != CURLM_OK) {
        conclude(k, CURLE_FAILED_INIT);
        return -1;
    }
    return 0;
}

void gj_curl_multi_run(void *m, double timeout)
{
    int running = 0;
    curl_multi_perform((CURLM *)m, &running);
    if (running && timeout > 0) {
        curl_multi_poll((CURLM *)m, NULL, 0, (int)(timeout * 1000), NULL);
        curl_multi_perform((CURLM *)m, &running);
    }
}

gj_call *gj_curl_multi_done(void *m)
{
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read((CURLM *)m, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE) {
            gj_call *k = NULL;
            CURLcode rc = msg->data.result;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&k);
            curl_multi_remove_handle((CURLM *)m, msg->easy_handle);
            conclude(k, rc);
            return k;
        }
    }
    return NULL;
}

void gj_curl_multi_remove(void *m, gj_call *k)
{
    if (m && k->conn) {
        curl_multi_remove_handle((CURLM *)m, (CURL *)k->conn);
        curl_easy_setopt((CURL *)k->conn, CURLOPT_HTTPHEADER, NULL);
        curl_slist_free_all((struct curl_slist *)k->conn_headers);
        k->conn_headers = NULL;
    }
}

void gj_curl_multi_free(void *m)
{
    if (m)
        curl_multi_cleanup((CURLM *)m);
}
