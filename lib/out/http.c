/* out/http.c: PUT and DELETE to an origin (cs-serve's ingest, nginx dav)
 * over one keep-alive libcurl handle, with a bearer token and retries. */
#include "out/out.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "sig.h"

struct http {
    CURL *curl;
    char base[2048];        /* with a trailing slash */
    char auth[1024];        /* "Authorization: Bearer ..." or "" */
    int retries;
    long timeout_ms;
};

struct body {
    char *data;
    size_t len, max;
    int over;
};

static size_t on_body(char *p, size_t size, size_t n, void *opaque)
{
    struct body *b = opaque;
    size_t len = size * n;
    char *nd;

    if (!b)
        return len;
    if (b->len + len > b->max) {
        b->over = 1;
        return 0;
    }
    nd = realloc(b->data, b->len + len + 1);
    if (!nd)
        return 0;
    b->data = nd;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

static int http_open(struct cs_out *o, const char *url,
                     const struct cs_out_opts *opts)
{
    struct http *h = calloc(1, sizeof(*h));
    size_t n = strlen(url);

    if (!h)
        return AVERROR(ENOMEM);
    if (n + 2 > sizeof(h->base)) {
        free(h);
        return AVERROR(ENAMETOOLONG);
    }
    memcpy(h->base, url, n + 1);
    if (url[n - 1] != '/')
        strcat(h->base, "/");
    if (opts && opts->token)
        snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s",
                 opts->token);
    h->retries = opts ? opts->retries : 3;
    h->timeout_ms = opts && opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return AVERROR(ENOMEM);
    }
    o->priv = h;
    return 0;
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
        }
        ret = request(h, method, name, data, len, hdr, body);
        if (ret != CS_ENET)
            break;
    }
    curl_slist_free_all(hdr);
    return ret;
}

static int http_put(struct cs_out *o, const char *name, const void *data,
                    size_t len, const char *type, const char *cache)
{
    return with_retries(o->priv, "PUT", name, data, len, type, cache, NULL);
}

static int http_del(struct cs_out *o, const char *name)
{
    int ret = with_retries(o->priv, "DELETE", name, NULL, 0, NULL, NULL,
                           NULL);

    return ret == AVERROR(ENOENT) ? 0 : ret;
}

static int http_get(struct cs_out *o, const char *name, size_t max,
                    char **data, size_t *len)
{
    struct body b = { .max = max };
    int ret = with_retries(o->priv, "GET", name, NULL, 0, NULL, NULL, &b);

    if (ret >= 0 && b.over)
        ret = AVERROR(EFBIG);
    if (ret < 0) {
        free(b.data);
        return ret;
    }
    if (!b.data)
        b.data = calloc(1, 1);
    *data = b.data;
    *len = b.len;
    return b.data ? 0 : AVERROR(ENOMEM);
}

static void http_close(struct cs_out *o)
{
    struct http *h = o->priv;

    if (!h)
        return;
    curl_easy_cleanup(h->curl);
    free(h);
    o->priv = NULL;
}

const struct cs_out_ops cs_out_http = {
    .name = "http",
    .open = http_open,
    .put = http_put,
    .del = http_del,
    .get = http_get,
    .close = http_close,
};
