/* ladder/spec.h: the rungs of an adaptive-bitrate ladder, parsed from
 * "--rungs" and sized for a source.
 *
 * Syntax: rungs separated by ',', each "SIZE:RATE[@FPS][:KEY=VALUE]...":
 *   SIZE   "720p" (a height; the width follows the source aspect) or
 *          "1280x720" (a box the picture is fitted into)
 *   RATE   the target bit rate ("3M", "800k")
 *   FPS    a frame-rate cap ("30", "30000/1001"); the source rate if lower
 *   KEY    codec=h264|hevc|av1, preset=NAME, rc=cbr|vbr|crf, gop=SECONDS,
 *          crf=N, name=NAME (default: SIZE as written)
 * Example: "1080p:6M,720p:3M,480p:1500k,360p:800k@30:preset=faster".
 */
#ifndef CS_LADDER_SPEC_H
#define CS_LADDER_SPEC_H

#include <libavutil/rational.h>

#include "media/encode.h"

#define CS_LADDER_MAX_RUNGS 8
#define CS_LADDER_DEFAULT_RUNGS "1080p:6M,720p:3M,480p:1500k,360p:800k"

/* What a rung set itself (the global options fill in the rest). */
enum cs_rung_set {
    CS_RUNG_CODEC = 1 << 0,
    CS_RUNG_PRESET = 1 << 1,
    CS_RUNG_RC = 1 << 2,
    CS_RUNG_GOP = 1 << 3,
    CS_RUNG_CRF = 1 << 4,
};

struct cs_rung {
    char name[32];
    int box_w, box_h;           /* requested: box_w 0 for "720p" */
    AVRational fps_cap;         /* {0, 1}: no cap */
    unsigned set;               /* enum cs_rung_set */
    char preset[32];
    /* Encoder settings: bitrate and the per-rung keys from parsing; size
     * and fps from cs_rungs_fit(); preset points into the rung. */
    struct cs_venc_settings enc;
};

struct cs_err;

/* Parse SPEC into R (room for CS_LADDER_MAX_RUNGS) and set *N. On a bad
 * rung, fills ERR ("invalid rung 'X' in --rungs: expected why", a usage
 * error) and returns CS_EUSAGE. */
int cs_rungs_parse(const char *spec, struct cs_rung *r, int *n,
                   struct cs_err *err);

/* Set the encoder setting KEY ("codec", "rc", "gop" or "crf": a rung's keys
 * and the global options of the same names) of S from VAL. Returns 0, or
 * CS_EUSAGE with *EXPECTED saying what VAL should be (nothing printed). */
int cs_rungs_setting(struct cs_venc_settings *s, const char *key,
                     const char *val, const char **expected);

/* Give every rung the settings of G (global options) it did not set
 * itself; bitrate, size and fps stay the rung's. */
void cs_rungs_defaults(struct cs_rung *r, int n,
                       const struct cs_venc_settings *g);

/* Size the rungs for a SRC_W x SRC_H source with sample aspect SAR at
 * SRC_FPS: even dimensions with the source's display aspect, the frame
 * rate capped. Rungs larger than the source are left out with a note
 * unless UPSCALE. The rungs are sorted largest first. Returns CS_EUSAGE
 * when no rung is left, with ERR (may be NULL) saying so. */
int cs_rungs_fit(struct cs_rung *r, int *n, int src_w, int src_h,
                 AVRational sar, AVRational src_fps, int upscale,
                 struct cs_err *err);

#endif
