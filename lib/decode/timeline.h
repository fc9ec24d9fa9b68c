/* decode/timeline.h: one continuous, constant-rate stream out of a sequence
 * of inputs of any size, rate and layout.
 *
 * Video is letterboxed to one size and pixel format and made constant-rate
 * (frames repeated or dropped by timestamp); audio is resampled to one
 * rate, stereo s16, and kept in step with the video: at the end of every
 * input both stop at the same frame boundary (silence or black fills
 * whichever is shorter), so inputs follow each other with no gap and no
 * drift. Output
 * timestamps start at 0: video in frames (time base 1/fps), audio in
 * samples (1/rate).
 */
#ifndef CS_DECODE_TIMELINE_H
#define CS_DECODE_TIMELINE_H

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "media/input.h"

/* The raw stage's sample rate (cs-decode's output). */
#define CS_TIMELINE_RATE 48000

struct cs_timeline_sink {
    /* Called for each output frame, in order; the frame is only lent (take
     * a reference to keep it). */
    int (*video)(void *opaque, const AVFrame *frame);
    int (*audio)(void *opaque, const AVFrame *frame);
    void *opaque;
};

struct cs_timeline;

/* Output frames of WIDTH x HEIGHT in FMT at FPS, and audio at RATE Hz. */
int cs_timeline_alloc(struct cs_timeline **out, int width, int height,
                      enum AVPixelFormat fmt, AVRational fps, int rate,
                      const struct cs_timeline_sink *sink);

/* Start the segment of input IN (its streams tell the time origin). */
int cs_timeline_begin(struct cs_timeline *t, const struct cs_input *in);

/* The same for streams of several inputs on one clock (capture devices):
 * VST and AST (either may be NULL) tell the time bases, START (AV_TIME_BASE
 * units, or AV_NOPTS_VALUE: the first frame's) the time origin. */
int cs_timeline_begin_streams(struct cs_timeline *t, const AVStream *vst,
                              const AVStream *ast, int64_t start);

/* A decoded frame of the current input. */
int cs_timeline_video(struct cs_timeline *t, const AVFrame *frame);
int cs_timeline_audio(struct cs_timeline *t, const AVFrame *frame);

/* End the current input's segment: pad the shorter of audio and video. */
int cs_timeline_end(struct cs_timeline *t);

/* End the output at FRAMES frames at most (0: no limit): an input ended
 * early is not padded past it. */
void cs_timeline_set_limit(struct cs_timeline *t, int64_t frames);

/* Video frames and audio samples written so far. */
int64_t cs_timeline_frames(const struct cs_timeline *t);
int64_t cs_timeline_samples(const struct cs_timeline *t);

/* Input pictures never written (a newer one took their slot), and written
 * frames that repeat a picture already written or fill a gap with black:
 * what keeping the rate constant cost. Both are 0 when the input's rate
 * is the timeline's and its timestamps are regular. */
int64_t cs_timeline_dropped(const struct cs_timeline *t);
int64_t cs_timeline_duplicated(const struct cs_timeline *t);

void cs_timeline_free(struct cs_timeline **t);

#endif
