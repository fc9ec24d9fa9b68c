/* http.c: an HTTP origin as a store (cs-serve's ingest, nginx dav): PUT,
 * GET and DELETE over one keep-alive libcurl handle, with a bearer token
 * and retries. An origin cannot be listed. */
#include <stdio.h>

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "sig.h"
#include "store/key.h"
#include "store/store.h"

struct http {
    CURL *curl;
    char base[2048];        /* with a trailing slash */
    char auth[1024];        /* "Authorization: Bearer ..." or "" */
    int retries;
    long timeout_ms;
    const char *cause;      /* of the last refusal, for cs_store_fail() */
};

/* Where a GET's body goes. */
struct body {
    CURL *curl;
    cs_store_sink_fn sink;
    int (*reset)(void *opaque);
    void *opaque;
    int ret;                /* the sink's refusal */
};

static size_t on_body(char *p, size_t size, size_t n, void *opaque)
{
    struct body *b = opaque;
    size_t len = size * n;
    long code = 0;

    /* the body of an error reply is not the object */
    if (!b || curl_easy_getinfo(b->curl, CURLINFO_RESPONSE_CODE, &code) !=
        CURLE_OK || code < 200 || code >= 300)
        return len;
    b->ret = b->sink(b->opaque, p, len);
    return b->ret < 0 ? 0 : len;
}

static int http_open(struct cs_store *st, const struct cs_store_opts *opts,
                     struct cs_err *err)
{
    struct http *h = calloc(1, sizeof(*h));
    const char *url = st->location;
    size_t n = strlen(url);

    (void)err;
    if (!h)
        return AVERROR(ENOMEM);
    st->priv = h;
    if (n + 2 > sizeof(h->base))
        return AVERROR(ENAMETOOLONG);
    memcpy(h->base, url, n + 1);
    if (url[n - 1] != '/')
        strcat(h->base, "/");
    if (opts->token)
        snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s",
                 opts->token);
    h->retries = opts->retries;
    h->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    h->curl = curl_easy_init();
    return h->curl ? 0 : AVERROR(ENOMEM);
}

/* One request; 0, CS_ENET (worth retrying) or an HTTP error code. */
static int request(struct http *h, const char *method, const char *name,
                   const void *data, size_t len, struct curl_slist *hdr,
                   struct body *body)
{
    char url[4096];
    long code = 0;
    CURLcode rc;

    snprintf(url, sizeof(url), "%s%s", h->base, name);
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, body);
    if (!strcmp(method, "PUT")) {
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, data ? data : "");
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)len);
    } else if (!strcmp(method, "GET")) {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
    }
    rc = curl_easy_perform(h->curl);
    if (rc != CURLE_OK) {
        cs_verbose("%s '%s': %s", method, url, curl_easy_strerror(rc));
        return CS_ENET;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300)
        return 0;
    cs_verbose("%s '%s': HTTP %ld", method, url, code);
    if (code == 404)
        return AVERROR(ENOENT);
    if (code == 401)
        return AVERROR_HTTP_UNAUTHORIZED;
    if (code == 403)
        return AVERROR_HTTP_FORBIDDEN;
    if (code >= 500 || code == 408 || code == 429)
        return CS_ENET;
    return AVERROR_HTTP_OTHER_4XX;
}

/* Retry what a restarted origin or a dropped connection explains, with a
 * growing pause (0.2 s, 0.4 s, 0.8 s ...). */
static int with_retries(struct http *h, const char *method, const char *name,
                        const void *data, size_t len, const char *type,
                        const char *cache, struct body *body)
{
    struct curl_slist *hdr = NULL;
    char line[512];
    int ret = 0;

    if (h->auth[0])
        hdr = curl_slist_append(hdr, h->auth);
    if (type) {
        snprintf(line, sizeof(line), "Content-Type: %s", type);
        hdr = curl_slist_append(hdr, line);
    }
    if (cache) {
        snprintf(line, sizeof(line), "Cache-Control: %s", cache);
        hdr = curl_slist_append(hdr, line);
    }
    hdr = curl_slist_append(hdr, "Expect:");
    for (int i = 0; i <= h->retries; i++) {
        if (i > 0) {
            if (cs_stopping() && i > 1)
                break;
            usleep(200000u << (i - 1 < 4 ? i - 1 : 4));
            /* a body half delivered is discarded, or not tried again */
            if (body && (!body->reset || body->reset(body->opaque) < 0))
                break;
        }
        ret = request(h, method, name, data, len, hdr, body);
        if (ret != CS_ENET || (body && body->ret < 0))
            break;
    }
    curl_slist_free_all(hdr);
    return ret;
}

/* KEY, refused as every store refuses it: a client or a server that
 * normalises the URL would address another file. */
static int check_key(struct http *h, const char *key)
{
    h->cause = NULL;
    if (cs_key_check_path(key) < 0 || key[strlen(key) - 1] == '/') {
        h->cause = "refused: " CS_KEY_PATH_WHY;
        return CS_EUSAGE;
    }
    return 0;
}

static int http_write(struct cs_store *st, const char *key, const void *data,
                      size_t len, const char *type, const char *cache)
{
    int ret = check_key(st->priv, key);

    if (ret < 0)
        return ret;
    return with_retries(st->priv, "PUT", key, data, len, type, cache, NULL);
}

static int http_remove(struct cs_store *st, const char *key)
{
    int ret = check_key(st->priv, key);

    if (ret < 0)
        return ret;
    return with_retries(st->priv, "DELETE", key, NULL, 0, NULL, NULL, NULL);
}

static int http_read(struct cs_store *st, const char *key,
                     cs_store_sink_fn sink, int (*reset)(void *opaque),
                     void *opaque, int64_t *size)
{
    struct http *h = st->priv;
    struct body b = { h->curl, sink, reset, opaque, 0 };
    curl_off_t got = 0;
    int ret = check_key(h, key);

    if (ret < 0)
        return ret;
    ret = with_retries(h, "GET", key, NULL, 0, NULL, NULL, &b);
    if (b.ret < 0)
        ret = b.ret;
    if (ret >= 0 && size &&
        curl_easy_getinfo(h->curl, CURLINFO_SIZE_DOWNLOAD_T, &got) ==
        CURLE_OK)
        *size = (int64_t)got;
    return ret;
}

static const char *http_cause(struct cs_store *st)
{
    struct http *h = st->priv;

    return h ? h->cause : NULL;
}

static void http_close(struct cs_store *st)
{
    struct http *h = st->priv;

    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    free(h);
    st->priv = NULL;
}

const struct cs_store_ops cs_store_http = {
    .kind = "http",
    .open = http_open,
    .read = http_read,
    .write = http_write,
    .remove = http_remove,
    .cause = http_cause,
    .close = http_close,
};
