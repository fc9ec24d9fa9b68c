/* out/s3.c: objects in a bucket, through lib/store's S3 client (SigV4 by
 * libcurl, retries, one kept-alive connection): PUT with Content-Type and
 * Cache-Control, DELETE for what leaves the window. */
#include "out/out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store/s3.h"

struct s3out {
    struct cs_s3 *s3;
    char *bucket;
    char *prefix;               /* "" or ending with '/' */
};

static int s3_open(struct cs_out *o, const char *url,
                   const struct cs_out_opts *opts)
{
    struct s3out *s = calloc(1, sizeof(*s));
    char *key = NULL;
    int ret;

    if (!s)
        return AVERROR(ENOMEM);
    ret = cs_s3_parse_url(url, &s->bucket, &key);
    if (ret < 0)
        goto fail;
    if (!s->bucket[0]) {
        ret = CS_EUSAGE;
        goto fail;
    }
    s->prefix = malloc(strlen(key) + 2);
    if (!s->prefix) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    strcpy(s->prefix, key);
    if (key[0] && key[strlen(key) - 1] != '/')
        strcat(s->prefix, "/");
    ret = cs_s3_new_from_env(&s->s3);
    if (ret < 0)
        goto fail;
    free(key);
    o->priv = s;
    return 0;
fail:
    free(key);
    free(s->bucket);
    free(s->prefix);
    free(s);
    return ret;
}

static char *object_key(const struct s3out *s, const char *name)
{
    size_t n = strlen(s->prefix) + strlen(name) + 1;
    char *k = malloc(n);

    if (k)
        snprintf(k, n, "%s%s", s->prefix, name);
    return k;
}

static int s3_put(struct cs_out *o, const char *name, const void *data,
                  size_t len, const char *type, const char *cache)
{
    struct s3out *s = o->priv;
    char *key = object_key(s, name);
    int ret;

    if (!key)
        return AVERROR(ENOMEM);
    ret = cs_s3_put(s->s3, s->bucket, key, data, len, type, cache);
    free(key);
    return ret;
}

static int s3_del(struct cs_out *o, const char *name)
{
    struct s3out *s = o->priv;
    char *key = object_key(s, name);
    int ret;

    if (!key)
        return AVERROR(ENOMEM);
    ret = cs_s3_delete(s->s3, s->bucket, key);
    free(key);
    return ret;
}

static int s3_get(struct cs_out *o, const char *name, size_t max,
                  char **data, size_t *len)
{
    struct s3out *s = o->priv;
    char *key = object_key(s, name);
    uint8_t *d = NULL;
    int ret;

    if (!key)
        return AVERROR(ENOMEM);
    ret = cs_s3_get(s->s3, s->bucket, key, max, &d, len);
    free(key);
    *data = (char *)d;
    return ret;
}

static void s3_close(struct cs_out *o)
{
    struct s3out *s = o->priv;

    if (!s)
        return;
    cs_s3_free(&s->s3);
    free(s->bucket);
    free(s->prefix);
    free(s);
    o->priv = NULL;
}

const struct cs_out_ops cs_out_s3 = {
    .name = "s3",
    .open = s3_open,
    .put = s3_put,
    .del = s3_del,
    .get = s3_get,
    .close = s3_close,
};
