/* ladder/ladder.h: decode one input once, scale it to every rung of an
 * adaptive-bitrate ladder, encode the rungs in parallel threads with
 * keyframes at the same timestamps, and mux them with the audio into one
 * MPEG-TS (Matroska when a rung is AV1).
 *
 * The variant contract (what cs-segment reads). Every rung's video stream
 * is labelled twice, so the label survives any container:
 *   - stream metadata (kept by Matroska and NUT):
 *       variant_name     "720p" (the rung's name)
 *       variant_bitrate  target bits per second, "3000000"
 *       variant_width    "1280"
 *       variant_height   "720"
 *       variant_fps      frame rate as a fraction, "30/1"
 *   - an MPEG-TS program (service) per rung, holding that video stream and
 *     the audio, whose SDT service_name is the variant name and whose
 *     service_provider is "cs-ladder" followed by the same keys as
 *     " key=value" pairs (MPEG-TS keeps no per-stream metadata; libavformat
 *     reads both SDT strings back into AVProgram metadata).
 * cs_ladder_variant_get() reads either form back.
 */
#ifndef CS_LADDER_LADDER_H
#define CS_LADDER_LADDER_H

#include <stdint.h>

#include <libavformat/avformat.h>

#include "ladder/spec.h"
#include "media/encode.h"

struct cs_err;
struct cs_stats;

#define CS_LADDER_KEY_NAME "variant_name"
#define CS_LADDER_KEY_BITRATE "variant_bitrate"
#define CS_LADDER_KEY_WIDTH "variant_width"
#define CS_LADDER_KEY_HEIGHT "variant_height"
#define CS_LADDER_KEY_FPS "variant_fps"
#define CS_LADDER_PROVIDER "cs-ladder"

struct cs_ladder_variant {
    char name[32];
    int64_t bitrate;        /* bits/s; 0 when unknown */
    int width, height;
    AVRational fps;         /* {0, 1} when unknown */
};

/* Label stream STREAM of FMT (before the header is written) with V, as
 * stream metadata and as an MPEG-TS program of its own. */
int cs_ladder_variant_set(AVFormatContext *fmt, int stream,
                          const struct cs_ladder_variant *v);

/* Add stream STREAM (the shared audio) to every variant program. */
int cs_ladder_variant_share(AVFormatContext *fmt, int stream);

/* Read the label of video stream STREAM of an input FMT into V. Returns 0,
 * or AVERROR(ENOENT) when the stream carries none. */
int cs_ladder_variant_get(const AVFormatContext *fmt, int stream,
                          struct cs_ladder_variant *v);

enum cs_ladder_from {
    CS_LADDER_FROM_LARGER,  /* each rung scaled from the next larger one */
    CS_LADDER_FROM_SOURCE,  /* every rung scaled from the decoded source */
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
    struct cs_stats *stats;     /* may be NULL; closed by the run */
};

/* Run the ladder until the input ends or a stop is requested (then the
 * encoders drain and the output is completed: 0). Errors: CS_EUSAGE for
 * settings that cannot work (no rung fits, an encoder refuses), CS_EDATA
 * for input that is not decodable video, other negative codes for I/O;
 * the first failure, of whichever thread, is described in ERR
 * (caller-owned, may be NULL). */
int cs_ladder_run(const struct cs_ladder_config *cfg, struct cs_err *err);

#endif
