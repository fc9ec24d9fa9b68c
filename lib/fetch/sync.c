#include "fetch/sync.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "sig.h"
#include "store/digest.h"

struct remote {
    struct cs_store_entry *e;
    size_t n, cap;
};

static int collect(void *opaque, const struct cs_store_entry *e)
{
    struct remote *r = opaque;

    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        struct cs_store_entry *n = realloc(r->e, cap * sizeof(*n));

        if (!n)
            return AVERROR(ENOMEM);
        r->e = n;
        r->cap = cap;
    }
    r->e[r->n].key = strdup(e->key);
    r->e[r->n].etag = strdup(e->etag);
    r->e[r->n].size = e->size;
    if (!r->e[r->n].key || !r->e[r->n].etag) {
        free((char *)r->e[r->n].key);
        free((char *)r->e[r->n].etag);
        return AVERROR(ENOMEM);
    }
    r->n++;
    return 0;
}

static void remote_free(struct remote *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free((char *)r->e[i].key);
        free((char *)r->e[i].etag);
    }
    free(r->e);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct cs_store_entry *)a)->key,
                  ((const struct cs_store_entry *)b)->key);
}

struct job {
    struct cs_store *dst;
    struct cs_store *src;
    struct remote have;
    struct cs_sync_result *res;
    struct cs_err *err;         /* the first failure */
};

/* Same size and same content hash: nothing to send. */
static int unchanged(struct job *j, const struct cs_store_entry *local,
                     const char *path)
{
    struct cs_store_entry *r = NULL;
    char mine[80], theirs[80];

    if (j->have.n)
        r = bsearch(local, j->have.e, j->have.n, sizeof(*r), cmp_entry);
    if (!r || r->size != local->size)
        return 0;
    if (r->etag[0]) {
        /* "md5-N" for an object sent in parts (of our part size, if it
         * was sent by us), the plain MD5 otherwise */
        int64_t part = strchr(r->etag, '-') ? j->dst->part_size : INT64_MAX;

        return cs_file_etag(path, part, mine) >= 0 &&
               !strcmp(mine, r->etag);
    }
    if (cs_file_etag(path, j->dst->part_size, mine) < 0)
        return 0;
    /* a folder store lists no hash: ask it */
    return cs_store_stat(j->dst, r->key, NULL, theirs) >= 0 &&
           !strcmp(mine, theirs);
}

/* The first failure is the run's; the others are told as they come. */
static void report_failure(struct job *j, const char *path, int code)
{
    struct cs_err e = { 0 };

    cs_store_fail(j->dst, &e, code, "cannot upload '%s' to '%s'", path,
                  j->dst->location);
    if (j->err && !cs_err_failed(j->err))
        *j->err = e;
    else
        cs_warn("%s", e.msg);
}

static int send_one(void *opaque, const struct cs_store_entry *e)
{
    struct job *j = opaque;
    char *path = NULL;
    int ret;

    if (cs_stopping())
        return CS_ESTOP;
    if (asprintf(&path, "%s/%s", j->src->root, e->key) < 0)
        return AVERROR(ENOMEM);
    if (unchanged(j, e, path)) {
        j->res->unchanged++;
        free(path);
        return 0;
    }
    ret = cs_store_write_file(j->dst, e->key, path, cs_mime_type(e->key));
    if (ret < 0) {
        report_failure(j, path, ret);
        j->res->failed++;
    } else {
        cs_verbose("'%s' uploaded", e->key);
        j->res->uploaded++;
    }
    free(path);
    /* a peer that is gone stays gone for the next file too */
    return ret == CS_ENET || ret == CS_EUSAGE ? ret : 0;
}

int cs_sync_dir(struct cs_store *st, const char *dir,
                struct cs_sync_result *res, struct cs_err *err)
{
    struct cs_store_opts opts = { .part_size = st->part_size };
    struct job j = { .dst = st, .res = res, .err = err };
    int ret;

    memset(res, 0, sizeof(*res));
    ret = cs_store_open(&j.src, dir, &opts, err);
    if (ret >= 0)
        ret = cs_store_list(st, NULL, collect, &j.have);
    if (ret >= 0)
        ret = cs_store_list(j.src, NULL, send_one, &j);
    if (ret >= 0 && res->failed)
        ret = cs_err_failed(err) ? err->code : AVERROR(EIO);
    remote_free(&j.have);
    cs_store_close(&j.src);
    return ret;
}
