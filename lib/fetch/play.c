#include "fetch/play.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>

#include "clock.h"
#include "err.h"
#include "fetch/cache.h"
#include "log.h"
#include "sig.h"
#include "store/key.h"

void cs_play_cfg_init(struct cs_play_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->expires = 86400;
    c->cache_dir = "./.cs-fetch-cache";
    c->cache_size = (int64_t)2 << 30;
    c->ahead = 1;
}

static uint64_t next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

void cs_play_shuffle(const char **v, size_t n, uint64_t *rng,
                     const char *avoid)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(next(rng) % i);
        const char *t = v[i - 1];

        v[i - 1] = v[j];
        v[j] = t;
    }
    if (n > 1 && avoid && !strcmp(v[0], avoid)) {
        size_t j = 1 + (size_t)(next(rng) % (n - 1));
        const char *t = v[0];

        v[0] = v[j];
        v[j] = t;
    }
}

struct bag {
    struct cs_play_cfg *c;
    char **keys;
    int64_t *sizes;
    size_t n, cap;
};

static int is_video(const char *key)
{
    static const char *const ext[] = { ".mp4", ".mkv", ".webm", ".mov",
                                       ".ts", ".m4v", ".flv", NULL };
    const char *dot = strrchr(key, '.');

    for (int i = 0; dot && ext[i]; i++)
        if (!strcasecmp(dot, ext[i]))
            return 1;
    return 0;
}

static int bag_add(void *opaque, const struct cs_store_entry *e)
{
    struct bag *b = opaque;

    if (!is_video(e->key))
        return 0;
    if (!cs_key_is_line(e->key)) {
        b->c->refused++;
        if (b->c->refuse)
            b->c->refuse(b->c->opaque, e->key);
        return 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        char **k = realloc(b->keys, cap * sizeof(*k));
        int64_t *s;

        if (!k)
            return AVERROR(ENOMEM);
        b->keys = k;
        s = realloc(b->sizes, cap * sizeof(*s));
        if (!s)
            return AVERROR(ENOMEM);
        b->sizes = s;
        b->cap = cap;
    }
    b->keys[b->n] = strdup(e->key);
    if (!b->keys[b->n])
        return AVERROR(ENOMEM);
    b->sizes[b->n++] = e->size;
    return 0;
}

static void bag_clear(struct bag *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->keys[i]);
    free(b->keys);
    free(b->sizes);
    memset(b, 0, sizeof(*b));
}

static int64_t size_of(const struct bag *b, const char *key)
{
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->keys[i], key))
            return b->sizes[i];
    return -1;
}

/* libavformat, and the hundred libraries of codecs behind it, loaded on
 * the first duration asked for (and kept: RTLD_NODELETE) rather than at
 * every start of cs-fetch: get and put never need them, and loading them
 * cost more CPU than a 64 MiB download's own work. */
struct avf {
    int (*open)(AVFormatContext **, const char *, const AVInputFormat *,
                AVDictionary **);
    int (*info)(AVFormatContext *, AVDictionary **);
    void (*close)(AVFormatContext **);
};

static int avf_load(struct avf *f)
{
    void *h = dlopen("libavformat.so." AV_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR),
                     RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

    if (!h)
        return -1;
    *(void **)&f->open = dlsym(h, "avformat_open_input");
    *(void **)&f->info = dlsym(h, "avformat_find_stream_info");
    *(void **)&f->close = dlsym(h, "avformat_close_input");
    dlclose(h);                 /* stays loaded: RTLD_NODELETE */
    return f->open && f->info && f->close ? 0 : -1;
}

double cs_play_duration(const char *path)
{
    AVFormatContext *fmt = NULL;
    struct avf f;
    double d = 0;

    if (path[0] != '/' || avf_load(&f) < 0 ||
        f.open(&fmt, path, NULL, NULL) < 0)
        return 0;
    if (fmt->duration <= 0)
        f.info(fmt, NULL);
    if (fmt->duration > 0)
        d = fmt->duration / (double)AV_TIME_BASE;
    f.close(&fmt);
    return d;
}

struct player {
    struct cs_store *st;
    struct cs_play_cfg *c;
    FILE *out;
    struct cs_cache *cache;     /* NULL: folder store or presigned URLs */
    uint64_t rng;
    uint64_t lines;             /* printed so far */
    int64_t start[1001];        /* when line k plays: start[k % (A + 1)] */
    double last_dur;
    char *last;                 /* the key printed last */
    int closed;                 /* the reader went away */
    struct cs_err *err;         /* the caller's */
};

/* The path or URL to print for KEY. */
static int resolve(struct player *p, const struct bag *b, const char *key,
                   char **where)
{
    if (p->cache)
        return cs_cache_take(p->cache, p->st, key, size_of(b, key), where);
    return cs_store_locate(p->st, key, p->c->expires, where);
}

/* Wait until line k may be printed: when the line AHEAD before it starts
 * playing, so the player always has the next one and the cache still
 * holds it. */
static int pace(struct player *p)
{
    int a = p->c->ahead;

    if (!a || p->lines < (uint64_t)a)
        return 0;
    if (cs_sleep_until_us(p->start[(p->lines - (uint64_t)a) % (a + 1)]))
        return CS_ESTOP;
    return 0;
}

static int emit(struct player *p, const char *key, const char *where)
{
    int a = p->c->ahead;
    int64_t now = cs_now_us(), s = now;

    if (p->lines > 0) {
        s = p->start[(p->lines - 1) % (a + 1)] + (int64_t)(p->last_dur * 1e6);
        if (s < now)
            s = now;
    }
    p->start[p->lines % (a + 1)] = s;
    p->last_dur = cs_play_duration(where);
    if (fprintf(p->out, "%s\n", where) < 0 || fflush(p->out) == EOF) {
        p->closed = 1;
        return 0;
    }
    p->lines++;
    free(p->last);
    p->last = strdup(key);
    return p->last ? 0 : AVERROR(ENOMEM);
}

static void report(const struct cs_play_cfg *c)
{
    cJSON *o;

    if (!cs_stats_due(c->stats))
        return;
    o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddNumberToObject(o, "lines", (double)c->lines);
    cJSON_AddNumberToObject(o, "skipped", (double)c->skipped);
    cJSON_AddNumberToObject(o, "refused", (double)c->refused);
    cJSON_AddNumberToObject(o, "rounds", (double)c->rounds);
    cs_stats_emit(c->stats, o);
}

/* One round: the store's videos in a shuffled order. */
struct round {
    struct bag b;
    const char **order;
    int ready;
};

static void round_clear(struct round *r)
{
    free(r->order);
    bag_clear(&r->b);
    memset(r, 0, sizeof(*r));
}

/* List the store into R and shuffle it, AVOID (may be NULL) not first. */
static int prepare(struct player *p, struct round *r, const char *avoid)
{
    int ret;

    r->b.c = p->c;
    ret = cs_store_list(p->st, NULL, bag_add, &r->b);
    if (ret < 0) {
        cs_store_fail(p->st, p->err, ret, "cannot list '%s'",
                      p->st->location);
    } else if (!r->b.n) {
        ret = cs_err_set(p->err, AVERROR(ENOENT), "no videos in '%s'",
                         p->st->location);
    } else {
        r->order = malloc(r->b.n * sizeof(*r->order));
        ret = r->order ? 0 : AVERROR(ENOMEM);
    }
    if (ret < 0) {
        round_clear(r);
        return ret;
    }
    for (size_t i = 0; i < r->b.n; i++)
        r->order[i] = r->b.keys[i];
    cs_play_shuffle(r->order, r->b.n, &p->rng, avoid);
    r->ready = 1;
    return 0;
}

/* Fetch the video after position I: the next of this round or, with
 * --loop, the first of the next one, listed and shuffled now so that the
 * first video of a round does not wait either. */
static int prefetch_next(struct player *p, const struct round *cur,
                         struct round *next, size_t i)
{
    int ret = 0;

    if (!p->cache)
        return 0;
    if (i + 1 < cur->b.n)
        return cs_cache_prefetch(p->cache, p->st, cur->order[i + 1],
                                 size_of(&cur->b, cur->order[i + 1]));
    if (!p->c->loop)
        return 0;
    if (!next->ready)
        ret = prepare(p, next, cur->order[i]);
    if (ret >= 0)
        ret = cs_cache_prefetch(p->cache, p->st, next->order[0],
                                size_of(&next->b, next->order[0]));
    return ret;
}

/* A video that cannot be fetched is left out of this round. */
static void skip(struct player *p, const char *key, int code)
{
    struct cs_err e = { 0 };

    cs_store_fail(p->st, &e, code, "skipping '%s'", key);
    cs_warn("%s", e.msg);
    p->c->skipped++;
}

static int round_once(struct player *p, const struct round *cur,
                      struct round *next, int *printed)
{
    int ret = 0;

    for (size_t i = 0; i < cur->b.n && !p->closed; i++) {
        const char *key = cur->order[i];
        char *where = NULL;

        ret = resolve(p, &cur->b, key, &where);
        if (ret == CS_ESTOP || cs_stopping())
            break;
        if (ret < 0) {
            skip(p, key, ret);
            ret = 0;
            continue;
        }
        ret = pace(p);
        if (ret >= 0)
            ret = emit(p, key, where);
        free(where);
        if (ret < 0)
            break;
        (*printed)++;
        p->c->lines++;
        report(p->c);
        ret = prefetch_next(p, cur, next, i);
        if (ret < 0)
            break;
    }
    return ret;
}

int cs_play(struct cs_store *st, struct cs_play_cfg *c, FILE *out,
            struct cs_err *err)
{
    struct player p = { .st = st, .c = c, .out = out, .err = err };
    struct round cur = { 0 }, next = { 0 };
    int ret = 0;

    p.rng = c->seeded ? c->seed * 0x9e3779b97f4a7c15ull + 1
                      : (uint64_t)cs_wall_us() ^ (uint64_t)getpid() << 32;
    if (!p.rng)
        p.rng = 1;
    if (!strcmp(st->ops->kind, "s3") && !c->presign)
        ret = cs_cache_open(&p.cache, c->cache_dir, c->cache_size,
                            c->ahead + 2);
    if (ret < 0)
        cs_err_code(err, ret, "cannot open the cache '%s'", c->cache_dir);
    if (ret >= 0)
        ret = prepare(&p, &cur, NULL);
    while (ret >= 0 && !p.closed && !cs_stopping()) {
        int printed = 0;

        ret = round_once(&p, &cur, &next, &printed);
        if (ret >= 0 && !printed && !p.closed && !cs_stopping()) {
            ret = cs_err_set(err, CS_ENET, "no video of '%s' could be "
                             "fetched", st->location);
        }
        c->rounds++;
        round_clear(&cur);
        if (!c->loop || ret < 0 || p.closed || cs_stopping())
            break;
        if (!next.ready)
            ret = prepare(&p, &next, p.last);
        cur = next;
        memset(&next, 0, sizeof(next));
    }
    round_clear(&cur);
    round_clear(&next);
    cs_cache_close(&p.cache);
    free(p.last);
    return ret == CS_ESTOP ? 0 : ret;
}
