/* http/live_internal.h: the live table's insides, shared by live.c (the
 * table and its waiters) and watch.c (inotify and deadlines). */
#ifndef CS_HTTP_LIVE_INTERNAL_H
#define CS_HTTP_LIVE_INTERNAL_H

#include <limits.h>
#include <sys/stat.h>

#include "http/live.h"

#define MAX_PLAYLIST (8 << 20)

#define MAX_REMOVED_DR 64

/* A date range that left the playlist, for RECENTLY-REMOVED-DATERANGES. */
struct removed_dr {
    char id[256];
    int64_t when_us;
};

struct entry {
    char *rel;
    char *dir;
    struct cs_pl *pl;
    struct removed_dr *removed;   /* MAX_REMOVED_DR, or NULL */
    int nremoved;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    struct entry *next;
};

struct watch {
    int wd;
    char *dir;   /* relative, "" for the root */
};

struct cs_live {
    char root[PATH_MAX];
    struct cs_live_cb cb;
    pthread_mutex_t mu;
    struct entry *entries;
    struct cs_waiter *waiters;
    int nwaiters;
    int max_waiters;          /* 0: unbounded */
    int shut;
    int ifd, efd;
    int64_t due_us;           /* the live thread's next look at deadlines:
                               * no waiter's is earlier */
    int root_fd;              /* O_PATH: playlists are opened beneath it */
    struct watch *watches;
    int nwatches, capwatches;
    pthread_t thread;
    int started;
    atomic_int stop;
};

/* Lock held unless noted. */
void live_free_entry(struct entry *e);
void live_drop(struct cs_live *live, const char *rel);
/* Unlist W, set it to ST and, unless CHAIN is NULL, push it on *CHAIN
 * (linked by wnext). */
void live_detach(struct cs_live *live, struct cs_waiter *w,
                 enum cs_wait_state st, struct cs_waiter **chain);
/* Detach the waiters of DIR (all when NULL; only CS_WAIT_ANY_FILE ones
 * when ANY_FILE_ONLY), set to ST, chained by wnext. */
struct cs_waiter *live_take(struct cs_live *live, const char *dir,
                            int any_file_only, enum cs_wait_state st);
/* Lock not held: hand the chain to the wake callback. */
void live_wake(struct cs_live *live, struct cs_waiter *w);
/* Lock not held: read REL from disk and install it. */
int live_load(struct cs_live *live, const char *rel);

#endif
