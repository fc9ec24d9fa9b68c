#include "decode/rawout.h"

#include <errno.h>

#include "clock.h"
#include "err.h"
#include "media/encode.h"
#include "media/mux.h"
#include "media/stamp.h"
#include "sig.h"

/* Behind by more than this, pacing starts again from now, not in a burst. */
#define MAX_LAG_US 500000

struct cs_rawout {
    struct cs_mux *mux;
    AVCodecContext *venc, *aenc;
    int vidx, aidx;
    unsigned flags;
    AVRational fps;
    int64_t base_us;   /* wall time of frame base_pts */
    int64_t base_pts;
};

/* The video side of the raw stage (the audio is media/encode's pcm). */
static int open_raw_video(AVCodecContext **out, enum AVCodecID id, int w,
                          int h, enum AVPixelFormat fmt, AVRational fps)
{
    const AVCodec *codec = avcodec_find_encoder(id);
    AVCodecContext *c;
    int ret;

    if (!codec)
        return AVERROR_ENCODER_NOT_FOUND;
    c = avcodec_alloc_context3(codec);
    if (!c)
        return AVERROR(ENOMEM);
    c->time_base = av_inv_q(fps);
    c->framerate = fps;
    c->width = w;
    c->height = h;
    c->pix_fmt = fmt;
    c->sample_aspect_ratio = (AVRational){ 1, 1 };
    ret = avcodec_open2(c, codec, NULL);
    if (ret < 0) {
        avcodec_free_context(&c);
        return ret;
    }
    *out = c;
    return 0;
}

int cs_rawout_open(struct cs_rawout **out, const char *path, int width,
                   int height, enum AVPixelFormat fmt, AVRational fps,
                   unsigned flags)
{
    struct cs_rawout *w = av_mallocz(sizeof(*w));
    int y4m = flags & CS_RAWOUT_Y4M;
    int ret;

    *out = NULL;
    if (!w)
        return AVERROR(ENOMEM);
    w->flags = flags;
    w->fps = fps;
    w->aidx = -1;
    ret = cs_mux_open(&w->mux, path, y4m ? "yuv4mpegpipe" : "nut");
    if (ret < 0)
        goto fail;
    ret = open_raw_video(&w->venc, y4m ? AV_CODEC_ID_WRAPPED_AVFRAME
                                       : AV_CODEC_ID_RAWVIDEO,
                         width, height, fmt, fps);
    if (ret >= 0)
        ret = w->vidx = cs_mux_add_stream(w->mux, w->venc);
    if (ret >= 0 && !y4m) {
        struct cs_aenc_settings pcm = { .codec = CS_ACODEC_PCM };

        ret = cs_aenc_open(&w->aenc, &pcm);
        if (ret >= 0)
            ret = w->aidx = cs_mux_add_stream(w->mux, w->aenc);
    }
    if (ret >= 0)
        ret = cs_mux_start(w->mux, NULL);
    if (ret < 0)
        goto fail;
    *out = w;
    return 0;
fail:
    cs_rawout_close(&w, 0);
    return ret;
}

struct write_ctx {
    struct cs_rawout *w;
    int idx;
    AVRational tb;
};

static int write_pkt(void *opaque, AVPacket *pkt)
{
    struct write_ctx *c = opaque;

    return cs_mux_write(c->w->mux, c->idx, pkt, c->tb);
}

static int pace(struct cs_rawout *w, int64_t pts)
{
    int64_t due, now = cs_now_us();

    if (!w->base_us) {
        w->base_us = now;
        w->base_pts = pts;
    }
    due = w->base_us + av_rescale_q(pts - w->base_pts, av_inv_q(w->fps),
                                    (AVRational){ 1, 1000000 });
    if (now - due > MAX_LAG_US) {
        w->base_us = now;
        w->base_pts = pts;
        return 0;
    }
    return cs_sleep_until_us(due) ? CS_ESTOP : 0;
}

int cs_rawout_video(struct cs_rawout *w, const AVFrame *frame)
{
    struct write_ctx c = { w, w->vidx, w->venc->time_base };
    AVFrame *f = NULL;
    int ret;

    if (w->flags & CS_RAWOUT_REALTIME) {
        ret = pace(w, frame->pts);
        if (ret < 0)
            return ret;
    }
    if (w->flags & CS_RAWOUT_STAMP) {
        f = av_frame_clone(frame);
        if (!f)
            return AVERROR(ENOMEM);
        ret = av_frame_make_writable(f);
        if (ret >= 0)
            ret = cs_stamp_draw(f, cs_wall_us() / 1000);
        if (ret < 0)
            goto out;
        frame = f;
    }
    ret = cs_encode(w->venc, frame, write_pkt, &c);
out:
    av_frame_free(&f);
    return ret;
}

int cs_rawout_audio(struct cs_rawout *w, const AVFrame *frame)
{
    struct write_ctx c = { w, w->aidx, w->aenc ? w->aenc->time_base
                                               : (AVRational){ 1, 48000 } };

    if (!w->aenc)
        return 0;
    return cs_encode(w->aenc, frame, write_pkt, &c);
}

int cs_rawout_close(struct cs_rawout **pw, int commit)
{
    struct cs_rawout *w = *pw;
    int ret = 0;

    if (!w)
        return 0;
    if (commit && w->mux)
        ret = cs_mux_finish(&w->mux);
    cs_mux_abort(&w->mux);
    avcodec_free_context(&w->venc);
    avcodec_free_context(&w->aenc);
    av_freep(pw);
    return ret;
}
