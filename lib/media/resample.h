/* media/resample.h: convert audio to one rate, layout and sample format,
 * and hand it out in frames of an exact size (what an encoder wants).
 * Re-initialises itself when the input format changes.
 */
#ifndef CS_MEDIA_RESAMPLE_H
#define CS_MEDIA_RESAMPLE_H

#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/samplefmt.h>

struct cs_resampler;

struct cs_resampler *cs_resampler_alloc(int rate,
                                        const AVChannelLayout *layout,
                                        enum AVSampleFormat fmt);

/* Convert IN and queue the result (IN NULL: flush the converter). */
int cs_resampler_send(struct cs_resampler *r, const AVFrame *in);

/* Queue NB samples of silence. */
int cs_resampler_silence(struct cs_resampler *r, int nb);

/* Drop up to NB queued samples. */
void cs_resampler_drop(struct cs_resampler *r, int nb);

/* Samples queued. */
int cs_resampler_queued(const struct cs_resampler *r);

/* Take exactly NB samples into a new frame *OUT (caller frees); returns
 * AVERROR(EAGAIN) when fewer are queued. */
int cs_resampler_read(struct cs_resampler *r, int nb, AVFrame **out);

void cs_resampler_free(struct cs_resampler **r);

#endif
