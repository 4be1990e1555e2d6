/* A client's settings, as every part of a call reads them: where the server
 * is, the credentials, the connection options and the retry policy. Types
 * only: options.c reads them from new's options. */
#ifndef GJ_CONF_H
#define GJ_CONF_H

#include <stddef.h>

typedef struct gj_conf {
    char *base;             /* scheme://host[:port][/prefix], no trailing slash */
    size_t origin_len;      /* the length of scheme://host[:port] in base */
    char *token, *job_token, *oauth_token, *user_agent, *ca_file;
    char *proxy;            /* NULL: libcurl's environment variables; "": none */
    char *cert_file, *key_file; /* a client certificate and its key, PEM */
    int keep_base_url;      /* Link URLs rewritten onto base */
    long timeout_ms, connect_timeout_ms; /* 0: none */
    int verify_tls;
    size_t max_body;        /* the largest body returned whole */
    int retry_max;          /* retries after the first try */
    double base_delay, max_delay;
    double max_wait;        /* the longest wait a server may ask for that is waited */
    int rate_n;             /* rate_limit: at most rate_n requests begin ... */
    double rate_per;        /* ... in any rate_per seconds (rate_n 0: no limit of the client's own) */
    unsigned long rng;      /* the jitter sequence: the one field that changes */
} gj_conf;

#endif
