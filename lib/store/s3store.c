/* s3store.c: an S3 bucket (and key prefix) as an asset store. */
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

static int s3_get(struct cs_store *st, const char *key,
                  cs_store_sink_fn sink, int (*reset)(void *opaque),
                  void *opaque, int64_t *size)
{
    WITH_KEY(st, key, cs_s3_get_sink(p_->s3, p_->bucket, k_, sink, reset,
                                     opaque, size));
}

static int s3_put_file(struct cs_store *st, const char *key,
                       const char *path, const char *ct)
{
    WITH_KEY(st, key, cs_s3_put_file(p_->s3, p_->bucket, k_, path,
                                     st->part_size, ct, NULL));
}

static int s3_put_mem(struct cs_store *st, const char *key, const void *data,
                      size_t len, const char *ct)
{
    WITH_KEY(st, key, cs_s3_put(p_->s3, p_->bucket, k_, data, len, ct,
                                NULL));
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

static const struct cs_store_ops s3_ops = {
    .kind = "s3",
    .get = s3_get,
    .put_file = s3_put_file,
    .put_mem = s3_put_mem,
    .list = s3_list,
    .remove = s3_remove,
    .stat = s3_stat,
    .locate = s3_locate,
    .cause = s3_cause,
    .close = s3_close,
};

int cs_store_s3_init(struct cs_store *st, const char *bucket)
{
    struct s3priv *p = calloc(1, sizeof(*p));
    int ret;

    if (!p)
        return AVERROR(ENOMEM);
    st->ops = &s3_ops;
    st->priv = p;
    p->bucket = strdup(bucket);
    if (!p->bucket)
        return AVERROR(ENOMEM);
    ret = cs_s3_new_from_env(&p->s3);
    return ret;
}
