/* decode/engine.h: cs-decode's engine: inputs -> one normalised raw
 * stream (decode/timeline.h) -> NUT or y4m (decode/rawout.h).
 */
#ifndef CS_DECODE_ENGINE_H
#define CS_DECODE_ENGINE_H

#include <libavutil/pixfmt.h>
#include <libavutil/rational.h>
#include <stdint.h>

#include "err.h"
#include "stats.h"

struct cs_decode_cfg {
    const char *const *inputs;  /* files or URLs ("-": stdin) */
    int nb_inputs;
    const char *playlist;       /* one input a line ("-": stdin), or NULL */
    const char *devices[2];     /* capture devices (decode/device.h): */
    int nb_devices;             /* one video and one audio at most */
    const char *output;         /* "-" or a file */
    int width, height;          /* 0: the first input's size */
    AVRational fps;             /* {0, 0}: the first input's rate */
    enum AVPixelFormat pix_fmt;
    int y4m, realtime, stamp;
    int loop;                   /* play the list this many times; 0: forever */
    double duration;            /* stop after this much output (s); 0: no */
    struct cs_stats *stats;     /* may be NULL; closed by the run */
};

/* What a run did that its caller must tell the user. */
struct cs_decode_result {
    AVRational fps;             /* the output's frame rate */
    int64_t dropped;            /* input pictures left out, and */
    int64_t duplicated;         /* frames repeated, to keep the rate */
    int truncated;              /* inputs that ended inside a frame */
};

/* Run to the end of the inputs or a stop request. Broken play-list items
 * are skipped with a warning; a broken input named on the command line
 * ends the run with its error, which ERR (caller-owned, may be NULL) says
 * in one line naming it. RES (may be NULL) is filled in at the end. */
int cs_decode_run(const struct cs_decode_cfg *cfg,
                  struct cs_decode_result *res, struct cs_err *err);

/* --latency: read the stamp of every frame of INPUT and print one JSON line
 * a frame to standard output (now minus stamp), then a summary line
 * (min/median/p95/max). Returns CS_EDATA when no frame carried a stamp.
 * A failure is described in ERR (caller-owned, may be NULL). */
int cs_latency_run(const char *input, struct cs_stats *stats,
                   struct cs_err *err);

#endif
