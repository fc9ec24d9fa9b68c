/* The open file cache (fcache.h): a fixed table of slots looked up by a
 * hash of the path, a few probes each; past the byte budget a clock hand
 * drops the entries not used since it last passed. */
#include "http/fcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define SLOTS  4096               /* a power of two */
#define PROBES 4
#define SETTLE_NS (50 * 1000000LL)

struct ent {
    char *rel;                    /* NULL: a free slot */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    struct MHD_Response *resp;    /* one reference, the entry's */
    size_t len;
    int used;                     /* served since the hand passed */
};

struct cs_fcache {
    pthread_mutex_t mu;
    struct ent slot[SLOTS];
    size_t bytes, max;
    unsigned hand;
    long long entries;
    atomic_llong hits, misses;
};

int cs_fcache_open(struct cs_fcache **out, size_t max_bytes)
{
    struct cs_fcache *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (!c)
        return AVERROR(ENOMEM);
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return AVERROR(ENOMEM);
    }
    c->max = max_bytes;
    *out = c;
    return 0;
}

/* Lock held. */
static void drop(struct cs_fcache *c, struct ent *e)
{
    if (!e->rel)
        return;
    MHD_destroy_response(e->resp);
    free(e->rel);
    c->bytes -= e->len;
    c->entries--;
    memset(e, 0, sizeof(*e));
}

void cs_fcache_close(struct cs_fcache **pc)
{
    struct cs_fcache *c = *pc;

    *pc = NULL;
    if (!c)
        return;
    for (int i = 0; i < SLOTS; i++)
        drop(c, &c->slot[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int64_t ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int cs_fcache_fits(const struct stat *st, int64_t wall_ns)
{
    return S_ISREG(st->st_mode) && st->st_size > 0 &&
           st->st_size <= CS_FCACHE_MAX_FILE &&
           wall_ns - ns(&st->st_ctim) > SETTLE_NS &&
           wall_ns - ns(&st->st_mtim) > SETTLE_NS;
}

static unsigned hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int same(const struct ent *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino &&
           e->size == st->st_size &&
           ns(&e->mtime) == ns(&st->st_mtim) &&
           ns(&e->ctime) == ns(&st->st_ctim);
}

/* Lock held: the slot holding REL, or NULL. */
static struct ent *find(struct cs_fcache *c, const char *rel, unsigned h)
{
    for (unsigned i = 0; i < PROBES; i++) {
        struct ent *e = &c->slot[(h + i) & (SLOTS - 1)];

        if (e->rel && !strcmp(e->rel, rel))
            return e;
    }
    return NULL;
}

int cs_fcache_queue(struct cs_fcache *c, const char *rel,
                    const struct stat *st, struct MHD_Connection *conn,
                    enum MHD_Result *res, size_t *len)
{
    struct ent *e;
    int hit = 0;

    pthread_mutex_lock(&c->mu);
    e = find(c, rel, hash(rel));
    if (e && !same(e, st))
        drop(c, e);               /* another file now: read it again */
    else if (e) {
        /* queued under the lock: the entry's reference cannot go */
        *res = MHD_queue_response(conn, MHD_HTTP_OK, e->resp);
        *len = e->len;
        e->used = 1;
        hit = 1;
    }
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_add(hit ? &c->hits : &c->misses, 1);
    return hit;
}

/* Lock held: drop entries the hand finds unused until LEN more fits. */
static void make_room(struct cs_fcache *c, size_t len)
{
    for (int n = 0; c->bytes + len > c->max && n < 2 * SLOTS; n++) {
        struct ent *e = &c->slot[c->hand++ & (SLOTS - 1)];

        if (e->used)
            e->used = 0;
        else
            drop(c, e);
    }
}

/* Lock held: the slot for REL: its own, a free one, an unused one, or
 * the first probed. */
static struct ent *slot_for(struct cs_fcache *c, const char *rel,
                            unsigned h)
{
    struct ent *e = find(c, rel, h), *idle = NULL;

    for (unsigned i = 0; !e && i < PROBES; i++) {
        struct ent *s = &c->slot[(h + i) & (SLOTS - 1)];

        if (!s->rel)
            e = s;
        else if (!s->used && !idle)
            idle = s;
    }
    return e ? e : idle ? idle : &c->slot[h & (SLOTS - 1)];
}

void cs_fcache_put(struct cs_fcache *c, const char *rel,
                   const struct stat *st, struct MHD_Response *resp,
                   size_t len)
{
    char *key = strdup(rel);
    unsigned h = hash(rel);
    struct ent *e;

    if (!key || len > c->max) {
        free(key);
        MHD_destroy_response(resp);
        return;
    }
    pthread_mutex_lock(&c->mu);
    e = slot_for(c, rel, h);
    drop(c, e);
    make_room(c, len);
    *e = (struct ent){ key, st->st_dev, st->st_ino, st->st_size,
                       st->st_mtim, st->st_ctim, resp, len, 1 };
    c->bytes += len;
    c->entries++;
    pthread_mutex_unlock(&c->mu);
}

void cs_fcache_stats(struct cs_fcache *c, long long *entries,
                     long long *bytes, long long *hits, long long *misses)
{
    pthread_mutex_lock(&c->mu);
    *entries = c->entries;
    *bytes = (long long)c->bytes;
    pthread_mutex_unlock(&c->mu);
    *hits = atomic_load(&c->hits);
    *misses = atomic_load(&c->misses);
}
