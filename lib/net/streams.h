/* net/streams.h: cs-recv --exec: one child process per publishing stream.
 *
 * A stream is a name from the access file (never its secret). The first
 * publisher of a stream starts COMMAND through /bin/sh in a process group
 * of its own, the stream's MPEG-TS on its stdin and CS_STREAM, CS_PROTOCOL
 * and CS_REMOTE in its environment. A publisher that returns within the
 * linger time feeds the same child, its timestamps carried on (cs_tsout);
 * after that the child's stdin is closed and its group stopped (SIGTERM,
 * then SIGKILL after CS_STREAMS_KILL_AFTER seconds). A child that dies
 * while its stream is on is started again with back-off (1 s doubling to
 * 30 s), said on stderr.
 *
 * Threads: any thread may start, write and end streams (a stream is fed
 * by one thread at a time, the one that started it); one thread calls
 * cs_streams_tick() about ten times a second.
 */
#ifndef CS_NET_STREAMS_H
#define CS_NET_STREAMS_H

#include <stdint.h>

#include <cjson/cJSON.h>

#define CS_STREAMS_KILL_AFTER 5.0

struct cs_streams;
struct cs_stream;

/* A table running COMMAND (kept, not copied) for each stream. Returns 0
 * or AVERROR(ENOMEM). */
int cs_streams_open(struct cs_streams **out, const char *command,
                    double linger);

/* A publisher of NAME (over PROTOCOL, from REMOTE) starts: its stream, or
 * NULL when another publisher is on it already (or out of memory). */
struct cs_stream *cs_streams_start(struct cs_streams *t, const char *name,
                                   const char *protocol, const char *remote);

/* N bytes of the stream's MPEG-TS to its child. Returns 0 (bytes that
 * come while the child is being restarted are dropped and counted), or
 * CS_EDATA when they are not MPEG-TS. */
int cs_streams_write(struct cs_streams *t, struct cs_stream *st,
                     const uint8_t *buf, int n);

/* The publisher left: the stream lingers. */
void cs_streams_end(struct cs_streams *t, struct cs_stream *st);

/* Reap children, stop those whose linger is over, kill those that did not
 * stop in time. */
void cs_streams_tick(struct cs_streams *t);

/* "streams": [{"stream", "protocol", "on", "child_pid", "restarts",
 * "bytes", ...}] into OBJ. */
void cs_streams_stats(struct cs_streams *t, cJSON *obj);

/* Stop every child (stdin closed, SIGTERM, SIGKILL after the bound), wait
 * for them, free; NULL-safe, clears *T. */
void cs_streams_close(struct cs_streams **t);

#endif
