/* http/live.h: the in-memory live edge of every media playlist under the
 * root, kept current by PUT ingest (cs_live_put) and by inotify for files
 * written by another process, and the requests waiting on it.
 *
 * A waiter is registered under the table's lock after its condition was
 * found false under the same lock, so a change cannot slip in between;
 * it is woken (removed and handed to the wake callback) when a playlist
 * in its folder changes (or, with CS_WAIT_ANY_FILE, when any file lands
 * there), when its deadline passes, or when the table shuts down.
 */
#ifndef CS_HTTP_LIVE_H
#define CS_HTTP_LIVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/m3u8.h"

/* One version of a playlist: immutable text plus lazily built variants
 * (delta updates, gzip). Shared by reference counting. */
struct cs_pl {
    atomic_int refs;
    char *text;
    size_t len;
    struct cs_m3u8 m;
    int64_t wall_us;          /* when this version was seen */
    char etag[24];            /* "\"...\"", from the content */
    char *removed_dr;         /* date ranges removed lately, tab-separated */
    pthread_mutex_t mu;       /* guards var */
    struct { char *data; size_t len; int done; } var[3][2]; /* skip x gz */
};

struct cs_pl *cs_pl_ref(struct cs_pl *pl);
/* Drop a reference and clear *PL; NULL-safe. */
void cs_pl_unref(struct cs_pl **pl);

enum cs_wait_state {
    CS_WAIT_IDLE = 0,     /* not waiting */
    CS_WAIT_BLOCKED,      /* registered, connection suspended */
    CS_WAIT_WOKEN,        /* something changed: check again */
    CS_WAIT_EXPIRED,      /* deadline passed or shutting down */
};

/* ANY_FILE: woken by any file landing in the folder, not only playlists.
 * BOUNDED: a new request, refused (AVERROR(EAGAIN)) while the table holds
 * its most waiters; a response already under way waits regardless. */
enum { CS_WAIT_ANY_FILE = 1 << 0, CS_WAIT_BOUNDED = 1 << 1 };

struct cs_waiter {
    void *arg;            /* handed to the suspend and wake callbacks */
    const char *dir;      /* folder (relative to the root) watched, */
    size_t dirlen;        /* not NUL-terminated: owned by the caller */
    int flags;            /* CS_WAIT_* */
    int64_t deadline_us;  /* monotonic */
    enum cs_wait_state state;
    struct cs_waiter *prev, *next, *wnext;
};

struct cs_live;

/* SUSPEND(arg) is called under the table lock when a waiter is
 * registered; WAKE(arg) outside of it when the waiter is released. */
struct cs_live_cb {
    void (*suspend)(void *arg);
    void (*wake)(void *arg);
};

/* Open the table for ROOT (an absolute, resolved path) and start the
 * inotify thread. */
int cs_live_open(struct cs_live **out, const char *root,
                 const struct cs_live_cb *cb);
/* Release every waiter (as expired) and refuse new ones. */
void cs_live_shutdown(struct cs_live *live);
/* Stop the thread and free everything; clears *LIVE. NULL-safe. */
void cs_live_close(struct cs_live **live);

/* The current version of playlist REL ("s/720p/index.m3u8"), read from
 * disk when unknown or changed there. The caller owns a reference.
 * AVERROR(ENOENT) when there is no such file. */
int cs_live_get(struct cs_live *live, const char *rel, struct cs_pl **out);

/* The known version of REL when a stat shows the file it was read from
 * (a reference for the caller); AVERROR(ENOENT) when there is no such
 * file, AVERROR(EAGAIN) when it is unknown or changed (cs_live_get reads
 * it). Reads nothing but the stat: the version known was read from a
 * path checked below the root, and a path leading elsewhere now names
 * another file. */
int cs_live_fresh(struct cs_live *live, const char *rel, struct cs_pl **out);

/* A playlist arrived by ingest (already written to disk): replace the
 * in-memory version and wake its folder's waiters. */
int cs_live_put(struct cs_live *live, const char *rel, const char *text,
                size_t len);
/* A file was written or deleted by ingest in folder DIR. */
void cs_live_touch(struct cs_live *live, const char *rel_file);

/* Under the table lock: CHECK(ctx, live) > 0 means ready or final (its
 * value is returned), < 0 an error (returned); 0 registers W and
 * suspends (returns 0), or, for a CS_WAIT_BOUNDED waiter while MAX
 * waiters are held, returns AVERROR(EAGAIN). CHECK sees W->state CS_WAIT_EXPIRED after the
 * deadline or once the table is shut down, and must then not return 0. */
int cs_live_wait(struct cs_live *live, struct cs_waiter *w,
                 int (*check)(void *ctx, struct cs_live *live), void *ctx);
/* Remove W if it is still registered (its connection went away). */
void cs_live_cancel(struct cs_live *live, struct cs_waiter *w);

/* For CHECK functions (lock held): the known version of REL, borrowed. */
struct cs_pl *cs_live_peek(struct cs_live *live, const char *rel);
/* For CHECK functions (lock held): when a live playlist of folder DIR
 * names NAME in its preload hint (or NAME is the segment the hinted part
 * belongs to), its target duration (> 0), else 0. */
double cs_live_hinted(struct cs_live *live, const char *dir,
                      const char *name);

/* Requests waiting now. */
int cs_live_blocked(struct cs_live *live);
/* Waiters held at most before CS_WAIT_BOUNDED ones are refused (0: no
 * bound). Set before serving. */
void cs_live_set_max(struct cs_live *live, int max);

/* Call FN for every known playlist (lock held: FN must not call back). */
void cs_live_foreach(struct cs_live *live,
                     void (*fn)(void *ctx, const char *rel,
                                const struct cs_pl *pl), void *ctx);

#endif
