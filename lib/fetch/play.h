/* play.h: the shuffled, looping play list of a store's videos.
 *
 * A shuffle bag: each round plays every video of the store once, in a new
 * random order, and no video plays twice in a row across rounds. Each round
 * lists the store again, so new videos join at the next round. A line is
 * the video's local path (a folder store's file, or a copy downloaded into
 * the cache) or a presigned URL, for `cs-decode --playlist -`.
 *
 * From an S3 store the next video (at the end of a round, the first of the
 * next round, listed and shuffled then) is downloaded by a second thread
 * while the current one plays, into a cache kept under a size bound (the videos
 * playing and about to play are never evicted). Lines are paced by the
 * videos' durations so that the cache never loses a file before the player
 * opened it. A video that cannot be fetched is skipped with a warning.
 *
 * A line is one video: a key holding a control character (a newline would
 * make two lines, the second naming any file) is refused at each listing,
 * told to c->refuse and counted.
 */
#ifndef CS_FETCH_PLAY_H
#define CS_FETCH_PLAY_H

#include <stdint.h>
#include <stdio.h>

#include "stats.h"
#include "store/store.h"

struct cs_err;

struct cs_play_cfg {
    uint64_t seed;
    int seeded;             /* 0: a random seed */
    int loop;               /* rounds forever */
    int presign;            /* URLs instead of downloads (S3 only) */
    int expires;            /* presigned URL lifetime, seconds */
    const char *cache_dir;
    int64_t cache_size;     /* bytes */
    int ahead;              /* lines printed before the previous ends; 0:
                               no pacing */
    struct cs_stats *stats; /* --stats (may be NULL): lines, skipped,
                               refused, rounds, about once a second */
    /* told of each listed video whose key cannot be written as one line
     * (cs_key_is_line), which is left out of the list; may be NULL */
    void (*refuse)(void *opaque, const char *key);
    void *opaque;
    /* counters, for the caller's final statistics */
    int64_t lines;
    int64_t skipped;        /* could not be fetched */
    int64_t refused;        /* keys left out, counted at each listing */
    int64_t rounds;
};

/* Defaults: one round, random seed, cache ./.cs-fetch-cache of 2 GiB,
 * URLs valid a day, one line ahead. */
void cs_play_cfg_init(struct cs_play_cfg *c);

/* Print the play list of ST to OUT, one line per video, until the round
 * (or, with loop, a stop request or a closed OUT) ends. A reader that
 * closes OUT ends the list normally. AVERROR(ENOENT) when the store holds
 * no video; CS_ENET when a whole round failed to download; ERR says
 * which. */
int cs_play(struct cs_store *st, struct cs_play_cfg *c, FILE *out,
            struct cs_err *err);

/* Shuffle N pointers in place with the xorshift state *rng (Fisher-Yates),
 * then, when AVOID is the first and N > 1, swap it away from the front. */
void cs_play_shuffle(const char **v, size_t n, uint64_t *rng,
                     const char *avoid);

/* Seconds of media in the local file PATH (absolute); 0 when unknown or
 * PATH is a URL. */
double cs_play_duration(const char *path);

#endif
