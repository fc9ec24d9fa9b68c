/* s3.c: the S3 client: configuration, one signed request with retries, and
 * the single-request operations (put, get, head, delete, list). */
#include "store/s3.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libavutil/md5.h>
#include <libavutil/mem.h>

#include "err.h"
#include "log.h"
#include "store/digest.h"
#include "store/key.h"
#include "store/retry.h"
#include "store/s3int.h"
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

static int set_endpoint(struct cs_s3 *s3, const struct cs_s3_config *cfg)
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
        cs_error("invalid endpoint '%s': expected http:// or https://", e);
        free(e);
        return CS_EUSAGE;
    }
    s3->endpoint = e;
    s3->path_style = cfg->path_style != 0;
    return 0;
}

int cs_s3_new(struct cs_s3 **out, const struct cs_s3_config *cfg)
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
    pthread_mutex_init(&s3->lock, NULL);
    s3->access_key = env_or(cfg->access_key, "AWS_ACCESS_KEY_ID", NULL);
    s3->secret_key = env_or(cfg->secret_key, "AWS_SECRET_ACCESS_KEY", NULL);
    s3->token = env_or(cfg->session_token, "AWS_SESSION_TOKEN", NULL);
    s3->region = env_or(cfg->region, "AWS_REGION", "AWS_DEFAULT_REGION");
    if (!s3->region)
        s3->region = strdup("us-east-1");
    if (!s3->access_key || !s3->secret_key) {
        cs_error("no S3 credentials: set AWS_ACCESS_KEY_ID and "
                 "AWS_SECRET_ACCESS_KEY");
        ret = CS_EUSAGE;
        goto fail;
    }
    ret = set_endpoint(s3, cfg);
    if (ret < 0)
        goto fail;
    s3->retries = cfg->retries >= 0 ? cfg->retries : 5;
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

int cs_s3_new_from_env(struct cs_s3 **out)
{
    return cs_s3_new(out, NULL);
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

int cs_s3i_append_enc(char **dst, const char *s, int keep_slash)
{
    size_t n = *dst ? strlen(*dst) : 0;
    char *d = realloc(*dst, n + 3 * strlen(s) + 1);

    if (!d)
        return AVERROR(ENOMEM);
    *dst = d;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/'))
            d[n++] = (char)c;
        else
            n += (size_t)sprintf(d + n, "%%%02X", c);
    }
    d[n] = 0;
    return 0;
}

static int append_raw(char **dst, const char *s)
{
    size_t n = strlen(*dst);
    char *d = realloc(*dst, n + strlen(s) + 1);

    if (!d)
        return AVERROR(ENOMEM);
    strcpy(d + n, s);
    *dst = d;
    return 0;
}

/* S3's bucket names: letters, digits, '.', '-' and (in old buckets) '_';
 * anything else would change the host or the path of the URL. */
static int bucket_ok(const char *b)
{
    if (!*b || !strcmp(b, ".") || !strcmp(b, ".."))
        return 0;
    for (; *b; b++)
        if (!isalnum((unsigned char)*b) && !strchr(".-_", *b))
            return 0;
    return 1;
}

static char *base_url(const struct cs_s3 *s3, const char *bucket)
{
    const char *host = s3->endpoint ? strstr(s3->endpoint, "//") + 2 : NULL;
    /* a dotted bucket name would not match the wildcard certificate of a
     * virtual host: path-style for those */
    int path = s3->path_style || strchr(bucket, '.');
    char *u = NULL;
    int n;

    if (path && s3->endpoint)
        n = asprintf(&u, "%s/%s/", s3->endpoint, bucket);
    else if (path)
        n = asprintf(&u, "https://s3.%s.amazonaws.com/%s/", s3->region,
                     bucket);
    else if (s3->endpoint)
        n = asprintf(&u, "%.*s%s.%s/", (int)(host - s3->endpoint),
                     s3->endpoint, bucket, host);
    else
        n = asprintf(&u, "https://%s.s3.%s.amazonaws.com/", bucket,
                     s3->region);
    return n < 0 ? NULL : u;
}

int cs_s3i_url(const struct cs_s3 *s3, const char *bucket, const char *key,
               const char *query, char **url, const char **why)
{
    char *u;

    *url = NULL;
    *why = NULL;
    if (!bucket_ok(bucket))
        *why = "not a bucket name";
    else if (key && cs_key_check_path(key) < 0)
        *why = CS_KEY_PATH_WHY;
    if (*why)
        return CS_EUSAGE;
    u = base_url(s3, bucket);
    if (!u || (key && cs_s3i_append_enc(&u, key, 1) < 0) ||
        (query && (append_raw(&u, "?") < 0 || append_raw(&u, query) < 0))) {
        free(u);
        return AVERROR(ENOMEM);
    }
    *url = u;
    return 0;
}

void cs_s3i_req_release(struct s3_req *r)
{
    free(r->resp);
    r->resp = NULL;
    r->resp_len = r->resp_cap = 0;
    av_freep(&r->md5);
}

int cs_s3_put(struct cs_s3 *s3, const char *bucket, const char *key,
              const void *data, size_t len, const char *content_type,
              const char *cache_control)
{
    struct s3_req r = {
        .method = "PUT", .bucket = bucket, .key = key,
        .body = data ? data : "", .body_len = len,
        .content_type = content_type, .cache_control = cache_control,
    };
    int ret = cs_s3i_request(s3, &r);

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
    av_md5_final(r->md5, d);
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
        .sink = sink, .opaque = opaque, .md5 = av_md5_alloc(),
    };
    int ret = AVERROR(ENOMEM);

    if (!r.md5)
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
        if (ret >= 0 && x.truncated && !x.token[0])
            ret = CS_EDATA;
        free((char *)r.query);
        cs_s3i_req_release(&r);
        snprintf(token, sizeof(token), "%s", x.token);
    } while (ret >= 0 && x.truncated);
    return ret;
}
