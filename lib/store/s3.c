/* s3.c: the S3 client: configuration, one signed request with retries, and
 * the single-request operations (put, get, head, delete, list). */
#include "store/s3.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/mem.h>

#include "err.h"
#include "log.h"
#include "store/digest.h"
#include "store/key.h"
#include "store/retry.h"
#include "store/s3_internal.h"
#include "store/s3xml.h"

static char *env_or(const char *given, const char *a, const char *b)
{
    const char *v = given;

    if (!v || !*v)
        v = a ? getenv(a) : NULL;
    if ((!v || !*v) && b)
        v = getenv(b);
    return v && *v ? strdup(v) : NULL;
}

static int set_endpoint(struct cs_s3 *s3, const struct cs_s3_config *cfg,
                        struct cs_err *err)
{
    char *e = env_or(cfg->endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
    size_t n;

    if (!e) {
        s3->path_style = cfg->path_style > 0;
        return 0;
    }
    n = strlen(e);
    while (n > 0 && e[n - 1] == '/')
        e[--n] = 0;
    if (strncmp(e, "http://", 7) && strncmp(e, "https://", 8)) {
        cs_err_set(err, CS_EUSAGE, "invalid endpoint '%s': expected "
                   "http:// or https://", e);
        free(e);
        return CS_EUSAGE;
    }
    s3->endpoint = e;
    s3->path_style = cfg->path_style != 0;
    return 0;
}

/* The retries after a first attempt: the configuration's, else one fewer
 * than AWS_MAX_ATTEMPTS (the attempts in all, as the AWS CLI reads it),
 * else 5. */
static int set_retries(struct cs_s3 *s3, const struct cs_s3_config *cfg,
                       struct cs_err *err)
{
    const char *v = getenv("AWS_MAX_ATTEMPTS");
    char *end;
    long n;

    s3->retries = 5;
    if (cfg->retries >= 0) {
        s3->retries = cfg->retries;
        return 0;
    }
    if (!v || !*v)
        return 0;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < 1 || n > 100)
        return cs_err_set(err, CS_EUSAGE, "AWS_MAX_ATTEMPTS: not a whole "
                          "number from 1 to 100");
    s3->retries = (int)n - 1;
    return 0;
}

int cs_s3_new(struct cs_s3 **out, const struct cs_s3_config *cfg,
              struct cs_err *err)
{
    static const struct cs_s3_config none = { .path_style = -1,
                                              .retries = -1 };
    struct cs_s3 *s3 = calloc(1, sizeof(*s3));
    int ret = AVERROR(ENOMEM);

    *out = NULL;
    if (!cfg)
        cfg = &none;
    if (!s3)
        return ret;
    ret = pthread_mutex_init(&s3->lock, NULL);
    if (ret) {
        free(s3);
        return cs_err_code(err, AVERROR(ret), "cannot create an S3 client");
    }
    s3->access_key = env_or(cfg->access_key, "AWS_ACCESS_KEY_ID", NULL);
    s3->secret_key = env_or(cfg->secret_key, "AWS_SECRET_ACCESS_KEY", NULL);
    s3->token = env_or(cfg->session_token, "AWS_SESSION_TOKEN", NULL);
    s3->region = env_or(cfg->region, "AWS_REGION", "AWS_DEFAULT_REGION");
    if (!s3->region)
        s3->region = strdup("us-east-1");
    if (!s3->access_key || !s3->secret_key) {
        ret = cs_err_set(err, CS_EUSAGE, "no S3 credentials: set "
                         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        goto fail;
    }
    ret = set_endpoint(s3, cfg, err);
    if (ret < 0)
        goto fail;
    ret = set_retries(s3, cfg, err);
    if (ret < 0)
        goto fail;
    s3->timeout = cfg->timeout > 0 ? cfg->timeout : 30;
    snprintf(s3->sigv4, sizeof(s3->sigv4), "aws:amz:%s:s3", s3->region);
    s3->seed = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
    s3->curl = curl_easy_init();
    ret = AVERROR(ENOMEM);
    if (!s3->region || !s3->curl)
        goto fail;
    *out = s3;
    return 0;
fail:
    cs_s3_free(&s3);
    return ret;
}

int cs_s3_new_from_env(struct cs_s3 **out, struct cs_err *err)
{
    return cs_s3_new(out, NULL, err);
}

void cs_s3_free(struct cs_s3 **p)
{
    struct cs_s3 *s3 = *p;

    if (!s3)
        return;
    if (s3->curl)
        curl_easy_cleanup(s3->curl);
    if (s3->secret_key)
        memset(s3->secret_key, 0, strlen(s3->secret_key));
    free(s3->access_key);
    free(s3->secret_key);
    free(s3->token);
    free(s3->region);
    free(s3->endpoint);
    pthread_mutex_destroy(&s3->lock);
    free(s3);
    *p = NULL;
}

const char *cs_s3_errmsg(struct cs_s3 *s3)
{
    return s3->errmsg;
}

int cs_s3_parse_url(const char *url, char **bucket, char **key)
{
    const char *b, *slash;

    *bucket = *key = NULL;
    if (strncmp(url, "s3://", 5) || !url[5] || url[5] == '/')
        return CS_EUSAGE;
    b = url + 5;
    slash = strchr(b, '/');
    *bucket = slash ? strndup(b, (size_t)(slash - b)) : strdup(b);
    *key = strdup(slash ? slash + 1 : "");
    if (!*bucket || !*key) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
        return AVERROR(ENOMEM);
    }
    return 0;
}

void cs_s3i_req_release(struct s3_req *r)
{
    free(r->resp);
    r->resp = NULL;
    r->resp_len = r->resp_cap = 0;
    cs_md5pipe_free(&r->md5);
}

int cs_s3_put(struct cs_s3 *s3, const char *bucket, const char *key,
              const void *data, size_t len, const char *content_type,
              const char *cache_control)
{
    struct s3_req r = {
        .method = "PUT", .bucket = bucket, .key = key,
        .body = data ? data : "", .body_len = len,
        .content_type = content_type, .cache_control = cache_control,
        .check_etag = 1,
    };
    char saved[sizeof(s3->errmsg)];
    int ret = cs_s3i_request(s3, &r);

    /* what the store kept is not what was sent: better no object at all */
    if (ret < 0 && r.etag_bad) {
        snprintf(saved, sizeof(saved), "%s", s3->errmsg);
        if (cs_s3_delete(s3, bucket, key) < 0)
            cs_warn("could not remove the damaged '%s': %s", key,
                    s3->errmsg);
        snprintf(s3->errmsg, sizeof(s3->errmsg), "%s", saved);
    }
    cs_s3i_req_release(&r);
    return ret;
}

struct membuf {
    char *data;
    size_t len, cap, max;
};

static int mem_sink(void *opaque, const void *p, size_t n)
{
    struct membuf *m = opaque;

    return cs_s3i_grow(&m->data, &m->len, &m->cap, m->max, p, n);
}

static int mem_reset(void *opaque)
{
    ((struct membuf *)opaque)->len = 0;
    return 0;
}

int cs_s3_get(struct cs_s3 *s3, const char *bucket, const char *key,
              size_t max, uint8_t **data, size_t *len)
{
    struct membuf m = { .max = max };
    int ret;

    *data = NULL;
    *len = 0;
    ret = cs_s3_get_sink(s3, bucket, key, mem_sink, mem_reset, &m, NULL);
    if (ret >= 0 && !m.data) {
        m.data = calloc(1, 1);
        if (!m.data)
            ret = AVERROR(ENOMEM);
    }
    if (ret < 0) {
        free(m.data);
        return ret;
    }
    *data = (uint8_t *)m.data;
    *len = m.len;
    return 0;
}

/* A single-part object's ETag is the hex MD5 of its bytes. */
static int check_download(struct cs_s3 *s3, struct s3_req *r)
{
    uint8_t d[16];
    char hex[33];

    if (r->expect >= 0 && r->got != r->expect) {
        snprintf(s3->errmsg, sizeof(s3->errmsg),
                 "got %lld of %lld bytes", (long long)r->got,
                 (long long)r->expect);
        return CS_EDATA;
    }
    if (strlen(r->etag) != 32 || strchr(r->etag, '-'))
        return 0;
    cs_md5pipe_final(r->md5, d);
    cs_hex(d, sizeof(d), hex);
    if (strcasecmp(hex, r->etag)) {
        snprintf(s3->errmsg, sizeof(s3->errmsg),
                 "content does not match its ETag");
        return CS_EDATA;
    }
    return 0;
}

int cs_s3_get_sink(struct cs_s3 *s3, const char *bucket, const char *key,
                   cs_s3_sink_fn sink, int (*reset)(void *opaque),
                   void *opaque, int64_t *size)
{
    struct s3_req r = {
        .method = "GET", .bucket = bucket, .key = key,
        .sink = sink, .opaque = opaque,
    };
    int ret = cs_md5pipe_new(&r.md5);

    if (ret < 0)
        goto out;
    /* bytes damaged on the way: fetched again while the sink can rewind */
    for (int tries = 0; tries < 3; tries++) {
        ret = cs_s3i_request(s3, &r);
        if (ret >= 0)
            ret = check_download(s3, &r);
        if (ret != CS_EDATA || !reset || reset(opaque) < 0)
            break;
        r.got = 0;
        cs_verbose("GET '%s/%s': %s; retrying", bucket, key, s3->errmsg);
    }
    if (ret >= 0 && size)
        *size = r.got;
out:
    cs_s3i_req_release(&r);
    return ret;
}

int cs_s3_head(struct cs_s3 *s3, const char *bucket, const char *key,
               int64_t *size, char *etag)
{
    struct s3_req r = { .method = "HEAD", .bucket = bucket, .key = key };
    int ret = cs_s3i_request(s3, &r);

    if (ret >= 0) {
        if (size)
            *size = r.length;
        if (etag)
            snprintf(etag, 80, "%.79s", r.etag);
    }
    cs_s3i_req_release(&r);
    return ret;
}

int cs_s3_delete(struct cs_s3 *s3, const char *bucket, const char *key)
{
    struct s3_req r = { .method = "DELETE", .bucket = bucket, .key = key };
    int ret = cs_s3i_request(s3, &r);

    cs_s3i_req_release(&r);
    return ret == AVERROR(ENOENT) && r.status == 404 && key ? 0 : ret;
}

static char *enc(const char *s)
{
    char *d = strdup("");

    if (d && cs_s3i_append_enc(&d, s ? s : "", 0) < 0) {
        free(d);
        d = NULL;
    }
    return d;
}

/* The parameters sorted by name, as SigV4's canonical query wants them. */
static char *list_query(const char *prefix, const char *token)
{
    char *t = enc(token), *p = enc(prefix), *q = NULL;

    if (t && p && asprintf(&q, "%s%s%slist-type=2%s%s",
                           *t ? "continuation-token=" : "", t, *t ? "&" : "",
                           *p ? "&prefix=" : "", p) < 0)
        q = NULL;
    free(t);
    free(p);
    return q;
}

int cs_s3_list(struct cs_s3 *s3, const char *bucket, const char *prefix,
               cs_s3_list_fn fn, void *opaque)
{
    struct cs_s3xml x = { .fn = fn, .opaque = opaque };
    char token[sizeof(x.token)] = "";
    int ret;

    do {
        struct s3_req r = {
            .method = "GET", .bucket = bucket, .max_resp = 16 << 20,
            .query = list_query(prefix, token),
        };

        ret = r.query ? cs_s3i_request(s3, &r) : AVERROR(ENOMEM);
        if (ret >= 0)
            ret = cs_s3xml_parse(&x, r.resp ? r.resp : "", r.resp_len);
        if (ret >= 0 && strcmp(x.root, "ListBucketResult"))
            ret = CS_EDATA;
        /* no token, or the one just sent: the listing would never end */
        if (ret >= 0 && x.truncated && (!x.token[0] ||
                                        !strcmp(x.token, token)))
            ret = CS_EDATA;
        free((char *)r.query);
        cs_s3i_req_release(&r);
        snprintf(token, sizeof(token), "%s", x.token);
    } while (ret >= 0 && x.truncated);
    return ret;
}
