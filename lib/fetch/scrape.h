/* scrape.h: fill a store from a video channel with yt-dlp.
 *
 * yt-dlp (run as a subprocess; its JSON read with cJSON) lists the
 * channel's videos and downloads each new one at up to 1080p as mp4; the
 * file is uploaded as videos/ID.mp4 and recorded in the store's index.json
 * ({"videos": [{"id", "title", "upload_date", "duration", "key"}]}), which
 * is rewritten after each video: a run killed midway resumes where it
 * stopped, and ids already in the index are skipped.
 */
#ifndef CS_FETCH_SCRAPE_H
#define CS_FETCH_SCRAPE_H

#include <stdint.h>

#include "store/store.h"

struct cs_err;

struct cs_scrape_cfg {
    const char *url;        /* the channel, playlist, page or video */
    const char *store;      /* for messages */
    const char *ytdlp;      /* the program, "yt-dlp" */
    int limit;              /* new videos at most; 0: all */
    char since[9];          /* YYYYMMDD; "": no bound */
    int64_t rate;           /* bytes/s for yt-dlp --limit-rate; 0: none */
};

void cs_scrape_cfg_init(struct cs_scrape_cfg *c);

/* "2024-01-31" or "20240131" into out[9] "20240131"; CS_EUSAGE if not. */
int cs_scrape_parse_date(const char *s, char out[9]);

/* Add the new videos of c->url to ST. Returns the number added, or a
 * negative code (CS_ENET when yt-dlp could not list the channel, CS_ESTOP
 * after a stop request, with the index consistent) that ERR explains. A
 * video of a channel that cannot be added is a warning. */
int cs_scrape(struct cs_store *st, const struct cs_scrape_cfg *c,
              struct cs_err *err);

#endif
