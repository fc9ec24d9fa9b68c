/* ladder/ladder.h: decode one input once, scale it to every rung of an
 * adaptive-bitrate ladder, encode the rungs in parallel threads with
 * keyframes at the same timestamps, and mux them with the audio into one
 * MPEG-TS (Matroska when a rung is AV1).
 *
 * Every rung is labelled for cs-segment as ladder/variant.h describes.
 */
#ifndef CS_LADDER_LADDER_H
#define CS_LADDER_LADDER_H

#include <stdint.h>

#include <libavformat/avformat.h>

#include "ladder/spec.h"
#include "ladder/variant.h"
#include "media/encode.h"

struct cs_err;
struct cs_stats;

/* In the order of --scale-from's words ("source larger"): the option
 * table stores the index of the word given. */
enum cs_ladder_from {
    CS_LADDER_FROM_SOURCE,  /* every rung scaled from the decoded source */
    CS_LADDER_FROM_LARGER,  /* each rung scaled from the next larger one */
};

struct cs_ladder_config {
    const char *input;          /* URL, file or "-" */
    const char *input_format;   /* NULL: probe */
    const char *output;         /* file, URL or "-" */
    struct cs_rung rungs[CS_LADDER_MAX_RUNGS]; /* parsed, defaults applied */
    int nb_rungs;
    int upscale;
    enum cs_ladder_from scale_from;
    enum cs_acodec acodec;      /* when the audio must be encoded */
    int64_t abitrate;           /* 0: the encoder's default */
    int queue;                  /* frames per rung queue */
    int low_delay;              /* live input: small probe, no buffering */
    const char *slate;          /* NULL, "color:COLOUR" or an image file:
                                 * shown while no picture comes */
    const char *slate_text;     /* a line on the slate; NULL: none */
    double slate_after;         /* seconds without a picture: the slate */
    struct cs_stats *stats;     /* may be NULL; closed by the run */
};

/* With a slate, the ladder stays on air: when no picture has come for
 * slate_after seconds (a live input gone quiet, not ended), the slate and
 * silence go out at every rung's size, rate and keyframe cadence, in step
 * with the clock, until the input's next keyframe; the timestamps go on
 * without a gap (the audio is then always encoded).
 *
 * Run the ladder until the input ends or a stop is requested (then the
 * encoders drain and the output is completed: 0). Errors: CS_EUSAGE for
 * settings that cannot work (no rung fits, an encoder refuses), CS_EDATA
 * for input that is not decodable video, other negative codes for I/O;
 * the first failure, of whichever thread, is described in ERR
 * (caller-owned, may be NULL). */
int cs_ladder_run(const struct cs_ladder_config *cfg, struct cs_err *err);

#endif
