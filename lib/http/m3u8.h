/* http/m3u8.h: what cs-serve needs to know about a media playlist: the
 * live edge (last whole segment, parts of the one in progress), the
 * LL-HLS server controls, where each segment's lines are (for delta
 * updates), and the part named by the preload hint.
 */
#ifndef CS_HTTP_M3U8_H
#define CS_HTTP_M3U8_H

#include <stddef.h>
#include <stdint.h>

struct cs_m3u8_seg {
    size_t off, end;      /* byte range of its tags and URI line */
    double dur;           /* EXTINF */
    int64_t msn;
    int nparts;           /* EXT-X-PART lines listed for it */
};

struct cs_m3u8 {
    int is_media;         /* has EXT-X-TARGETDURATION */
    int endlist;
    int can_block;        /* CAN-BLOCK-RELOAD=YES */
    int can_skip_dr;      /* CAN-SKIP-DATERANGES=YES */
    double target;        /* EXT-X-TARGETDURATION, s */
    double part_target;   /* EXT-X-PART-INF PART-TARGET, s (0: none) */
    double skip_until;    /* CAN-SKIP-UNTIL, s (0: no delta updates) */
    int64_t first_msn;    /* EXT-X-MEDIA-SEQUENCE */
    int64_t last_msn;     /* last whole segment (first_msn - 1 if none) */
    int tail_parts;       /* parts of segment last_msn + 1 so far */
    int64_t last_part_msn;/* segment of the newest part (-1: no parts) */
    int last_part;        /* index of the newest part within it */
    size_t header_end;    /* end of the playlist-level tags */
    struct cs_m3u8_seg *segs; /* whole segments, oldest first */
    int nsegs;
    char hint[256];       /* URI of EXT-X-PRELOAD-HINT TYPE=PART, or "" */
};

/* Parse TEXT (LEN bytes). Returns 0, CS_EDATA when it is not a playlist
 * (no #EXTM3U), or AVERROR(ENOMEM). Free with cs_m3u8_free. */
int cs_m3u8_parse(struct cs_m3u8 *m, const char *text, size_t len);
void cs_m3u8_free(struct cs_m3u8 *m);

/* Number of parts segment MSN has in the playlist: -1 when it is not
 * listed with parts (an old segment, or not there yet). */
int cs_m3u8_nparts(const struct cs_m3u8 *m, int64_t msn);

enum cs_skip { CS_SKIP_NO = 0, CS_SKIP_YES = 1, CS_SKIP_V2 = 2 };

/* Build the Playlist Delta Update of TEXT (parsed as M) for the skip
 * request MODE: the segments older than the skip boundary replaced by
 * EXT-X-SKIP; with CS_SKIP_V2 (and CAN-SKIP-DATERANGES=YES) their
 * EXT-X-DATERANGE tags go too, and REMOVED_DR (tab-separated IDs of date
 * ranges recently removed from the playlist, may be NULL) is listed.
 * *OUT is malloc'ed (caller frees), or NULL with *OUT_LEN 0 when nothing
 * can be skipped (serve the full playlist). Returns 0 or
 * AVERROR(ENOMEM). */
int cs_m3u8_delta(const struct cs_m3u8 *m, const char *text, size_t len,
                  enum cs_skip mode, const char *removed_dr, char **out,
                  size_t *out_len);

/* Call FN with the ID of every EXT-X-DATERANGE tag of TEXT. */
void cs_m3u8_daterange_ids(const char *text, size_t len,
                           void (*fn)(void *ctx, const char *id), void *ctx);

#endif
