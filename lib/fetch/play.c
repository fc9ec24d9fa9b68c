#include "fetch/play.h"

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

/* Seconds of media in a local file; 0 when unknown. */
static double duration(const char *path)
{
    AVFormatContext *fmt = NULL;
    double d = 0;

    if (path[0] != '/' || avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return 0;
    if (fmt->duration <= 0)
        avformat_find_stream_info(fmt, NULL);
    if (fmt->duration > 0)
        d = fmt->duration / (double)AV_TIME_BASE;
    avformat_close_input(&fmt);
    return d;
}

struct player {
    struct cs_store *st;
    const struct cs_play_cfg *c;
    FILE *out;
    struct cs_cache *cache;     /* NULL: folder store or presigned URLs */
    uint64_t rng;
    uint64_t lines;             /* printed so far */
    int64_t start[1001];        /* when line k plays: start[k % (A + 1)] */
    double last_dur;
    char *last;                 /* the key printed last */
    int closed;                 /* the reader went away */
};

/* The path or URL to print for KEY. */
static int resolve(struct player *p, const struct bag *b, const char *key,
                   char **where)
{
    if (p->cache)
        return cs_cache_take(p->cache, p->st, key, size_of(b, key), where);
    return p->st->ops->locate(p->st, key, p->c->expires, where);
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
    p->last_dur = duration(where);
    if (fprintf(p->out, "%s\n", where) < 0 || fflush(p->out) == EOF) {
        p->closed = 1;
        return 0;
    }
    p->lines++;
    free(p->last);
    p->last = strdup(key);
    return p->last ? 0 : AVERROR(ENOMEM);
}

static int round_once(struct player *p, struct bag *b, int *printed)
{
    const char **order = malloc(b->n * sizeof(*order));
    char buf[128];
    int ret = 0;

    if (!order)
        return AVERROR(ENOMEM);
    for (size_t i = 0; i < b->n; i++)
        order[i] = b->keys[i];
    cs_play_shuffle(order, b->n, &p->rng, p->last);
    for (size_t i = 0; i < b->n && !p->closed; i++) {
        char *where = NULL;

        ret = resolve(p, b, order[i], &where);
        if (ret == CS_ESTOP || cs_stopping())
            break;
        if (ret < 0) {
            cs_warn("skipping '%s': %s", order[i],
                    cs_store_cause(p->st, ret, buf, sizeof(buf)));
            ret = 0;
            continue;
        }
        ret = pace(p);
        if (ret >= 0)
            ret = emit(p, order[i], where);
        free(where);
        if (ret < 0)
            break;
        (*printed)++;
        if (p->cache && i + 1 < b->n)
            cs_cache_prefetch(p->cache, p->st, order[i + 1],
                              size_of(b, order[i + 1]));
    }
    free(order);
    return ret;
}

int cs_play(struct cs_store *st, const struct cs_play_cfg *c, FILE *out)
{
    struct player p = { .st = st, .c = c, .out = out };
    int ret = 0;

    p.rng = c->seeded ? c->seed * 0x9e3779b97f4a7c15ull + 1
                      : (uint64_t)cs_wall_us() ^ (uint64_t)getpid() << 32;
    if (!p.rng)
        p.rng = 1;
    if (!strcmp(st->ops->kind, "s3") && !c->presign)
        ret = cs_cache_open(&p.cache, c->cache_dir, c->cache_size,
                            c->ahead + 2);
    if (ret < 0)
        cs_error("cannot open the cache '%s': %s", c->cache_dir,
                 CS_ERRSTR(ret));
    while (ret >= 0 && !p.closed && !cs_stopping()) {
        struct bag b = { 0 };
        int printed = 0;
        char buf[128];

        ret = st->ops->list(st, NULL, bag_add, &b);
        if (ret < 0)
            cs_error("cannot list '%s': %s", st->location,
                     cs_store_cause(st, ret, buf, sizeof(buf)));
        else if (!b.n)
            cs_error("no videos in '%s'", st->location);
        if (ret >= 0 && !b.n)
            ret = AVERROR(ENOENT);
        if (ret >= 0)
            ret = round_once(&p, &b, &printed);
        if (ret >= 0 && !printed && !p.closed && !cs_stopping()) {
            cs_error("no video of '%s' could be fetched", st->location);
            ret = CS_ENET;
        }
        bag_clear(&b);
        if (!c->loop)
            break;
    }
    cs_cache_close(&p.cache);
    free(p.last);
    return ret == CS_ESTOP ? 0 : ret;
}
