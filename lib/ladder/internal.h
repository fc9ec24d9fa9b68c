/* ladder/internal.h: what the files of the ladder share (not public). */
#ifndef CS_LADDER_INTERNAL_H
#define CS_LADDER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libavcodec/avcodec.h>

#include "err.h"
#include "ladder/ladder.h"
#include "ladder/queue.h"
#include "media/mux.h"
#include "media/resample.h"
#include "media/scale.h"

/* The muxer, shared by the rung threads and the audio (under lock), and
 * the first failure of any of them. */
struct cs_ladder_out {
    pthread_mutex_t lock;
    struct cs_mux *mux;
    const char *name;       /* the output as the user named it */
    int write_err;          /* the first write error (under lock) */
    struct cs_err err;      /* the first failure (under lock) */
};

/* Write PKT (time base TB) to stream INDEX under the lock; consumes PKT.
 * The first write error is kept in o->write_err and told in o->err. */
int cs_ladder_out_write(struct cs_ladder_out *o, int index, AVPacket *pkt,
                        AVRational tb);

/* The first write error, or 0. */
int cs_ladder_out_error(struct cs_ladder_out *o);

/* Record a thread's failure CODE as "WHAT: <description of CODE>" in
 * o->err under the lock, unless a failure is already recorded there (the
 * first one wins). Returns CODE. */
int cs_ladder_out_fail(struct cs_ladder_out *o, int code, const char *what);

/* More than the pictures any encoder holds (x264's largest look-ahead and
 * frame threads). */
#define CS_LADDER_DELAY_RING 256

/* One decoded picture on its way down the ladder. N and KEY are decided
 * once, on the common timeline, for every rung. */
struct cs_ladder_item {
    AVFrame *frame;
    uint32_t need;                  /* rungs that encode this picture */
    uint32_t key;                   /* rungs for which it is a keyframe */
    int64_t n[CS_LADDER_MAX_RUNGS]; /* frame number at each rung's rate */
    int64_t t0_us;                  /* time of frame number 0 */
    int64_t wall_us;                /* when it was decoded (cs_now_us) */
};

void cs_ladder_item_free(void *item);

/* Queue a copy of IT holding a new reference to FRAME (blocks while Q is
 * full; on failure nothing is queued). */
int cs_ladder_item_push(struct cs_queue *q, const struct cs_ladder_item *it,
                        const AVFrame *frame);

/* A rung: its input queue, scaler, encoder and thread. */
struct cs_ladder_rung {
    int index;
    const struct cs_rung *rung;
    AVCodecContext *enc;
    enum AVPixelFormat sw_fmt;  /* the pictures scaled for the encoder */
    struct cs_scaler *scaler;   /* fills, or letterboxes another aspect */
    struct cs_queue *in;
    struct cs_queue *next;  /* the next smaller rung (scaled from this) */
    struct cs_ladder_out *out;
    int stream;
    pthread_t thread;
    int running;
    int err;
    int err_own;            /* the failure began here */
    int drained;            /* the encoder was flushed */
    atomic_llong frames, bytes, media_us;
    /* From a picture's decoding to its packet's writing: the last and the
     * largest. Pictures are found by frame number in a ring. */
    atomic_llong delay_us, delay_max_us;
    int64_t decoded_us[CS_LADDER_DELAY_RING];
};

/* ladder/worker.c: a rung's worker thread (scale, encode, write). A
 * failure that begins in the thread is recorded in r->out (the first one
 * wins); cs_ladder_worker_open fills ERR. */
int cs_ladder_worker_open(struct cs_ladder_rung *r, int index,
                          const struct cs_rung *rung, int queue,
                          struct cs_err *err);
int cs_ladder_worker_start(struct cs_ladder_rung *r);
/* Wait for the thread; returns its error (0 when it drained cleanly). */
int cs_ladder_worker_join(struct cs_ladder_rung *r);
void cs_ladder_worker_close(struct cs_ladder_rung *r);

/* The audio path: passthrough for AAC/Opus, else one encode. */
struct cs_ladder_audio {
    int idx;                    /* input stream, -1: no audio */
    int stream;                 /* output stream */
    AVRational in_tb;
    AVCodecContext *par;        /* passthrough parameters */
    AVCodecContext *check;      /* passthrough: decodes to drop bad frames */
    AVFrame *scratch;
    int64_t dropped;            /* passthrough packets that did not decode */
    AVCodecContext *dec, *enc;
    struct cs_resampler *rs;
    int64_t next_pts;           /* encoded: samples at 48 kHz */
    int started;
    int encode;                 /* encode even AAC and Opus (--slate) */
    struct cs_ladder_out *out;
};

int cs_ladder_audio_open(struct cs_ladder_audio *a, const AVStream *st,
                         enum cs_acodec codec, int64_t bitrate,
                         int global_header, struct cs_err *err);
/* The context to create the output stream from. */
const AVCodecContext *cs_ladder_audio_params(const struct cs_ladder_audio *a);
int cs_ladder_audio_packet(struct cs_ladder_audio *a, const AVPacket *pkt);
int cs_ladder_audio_flush(struct cs_ladder_audio *a);
/* Encoded audio only: silence from where the audio is up to UNTIL_US (the
 * input's timeline), once some audio has come. */
int cs_ladder_audio_silence(struct cs_ladder_audio *a, int64_t until_us);
void cs_ladder_audio_close(struct cs_ladder_audio *a);

/* ladder/slate.c: the slate picture (yuv420p): SPEC is "color:COLOUR"
 * (any colour av_parse_color knows, "0x202020", "navy"), WIDTH x HEIGHT,
 * or an image file (its first picture, its own size); TEXT (NULL or empty:
 * none) is drawn in its middle. *OUT is the caller's. A SPEC that names
 * no colour or no readable picture is a usage error, described in ERR. */
int cs_ladder_slate_make(AVFrame **out, const char *spec, const char *text,
                         int width, int height, struct cs_err *err);

/* ladder/air.c: where the slate pictures go (the ladder's timeline). */
struct cs_ladder_air_sink {
    void *opaque;
    /* Put picture F on the timeline at T_US. */
    int (*picture)(void *opaque, const AVFrame *f, int64_t t_us);
    /* Silence in the audio up to T_US. */
    int (*silence)(void *opaque, int64_t t_us);
};

/* Always on air: a thread that puts the slate on the timeline, in step
 * with the clock, once no picture has come for AFTER_US, until the input's
 * next keyframe. The caller fills the fields above the line, then starts
 * it; everything below is under LOCK. */
struct cs_ladder_air {
    AVFrame *slate;             /* owned: freed by cs_ladder_air_free */
    struct cs_ladder_air_sink sink;
    int64_t after_us;           /* no picture for this long: the slate */
    int64_t frame_us;           /* the slate's picture interval */
    /* ---- */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int sync, running, stop;
    int err;                    /* the thread's failure: it stopped */
    int on_slate;
    int seen;                   /* a picture went out */
    int64_t last_wall_us;       /* when the last input picture went out */
    int64_t last_t_us;          /* and its time on the timeline */
    int64_t next_t_us;          /* the slate's next picture */
    int64_t offset_us;          /* input time to timeline time */
    int64_t slate_frames;       /* slate pictures put out */
    int slates;                 /* times the slate went on air */
};

int cs_ladder_air_start(struct cs_ladder_air *a);
void cs_ladder_air_lock(struct cs_ladder_air *a);
void cs_ladder_air_unlock(struct cs_ladder_air *a);
/* Under the lock: an input picture at IN_US (KEY: a keyframe). Returns 1
 * with *T_US its time on the timeline; 0 to drop it (the slate is on air
 * and it is no keyframe: the first one takes over); or the thread's
 * failure. */
int cs_ladder_air_picture(struct cs_ladder_air *a, int64_t in_us, int key,
                          int64_t *t_us);
/* Under the lock: 1 with *OFFSET_US to add to input audio times, 0 to
 * drop the audio (the slate is on air: its silence is), or the thread's
 * failure. */
int cs_ladder_air_audio(struct cs_ladder_air *a, int64_t *offset_us);
/* Stop the thread; returns its failure or 0. */
int cs_ladder_air_stop(struct cs_ladder_air *a);
/* Stop and release; NULL-safe fields, the struct stays the caller's. */
void cs_ladder_air_free(struct cs_ladder_air *a);

#endif
