#include "ladder/queue.h"

#include <errno.h>
#include <pthread.h>

#include <libavutil/error.h>
#include <libavutil/mem.h>

struct cs_queue {
    pthread_mutex_t lock;
    pthread_cond_t not_full;
    pthread_cond_t not_empty;
    void **items;           /* ring of capacity slots */
    int capacity, head, count, peak;
    int closed;
    int err;                /* non-zero once aborted */
    void (*free_item)(void *item);
};

/* The lock and the two conditions: all or none. */
static int init_sync(struct cs_queue *q)
{
    int ret = pthread_mutex_init(&q->lock, NULL);

    if (ret)
        return AVERROR(ret);
    ret = pthread_cond_init(&q->not_full, NULL);
    if (ret)
        goto no_full;
    ret = pthread_cond_init(&q->not_empty, NULL);
    if (ret)
        goto no_empty;
    return 0;
no_empty:
    pthread_cond_destroy(&q->not_full);
no_full:
    pthread_mutex_destroy(&q->lock);
    return AVERROR(ret);
}

int cs_queue_alloc(struct cs_queue **out, int capacity,
                   void (*free_item)(void *item))
{
    struct cs_queue *q;
    int ret;

    *out = NULL;
    if (capacity < 1)
        return AVERROR(EINVAL);
    q = av_mallocz(sizeof(*q));
    if (!q)
        return AVERROR(ENOMEM);
    q->items = av_calloc(capacity, sizeof(*q->items));
    ret = q->items ? init_sync(q) : AVERROR(ENOMEM);
    if (ret < 0) {
        av_free(q->items);
        av_free(q);
        return ret;
    }
    q->capacity = capacity;
    q->free_item = free_item;
    *out = q;
    return 0;
}

int cs_queue_push(struct cs_queue *q, void *item)
{
    int ret;

    pthread_mutex_lock(&q->lock);
    while (!q->err && !q->closed && q->count == q->capacity)
        pthread_cond_wait(&q->not_full, &q->lock);
    if (q->err) {
        ret = q->err;
    } else if (q->closed) {
        ret = AVERROR_EOF;
    } else {
        q->items[(q->head + q->count) % q->capacity] = item;
        q->count++;
        if (q->count > q->peak)
            q->peak = q->count;
        pthread_cond_signal(&q->not_empty);
        ret = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return ret;
}

int cs_queue_pop(struct cs_queue *q, void **item)
{
    int ret;

    *item = NULL;
    pthread_mutex_lock(&q->lock);
    while (!q->err && !q->closed && q->count == 0)
        pthread_cond_wait(&q->not_empty, &q->lock);
    if (q->err) {
        ret = q->err;
    } else if (q->count == 0) {
        ret = AVERROR_EOF;
    } else {
        *item = q->items[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->count--;
        pthread_cond_signal(&q->not_full);
        ret = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return ret;
}

void cs_queue_close(struct cs_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

/* Release every queued item; the lock is held. */
static void drop_items(struct cs_queue *q)
{
    while (q->count > 0) {
        void *item = q->items[q->head];

        q->head = (q->head + 1) % q->capacity;
        q->count--;
        if (q->free_item)
            q->free_item(item);
    }
}

void cs_queue_abort(struct cs_queue *q, int err)
{
    pthread_mutex_lock(&q->lock);
    if (!q->err)
        q->err = err < 0 ? err : AVERROR_EXIT;
    drop_items(q);
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
}

int cs_queue_depth(struct cs_queue *q, int *peak)
{
    int n;

    pthread_mutex_lock(&q->lock);
    n = q->count;
    if (peak)
        *peak = q->peak;
    pthread_mutex_unlock(&q->lock);
    return n;
}

void cs_queue_free(struct cs_queue **pq)
{
    struct cs_queue *q = *pq;

    if (!q)
        return;
    drop_items(q);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    av_free(q->items);
    av_freep(pq);
}
