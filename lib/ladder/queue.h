/* ladder/queue.h: a bounded, thread-safe FIFO of pointers with
 * back-pressure. A producer blocks while the queue is full and a consumer
 * while it is empty, so memory stays flat however slow the other side is.
 *
 * Ownership: an item belongs to the queue from a successful push until a
 * pop hands it out; items still queued at cs_queue_abort() or
 * cs_queue_free() are released with the FREE_ITEM function given at
 * allocation. On a failed push the item stays the caller's.
 */
#ifndef CS_LADDER_QUEUE_H
#define CS_LADDER_QUEUE_H

struct cs_queue;

/* A queue holding at most CAPACITY (>= 1) items. */
int cs_queue_alloc(struct cs_queue **out, int capacity,
                   void (*free_item)(void *item));

/* Append ITEM, waiting while the queue is full. Returns 0, AVERROR_EOF
 * after cs_queue_close(), or the code given to cs_queue_abort(). */
int cs_queue_push(struct cs_queue *q, void *item);

/* Take the oldest item, waiting while the queue is empty. Returns 0,
 * AVERROR_EOF once closed and empty, or the code given to cs_queue_abort(). */
int cs_queue_pop(struct cs_queue *q, void **item);

/* No more items: pops drain what is queued, then see AVERROR_EOF. */
void cs_queue_close(struct cs_queue *q);

/* Stop at once: queued items are released and every waiting or later push
 * and pop returns ERR (a negative code). The first abort's code wins. */
void cs_queue_abort(struct cs_queue *q, int err);

/* Items queued now; *PEAK (if not NULL): the most there ever were. */
int cs_queue_depth(struct cs_queue *q, int *peak);

/* Release the queue and what it still holds; NULL-safe, clears *q. No
 * thread may be using it. */
void cs_queue_free(struct cs_queue **q);

#endif
