/* decode/rawout.h: the raw stage's writer: NUT holding rawvideo and
 * pcm_s16le 48 kHz stereo, or YUV4MPEG2 (video only), with optional
 * real-time pacing and the --stamp pattern drawn as each frame leaves.
 */
#ifndef CS_DECODE_RAWOUT_H
#define CS_DECODE_RAWOUT_H

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

enum cs_rawout_flags {
    CS_RAWOUT_Y4M = 1 << 0,      /* YUV4MPEG2, video only */
    CS_RAWOUT_REALTIME = 1 << 1, /* pace at wall-clock speed */
    CS_RAWOUT_STAMP = 1 << 2,    /* draw the wall clock (media/stamp.h) */
};

struct cs_rawout;

/* PATH: "-" or a file (written whole: temporary name, then rename). */
int cs_rawout_open(struct cs_rawout **out, const char *path, int width,
                   int height, enum AVPixelFormat fmt, AVRational fps,
                   unsigned flags);

/* A frame with pts in frames (1/fps) / samples (1/48000). */
int cs_rawout_video(struct cs_rawout *w, const AVFrame *frame);
int cs_rawout_audio(struct cs_rawout *w, const AVFrame *frame);

/* Finish (COMMIT) or abandon the output, and free it. */
int cs_rawout_close(struct cs_rawout **w, int commit);

#endif
