/* media/scale.h: convert any picture to one size and pixel format, keeping
 * its display aspect ratio and padding with black (letterbox/pillarbox), or
 * stretching. Re-initialises itself when the input geometry changes.
 */
#ifndef CS_MEDIA_SCALE_H
#define CS_MEDIA_SCALE_H

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

enum cs_scale_flags {
    CS_SCALE_PAD = 1 << 0,     /* keep aspect, pad (default is stretch); a
                                  picture whose aspect is the output's to
                                  within 1% (the rounding to even sizes:
                                  852x480 for 16:9) fills it */
    CS_SCALE_FAST = 1 << 1,    /* bilinear instead of bicubic */
};

struct cs_scaler;

struct cs_scaler *cs_scaler_alloc(int width, int height,
                                  enum AVPixelFormat fmt, unsigned flags);

/* Scale IN into a new frame *OUT (caller frees with av_frame_free); pts and
 * other properties are copied. */
int cs_scaler_run(struct cs_scaler *s, const AVFrame *in, AVFrame **out);

void cs_scaler_free(struct cs_scaler **s);

/* The largest WxH with IN's display aspect that fits in MAXW x MAXH, both
 * even (used to size ladder rungs and letterbox boxes). */
void cs_fit_size(int in_w, int in_h, AVRational sar, int maxw, int maxh,
                 int *w, int *h);

#endif
