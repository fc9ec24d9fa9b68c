/* The manifest cache: a few slots, looked up by path and validator. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fsutil.h"
#include "http/internal.h"
#include "http/mcache.h"

int cs_mcache_init(struct cs_mcache *c)
{
    memset(c, 0, sizeof(*c));
    return pthread_mutex_init(&c->mu, NULL) ? AVERROR(ENOMEM) : 0;
}

void cs_blob_unref(void *blob)
{
    struct cs_blob *b = blob;

    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    free(b->path);
    free(b->text);
    free(b->gz);
    free(b);
}

void cs_mcache_free(struct cs_mcache *c)
{
    for (int i = 0; i < CS_MCACHE_SLOTS; i++)
        cs_blob_unref(c->slot[i]);
    pthread_mutex_destroy(&c->mu);
}

static struct cs_blob *load(const char *path, const char *etag, int64_t max,
                            int *ret)
{
    struct cs_blob *b = calloc(1, sizeof(*b));

    if (!b || !(b->path = strdup(path))) {
        free(b);
        *ret = AVERROR(ENOMEM);
        return NULL;
    }
    atomic_init(&b->refs, 1);
    snprintf(b->etag, sizeof(b->etag), "%s", etag);
    *ret = cs_file_read(path, max, &b->text, &b->len);
    if (*ret < 0) {
        cs_blob_unref(b);
        return NULL;
    }
    if (cs_http_gzip(b->text, b->len, &b->gz, &b->gzlen) < 0)
        b->gz = NULL;
    return b;
}

/* Lock held: the slot holding PATH, else the one to replace. */
static int slot_for(struct cs_mcache *c, const char *path)
{
    for (int i = 0; i < CS_MCACHE_SLOTS; i++)
        if (c->slot[i] && !strcmp(c->slot[i]->path, path))
            return i;
    return (int)(c->next++ % CS_MCACHE_SLOTS);
}

int cs_mcache_get(struct cs_mcache *c, const char *path, const char *etag,
                  int64_t max, struct cs_blob **out)
{
    struct cs_blob *b;
    int ret, i;

    pthread_mutex_lock(&c->mu);
    i = slot_for(c, path);
    b = c->slot[i];
    if (b && !strcmp(b->path, path) && !strcmp(b->etag, etag)) {
        atomic_fetch_add(&b->refs, 1);
        pthread_mutex_unlock(&c->mu);
        atomic_fetch_add(&c->hits, 1);
        *out = b;
        return 0;
    }
    pthread_mutex_unlock(&c->mu);
    /* read outside the lock; two readers of one new version both read,
     * and the later install wins */
    atomic_fetch_add(&c->misses, 1);
    b = load(path, etag, max, &ret);
    if (!b)
        return ret;
    atomic_fetch_add(&b->refs, 1);   /* the slot's */
    pthread_mutex_lock(&c->mu);
    i = slot_for(c, path);
    cs_blob_unref(c->slot[i]);
    c->slot[i] = b;
    pthread_mutex_unlock(&c->mu);
    *out = b;
    return 0;
}
