/* s3req.c: one S3 request, signed by libcurl, with retries.
 *
 * libcurl 7.88 signs with SigV4 but does not compute the payload hash for
 * an upload: x-amz-content-sha256 is computed here and sent (libcurl then
 * signs it along with every other header given). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavutil/mem.h>

#include "err.h"
#include "log.h"
#include "store/digest.h"
#include "store/retry.h"
#include "store/s3_internal.h"
#include "store/s3xml.h"

#define EMPTY_SHA256 \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

int cs_s3i_grow(char **data, size_t *len, size_t *cap, size_t max,
                const void *p, size_t n)
{
    if (*len + n > max)
        return CS_EDATA;
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *b = realloc(*data, c);

        if (!b)
            return AVERROR(ENOMEM);
        *data = b;
        *cap = c;
    }
    memcpy(*data + *len, p, n);
    *len += n;
    (*data)[*len] = 0;
    return 0;
}

static int buffer(struct s3_req *r, const char *p, size_t n)
{
    return cs_s3i_grow(&r->resp, &r->resp_len, &r->resp_cap, r->max_resp,
                       p, n);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct s3_req *r = ud;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    if (r->sink && status >= 200 && status < 300) {
        size_t k;
        int ret;

        if (!r->started) {
            r->started = 1;
            r->skip = status == 200 ? r->offset : 0;
        }
        k = (int64_t)n < r->skip ? n : (size_t)r->skip;
        r->skip -= (int64_t)k;
        if (k == n)
            return n;
        ret = r->sink(r->opaque, p + k, n - k);
        if (ret < 0) {
            r->sink_ret = ret;
            return 0;
        }
        if (r->md5)
            cs_md5pipe_feed(r->md5, p + k, n - k);
        r->got += (int64_t)(n - k);
        return n;
    }
    return buffer(r, p, n) < 0 ? 0 : n;
}

static int header_is(const char *line, size_t n, const char *name,
                     const char **value, size_t *vlen)
{
    size_t k = strlen(name);

    if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
        return 0;
    line += k + 1;
    n -= k + 1;
    while (n && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    while (n && isspace((unsigned char)line[n - 1]))
        n--;
    *value = line;
    *vlen = n;
    return 1;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct s3_req *r = ud;
    size_t n = size * nmemb, vlen;
    const char *v;
    char tmp[128];

    if (header_is(p, n, "ETag", &v, &vlen)) {
        if (vlen >= 2 && v[0] == '"') {
            v++;
            vlen -= 2;
        }
        snprintf(r->etag, sizeof(r->etag), "%.*s", (int)vlen, v);
    } else if (header_is(p, n, "Retry-After", &v, &vlen)) {
        snprintf(tmp, sizeof(tmp), "%.*s", (int)vlen, v);
        r->retry_after = cs_retry_after_parse(tmp);
    } else if (header_is(p, n, "Content-Length", &v, &vlen)) {
        r->length = strtoll(v, NULL, 10);
    } else if ((header_is(p, n, "x-amz-server-side-encryption", &v, &vlen) &&
                vlen >= 7 && !strncmp(v, "aws:kms", 7)) ||
               header_is(p, n, "x-amz-server-side-encryption-customer-"
                         "algorithm", &v, &vlen)) {
        r->encrypted = 1;
    }
    return n;
}

static struct curl_slist *add(struct curl_slist *l, int *bad,
                              const char *fmt, const char *v)
{
    char line[2048];
    struct curl_slist *n;

    snprintf(line, sizeof(line), fmt, v);
    n = curl_slist_append(l, line);
    if (!n) {
        *bad = 1;
        return l;
    }
    return n;
}

static struct curl_slist *make_headers(struct cs_s3 *s3, struct s3_req *r)
{
    struct curl_slist *h = NULL;
    char sha[65], md5[25];
    int bad = 0;

    if (r->body) {
        if (cs_body_digests(r->body, r->body_len, sha, md5) < 0)
            return NULL;
        h = add(h, &bad, "Content-MD5: %s", md5);
        h = add(h, &bad, "Content-Type: %s", r->content_type ?
                r->content_type : "application/octet-stream");
    }
    h = add(h, &bad, "x-amz-content-sha256: %s", r->body ? sha : EMPTY_SHA256);
    if (r->cache_control)
        h = add(h, &bad, "Cache-Control: %s", r->cache_control);
    if (s3->token)
        h = add(h, &bad, "x-amz-security-token: %s", s3->token);
    if (bad) {
        curl_slist_free_all(h);
        return NULL;
    }
    return h;
}

/* CURLE_OK, or what libcurl said of the signing option (a libcurl without
 * SigV4 would send the request unsigned). */
static CURLcode setup(struct cs_s3 *s3, struct s3_req *r, const char *url,
                      struct curl_slist *h)
{
    CURL *c = s3->curl;
    CURLcode cc;

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    /* the key is signed and sent as it is: libcurl would otherwise remove
     * dot segments after encoding and sign the path of another object */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    cc = curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s3->sigv4);
    if (cc != CURLE_OK)
        return cc;
    curl_easy_setopt(c, CURLOPT_USERNAME, s3->access_key);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s3->secret_key);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(s3->timeout * 1000));
    /* a transfer slower than 1 byte/s for the timeout is dead */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)s3->timeout);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    /* large reads and sends: fewer sink calls and syscalls on big
     * objects (an upload goes out 64 KiB a send by default) */
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
    if (!strcmp(r->method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(r->method, "GET"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)r->body_len);
    }
    return CURLE_OK;
}

enum outcome { DONE, RETRY, FAIL };

/* Whether the ETag answered to an upload is the MD5 of what was sent (a
 * store whose ETag is no MD5 is taken at its word). */
static int etag_matches(const struct s3_req *r)
{
    uint8_t d[16];
    char hex[33];

    if (!r->check_etag || r->encrypted || strlen(r->etag) != 32 ||
        strchr(r->etag, '-'))
        return 1;
    cs_md5(r->body, r->body_len, d);
    cs_hex(d, sizeof(d), hex);
    return !strcasecmp(hex, r->etag);
}

/* Classify a finished attempt; on failure *err and s3->errmsg say why. */
static enum outcome judge(struct cs_s3 *s3, struct s3_req *r, CURLcode cc,
                          int *err)
{
    struct cs_s3xml x = { 0 };

    if (cc != CURLE_OK) {
        if (r->sink_ret < 0) {
            *err = r->sink_ret;
            snprintf(s3->errmsg, sizeof(s3->errmsg), "%s",
                     CS_ERRSTR(r->sink_ret));
            return FAIL;
        }
        snprintf(s3->errmsg, sizeof(s3->errmsg), "%s",
                 curl_easy_strerror(cc));
        s3->errmsg[0] = (char)tolower((unsigned char)s3->errmsg[0]);
        *err = cc == CURLE_PEER_FAILED_VERIFICATION ||
               cc == CURLE_URL_MALFORMAT ? CS_EUSAGE : CS_ENET;
        return cs_retry_curl(cc) ? RETRY : FAIL;
    }
    curl_easy_getinfo(s3->curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status >= 200 && r->status < 300 && !(r->error_in_200 &&
        r->resp && strstr(r->resp, "<Error>"))) {
        r->expect = r->length < 0 ? -1 : r->status == 206 ?
                    r->offset + r->length : r->length;
        if (etag_matches(r))
            return DONE;
        /* the bytes stored are not the bytes sent: send them again */
        r->etag_bad = 1;
        snprintf(s3->errmsg, sizeof(s3->errmsg), "the ETag answered does "
                 "not match the bytes sent");
        *err = CS_ENET;
        return RETRY;
    }
    /* resumed exactly at the end: the bytes are all there (ETag checks) */
    if (r->status == 416 && r->offset > 0)
        return DONE;
    if (r->resp_len)
        cs_s3xml_parse(&x, r->resp, r->resp_len);
    snprintf(s3->errmsg, sizeof(s3->errmsg), "HTTP %ld%s%.60s%s%.200s",
             r->status, x.code[0] ? " " : "", x.code,
             x.message[0] ? ": " : "", x.message);
    if (r->status == 404 || !strcmp(x.code, "NoSuchKey") ||
        !strcmp(x.code, "NoSuchBucket"))
        *err = AVERROR(ENOENT);
    else if (cs_retry_http(r->status, x.code))
        *err = CS_ENET;
    else if (r->status >= 400 && r->status < 500)
        *err = CS_EUSAGE;
    else
        *err = CS_EDATA;
    return *err == CS_ENET ? RETRY : FAIL;
}

static int attempt(struct cs_s3 *s3, struct s3_req *r, const char *url,
                   struct curl_slist *h, enum outcome *out)
{
    int err = 0;
    CURLcode cc;

    r->resp_len = 0;
    r->offset = r->got;
    r->started = 0;
    r->skip = 0;
    r->expect = -1;
    r->length = -1;
    r->etag[0] = 0;
    r->encrypted = 0;
    r->retry_after = 0;
    r->sink_ret = 0;
    r->status = 0;
    if (r->md5 && !r->got)
        cs_md5pipe_reset(r->md5);
    cc = setup(s3, r, url, h);
    if (cc != CURLE_OK) {
        snprintf(s3->errmsg, sizeof(s3->errmsg), "cannot sign requests: %s",
                 curl_easy_strerror(cc));
        *out = FAIL;
        return AVERROR(ENOSYS);
    }
    if (r->got > 0) {
        char range[32];

        snprintf(range, sizeof(range), "%lld-", (long long)r->got);
        curl_easy_setopt(s3->curl, CURLOPT_RANGE, range);
        cs_verbose("%s: resuming at byte %lld", url, (long long)r->got);
    }
    cc = curl_easy_perform(s3->curl);
    *out = judge(s3, r, cc, &err);
    cs_debug("%s %s: %s", r->method, url, *out == DONE ? "ok" : s3->errmsg);
    return err;
}

int cs_s3i_request(struct cs_s3 *s3, struct s3_req *r)
{
    struct curl_slist *h = NULL;
    struct cs_retry retry;
    enum outcome o = FAIL;
    const char *why;
    char *url = NULL;
    int ret;

    if (!r->max_resp)
        r->max_resp = 1 << 20;
    pthread_mutex_lock(&s3->lock);
    r->curl = s3->curl;
    s3->errmsg[0] = 0;
    ret = cs_s3i_url(s3, r->bucket, r->key, r->query, &url, &why);
    if (why)
        snprintf(s3->errmsg, sizeof(s3->errmsg), "refused: %s", why);
    if (ret < 0)
        goto out;
    h = make_headers(s3, r);
    ret = AVERROR(ENOMEM);
    if (!h)
        goto out;
    cs_retry_init(&retry, s3->retries, s3->seed++);
    for (;;) {
        ret = attempt(s3, r, url, h, &o);
        if (o != RETRY)
            break;
        cs_verbose("%s '%s/%s': %s; retrying", r->method, r->bucket,
                   r->key ? r->key : "", s3->errmsg);
        ret = cs_retry_wait(&retry, r->retry_after);
        if (ret <= 0) {
            ret = ret < 0 ? ret : CS_ENET;
            break;
        }
    }
    if (o == DONE)
        ret = 0;
out:
    pthread_mutex_unlock(&s3->lock);
    curl_slist_free_all(h);
    free(url);
    return ret;
}
