/* encode/engine.h: cs-encode's engine: a raw (or any) A/V input,
 * normalised on one timeline (decode/timeline.h), encoded with one video
 * and one audio encoder, muxed into MPEG-TS or Matroska.
 */
#ifndef CS_ENCODE_ENGINE_H
#define CS_ENCODE_ENGINE_H

#include "encode/hw.h"
#include "err.h"
#include "media/encode.h"
#include "stats.h"

/* What a run did that its caller must tell the user (set by the run). */
struct cs_encode_result {
    int64_t frames;                  /* video frames encoded */
    int64_t dropped;                 /* input pictures left out, and */
    int64_t duplicated;              /* frames repeated, to keep the rate */
    int fps_assumed;                 /* no rate declared: 25 fps used */
    int truncated;                   /* the input ended inside a frame (the
                                        whole frames before it are encoded,
                                        the output is complete) */
    int hw_fallback;                 /* hwaccel auto found no hardware
                                        encoder that opens: software used */
    const char *encoder;             /* the video encoder's name */
};

/* --capture-time: whether frames carry their capture time (captime.h). */
enum cs_captime_mode {
    CS_CAPTIME_AUTO,                 /* the input's; the wall clock as each
                                        frame arrives unless the input is a
                                        regular file */
    CS_CAPTIME_ON,                   /* the input's, else the wall clock */
    CS_CAPTIME_OFF,                  /* none, not even the input's */
};

struct cs_encode_cfg {
    const char *input;               /* "-" or a file/URL */
    const char *output;              /* "-" or a file */
    const char *format;              /* "mpegts", "matroska", NULL: by codec */
    struct cs_venc_settings video;   /* width/height/fps 0: the input's */
    enum cs_hw hw;                   /* a hardware encoder of video.codec */
    int hwaccel;                     /* 0: none; 1: auto (the first
                                        hardware encoder that opens, else
                                        software; ignored with hw) */
    struct cs_aenc_settings audio;
    int captime;                     /* enum cs_captime_mode */
    struct cs_stats *stats;          /* may be NULL; closed by the run */
    struct cs_encode_result result;
};

/* Encode the input to its end or to a stop request. Size, frame rate and
 * sample rate are the input's where CFG leaves them 0. A failure is
 * described in ERR (caller-owned, may be NULL); cfg->result is set either
 * way. */
int cs_encode_run(struct cs_encode_cfg *cfg, struct cs_err *err);

#endif
