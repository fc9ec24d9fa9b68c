/* md5pipe.c: a byte ring between the transfer thread (the only writer)
 * and a hashing thread (the only reader). head and tail count bytes ever
 * written and hashed; the ring holds [tail, head). The hasher touches the
 * MD5 context only while tail != head, so once the ring is empty the
 * feeder may reset or finish it. */
#include "store/md5pipe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/md5.h>
#include <libavutil/mem.h>

#include "err.h"

#define RING (8 << 20)
#define STEP (1 << 20)          /* hashed per turn of the lock */
#define WAKE (256 << 10)        /* bytes that wake a waiting hasher: not
                                   one futex call per 16 KiB received */

struct cs_md5pipe {
    struct AVMD5 *md5;
    uint8_t *ring;              /* NULL until the thread starts */
    size_t head, tail;
    size_t inline_done;         /* bytes hashed in place since reset */
    int stop, started;
    int hasher_waits, feeder_waits;
    pthread_mutex_t lock;
    pthread_cond_t more;        /* head moved, or stop */
    pthread_cond_t room;        /* tail moved */
    pthread_t thread;
};

static void *hasher(void *arg)
{
    struct cs_md5pipe *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        size_t k, at;

        while (!p->stop && p->head == p->tail) {
            p->hasher_waits = 1;
            pthread_cond_wait(&p->more, &p->lock);
            p->hasher_waits = 0;
        }
        if (p->head == p->tail)
            break;
        at = p->tail % RING;
        k = p->head - p->tail;
        k = k < RING - at ? k : RING - at;
        k = k < STEP ? k : STEP;
        pthread_mutex_unlock(&p->lock);
        av_md5_update(p->md5, p->ring + at, k);
        pthread_mutex_lock(&p->lock);
        p->tail += k;
        if (p->feeder_waits)
            pthread_cond_signal(&p->room);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int cs_md5pipe_new(struct cs_md5pipe **out)
{
    struct cs_md5pipe *p = calloc(1, sizeof(*p));

    *out = NULL;
    if (!p)
        return AVERROR(ENOMEM);
    p->md5 = av_md5_alloc();
    if (!p->md5) {
        free(p);
        return AVERROR(ENOMEM);
    }
    av_md5_init(p->md5);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->more, NULL);
    pthread_cond_init(&p->room, NULL);
    *out = p;
    return 0;
}

/* Wait until the hasher has hashed every byte fed. */
static void drain(struct cs_md5pipe *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->hasher_waits && p->tail != p->head)
        pthread_cond_signal(&p->more);
    while (p->tail != p->head) {
        p->feeder_waits = 1;
        pthread_cond_wait(&p->room, &p->lock);
        p->feeder_waits = 0;
    }
    pthread_mutex_unlock(&p->lock);
}

void cs_md5pipe_reset(struct cs_md5pipe *p)
{
    drain(p);
    av_md5_init(p->md5);
    p->inline_done = 0;
}

/* The hashing thread, or 0 if it cannot start (then hashing stays here). */
static int start(struct cs_md5pipe *p)
{
    p->started = -1;
    p->ring = malloc(RING);
    if (!p->ring)
        return 0;
    if (pthread_create(&p->thread, NULL, hasher, p)) {
        free(p->ring);
        p->ring = NULL;
        return 0;
    }
    p->started = 1;
    return 1;
}

static void put(struct cs_md5pipe *p, const uint8_t *d, size_t n)
{
    while (n > 0) {
        size_t at, k;

        pthread_mutex_lock(&p->lock);
        while (p->head - p->tail == RING) {
            p->feeder_waits = 1;
            pthread_cond_wait(&p->room, &p->lock);
            p->feeder_waits = 0;
        }
        at = p->head % RING;
        k = RING - (p->head - p->tail);
        k = k < RING - at ? k : RING - at;
        k = k < n ? k : n;
        pthread_mutex_unlock(&p->lock);
        memcpy(p->ring + at, d, k);
        pthread_mutex_lock(&p->lock);
        p->head += k;
        if (p->hasher_waits && (p->head - p->tail >= WAKE ||
                                p->head - p->tail == RING))
            pthread_cond_signal(&p->more);
        pthread_mutex_unlock(&p->lock);
        d += k;
        n -= k;
    }
}

void cs_md5pipe_feed(struct cs_md5pipe *p, const void *data, size_t n)
{
    if (!p->started && p->inline_done + n > CS_MD5PIPE_INLINE)
        start(p);
    if (p->started > 0) {
        put(p, data, n);
        return;
    }
    av_md5_update(p->md5, data, n);
    p->inline_done += n;
}

void cs_md5pipe_final(struct cs_md5pipe *p, uint8_t out[16])
{
    drain(p);
    av_md5_final(p->md5, out);
}

void cs_md5pipe_free(struct cs_md5pipe **pp)
{
    struct cs_md5pipe *p = *pp;

    if (!p)
        return;
    if (p->started > 0) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_signal(&p->more);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
    }
    free(p->ring);
    av_free(p->md5);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->more);
    pthread_cond_destroy(&p->room);
    free(p);
    *pp = NULL;
}
