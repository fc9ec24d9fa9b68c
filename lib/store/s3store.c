/* s3store.c: an S3 bucket (and key prefix) as a store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store/s3.h"
#include "store/store.h"

struct s3priv {
    struct cs_s3 *s3;
    char *bucket;
};

/* The bucket key of a store key: the root prefix + KEY (malloc'ed). */
static char *full_key(const struct cs_store *st, const char *key)
{
    char *k = NULL;

    return asprintf(&k, "%s%s", st->root, key) < 0 ? NULL : k;
}

#define WITH_KEY(st, key, expr)                             \
    do {                                                    \
        struct s3priv *p_ = (st)->priv;                     \
        char *k_ = full_key((st), (key));                   \
        int r_ = k_ ? (expr) : AVERROR(ENOMEM);             \
        (void)p_;                                           \
        free(k_);                                           \
        return r_;                                          \
    } while (0)

static int s3_read(struct cs_store *st, const char *key,
                  cs_store_sink_fn sink, int (*reset)(void *opaque),
                  void *opaque, int64_t *size)
{
    WITH_KEY(st, key, cs_s3_get_sink(p_->s3, p_->bucket, k_, sink, reset,
                                     opaque, size));
}

static int s3_write_file(struct cs_store *st, const char *key,
                         const char *path, const char *ct)
{
    WITH_KEY(st, key, cs_s3_put_file(p_->s3, p_->bucket, k_, path,
                                     st->part_size, ct, NULL));
}

static int s3_write(struct cs_store *st, const char *key, const void *data,
                    size_t len, const char *ct, const char *cache)
{
    WITH_KEY(st, key, cs_s3_put(p_->s3, p_->bucket, k_, data, len, ct,
                                cache));
}

static int s3_remove(struct cs_store *st, const char *key)
{
    WITH_KEY(st, key, cs_s3_delete(p_->s3, p_->bucket, k_));
}

static int s3_stat(struct cs_store *st, const char *key, int64_t *size,
                   char etag[80])
{
    WITH_KEY(st, key, cs_s3_head(p_->s3, p_->bucket, k_, size, etag));
}

static int s3_locate(struct cs_store *st, const char *key, int expires,
                     char **where)
{
    WITH_KEY(st, key, cs_s3_presign(p_->s3, p_->bucket, k_, expires,
                                    where));
}

struct relay {
    const struct cs_store *st;
    cs_store_list_fn fn;
    void *opaque;
};

static int relay(void *opaque, const struct cs_s3_object *o)
{
    struct relay *r = opaque;
    size_t n = strlen(r->st->root);
    struct cs_store_entry e = { o->key + n, o->size, o->etag };

    /* a key outside the prefix asked for is not in this store; "folder"
     * placeholder objects ("dir/") are not assets */
    if (strncmp(o->key, r->st->root, n) || !*e.key ||
        e.key[strlen(e.key) - 1] == '/')
        return 0;
    return r->fn(r->opaque, &e);
}

static int s3_list(struct cs_store *st, const char *prefix,
                   cs_store_list_fn fn, void *opaque)
{
    struct relay r = { st, fn, opaque };

    WITH_KEY(st, prefix ? prefix : "", cs_s3_list(p_->s3, p_->bucket, k_,
                                                  relay, &r));
}

static const char *s3_cause(struct cs_store *st)
{
    struct s3priv *p = st->priv;

    return p && p->s3 ? cs_s3_errmsg(p->s3) : NULL;
}

static void s3_close(struct cs_store *st)
{
    struct s3priv *p = st->priv;

    if (!p)
        return;
    cs_s3_free(&p->s3);
    free(p->bucket);
    free(p);
    st->priv = NULL;
}

/* "s3://bucket[/prefix]": the prefix as a root ending in '/' or "". */
static int parse_location(struct cs_store *st, char **bucket,
                          struct cs_err *err)
{
    char *prefix = NULL;
    int ret = cs_s3_parse_url(st->location, bucket, &prefix);

    if (ret >= 0 && !**bucket)
        ret = CS_EUSAGE;
    if (ret == CS_EUSAGE)
        cs_err_set(err, ret, "invalid location '%s': expected "
                   "s3://BUCKET[/PREFIX]", st->location);
    if (ret < 0)
        goto out;
    if (*prefix && prefix[strlen(prefix) - 1] != '/') {
        ret = asprintf(&st->root, "%s/", prefix) < 0 ? AVERROR(ENOMEM) : 0;
        if (ret < 0)
            st->root = NULL;
    } else {
        st->root = prefix;
        prefix = NULL;
    }
out:
    free(prefix);
    return ret;
}

static int s3_open(struct cs_store *st, const struct cs_store_opts *opts,
                   struct cs_err *err)
{
    struct s3priv *p = calloc(1, sizeof(*p));
    struct cs_s3_config cfg = {
        .path_style = -1, .retries = -1, .timeout = opts->timeout_ms / 1e3,
    };
    int ret;

    if (!p)
        return AVERROR(ENOMEM);
    st->priv = p;
    ret = parse_location(st, &p->bucket, err);
    if (ret < 0)
        return ret;
    return cs_s3_new(&p->s3, &cfg, err);
}

const struct cs_store_ops cs_store_s3 = {
    .kind = "s3",
    .open = s3_open,
    .read = s3_read,
    .write = s3_write,
    .write_file = s3_write_file,
    .list = s3_list,
    .remove = s3_remove,
    .stat = s3_stat,
    .locate = s3_locate,
    .cause = s3_cause,
    .close = s3_close,
};
