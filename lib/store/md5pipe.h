/* md5pipe.h: the MD5 of a download, computed on a thread of its own so
 * that the transfer thread only copies the bytes (about 20x cheaper than
 * hashing them). Small bodies are hashed in place: the thread starts once
 * more than CS_MD5PIPE_INLINE bytes have come. Not thread-safe: one feeder. */
#ifndef CS_STORE_MD5PIPE_H
#define CS_STORE_MD5PIPE_H

#include <stddef.h>
#include <stdint.h>

#define CS_MD5PIPE_INLINE (1 << 20)

struct cs_md5pipe;

/* A pipe, started (as av_md5_init), in *out; 0 or AVERROR(ENOMEM). */
int cs_md5pipe_new(struct cs_md5pipe **out);

/* Start over: forget every byte fed so far. */
void cs_md5pipe_reset(struct cs_md5pipe *p);

/* Add N bytes at DATA; waits while the pipe is full. */
void cs_md5pipe_feed(struct cs_md5pipe *p, const void *data, size_t n);

/* The MD5 of every byte fed since the last reset, once all are hashed. */
void cs_md5pipe_final(struct cs_md5pipe *p, uint8_t out[16]);

/* Stop the thread and free *P (NULL-safe); *P becomes NULL. */
void cs_md5pipe_free(struct cs_md5pipe **p);

#endif
