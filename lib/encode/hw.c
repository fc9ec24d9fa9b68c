#include "encode/hw.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <libavutil/hwcontext.h>
#include <libavutil/opt.h>

#include "err.h"
#include "log.h"

static const struct {
    const char *name;
    enum cs_vcodec codec;
    enum cs_hw hw;
} encoders[] = {
    { "h264_nvenc", CS_VCODEC_H264, CS_HW_NVENC },
    { "hevc_nvenc", CS_VCODEC_HEVC, CS_HW_NVENC },
    { "av1_nvenc", CS_VCODEC_AV1, CS_HW_NVENC },
    { "h264_vaapi", CS_VCODEC_H264, CS_HW_VAAPI },
    { "hevc_vaapi", CS_VCODEC_HEVC, CS_HW_VAAPI },
    { "h264_qsv", CS_VCODEC_H264, CS_HW_QSV },
    { "hevc_qsv", CS_VCODEC_HEVC, CS_HW_QSV },
    { NULL, CS_VCODEC_H264, CS_HW_NONE },
};

int cs_hw_parse(const char *name, enum cs_vcodec *codec, enum cs_hw *hw)
{
    for (int i = 0; encoders[i].name; i++) {
        if (!strcmp(name, encoders[i].name)) {
            *codec = encoders[i].codec;
            *hw = encoders[i].hw;
            return 0;
        }
    }
    return CS_EUSAGE;
}

const char *cs_hw_encoder_name(enum cs_vcodec codec, enum cs_hw hw)
{
    for (int i = 0; encoders[i].name; i++)
        if (encoders[i].codec == codec && encoders[i].hw == hw)
            return encoders[i].name;
    return NULL;
}

/* The software encoders' quality defaults, on the hardware's scales. */
static long quality(const struct cs_venc_settings *s)
{
    if (s->crf >= 0)
        return lrint(s->crf);
    return s->codec == CS_VCODEC_HEVC ? 28 : s->codec == CS_VCODEC_AV1 ? 35
                                                                       : 23;
}

static int set_int(AVDictionary **o, const char *key, int64_t v)
{
    return av_dict_set_int(o, key, v, 0);
}

/* Rate, GOP and B-frames: AVCodecContext's own options, for all. */
static int generic(AVDictionary **o, const struct cs_venc_settings *s)
{
    int64_t max = s->maxrate, buf = s->bufsize;
    int g = cs_venc_gop_frames(s), ret = 0;

    if (s->rc != CS_RC_CRF && max <= 0)
        max = s->rc == CS_RC_CBR ? s->bitrate : s->bitrate * 3 / 2;
    if (max > 0 && buf <= 0)
        buf = s->zerolatency || s->rc == CS_RC_CBR ? max : 2 * max;
    /* Quality modes want no target rate (libavcodec's default is 200k). */
    ret = set_int(o, "b", s->rc == CS_RC_CRF ? 0 : s->bitrate);
    if (ret >= 0 && max > 0)
        ret = set_int(o, "maxrate", max);
    if (ret >= 0 && buf > 0)
        ret = set_int(o, "bufsize", buf);
    if (ret >= 0)
        ret = set_int(o, "g", g);
    if (ret >= 0)
        ret = set_int(o, "keyint_min", g);
    if (ret >= 0 && s->zerolatency)
        ret = set_int(o, "bf", 0);
    return ret;
}

/* NVENC: presets p1 (fastest) to p7; tune ull for zero latency; rc cbr,
 * vbr, or vbr with a constant quality (cq). */
static int nvenc(AVDictionary **o, const struct cs_venc_settings *s)
{
    int ret = av_dict_set(o, "preset", s->preset ? s->preset : "p4", 0);

    if (ret >= 0)
        ret = av_dict_set(o, "tune", s->zerolatency ? "ull" : "hq", 0);
    if (ret >= 0)
        ret = av_dict_set(o, "rc", s->rc == CS_RC_CBR ? "cbr" : "vbr", 0);
    if (ret >= 0 && s->rc == CS_RC_CRF)
        ret = set_int(o, "cq", quality(s));
    if (ret >= 0)
        ret = av_dict_set(o, "forced-idr", "1", 0);
    if (ret >= 0)
        ret = av_dict_set(o, "no-scenecut", "1", 0);
    if (ret >= 0)
        ret = av_dict_set(o, "strict_gop", "1", 0);
    /* the capture time's SEI (media/captime.h); AV1 has no SEI */
    if (ret >= 0 && s->codec != CS_VCODEC_AV1)
        ret = av_dict_set(o, "udu_sei", "1", 0);
    if (ret >= 0 && s->zerolatency)
        ret = av_dict_set(o, "zerolatency", "1", 0);
    if (ret >= 0 && s->zerolatency)
        ret = av_dict_set(o, "delay", "0", 0);
    if (ret >= 0 && s->zerolatency)
        ret = av_dict_set(o, "rc-lookahead", "0", 0);
    return ret;
}

/* VA-API: rc_mode CBR, VBR or CQP (qp); every keyframe an IDR. */
static int vaapi(AVDictionary **o, const struct cs_venc_settings *s)
{
    const char *mode = s->rc == CS_RC_CBR ? "CBR"
                       : s->rc == CS_RC_VBR ? "VBR" : "CQP";
    int ret = av_dict_set(o, "rc_mode", mode, 0);

    if (ret >= 0 && s->rc == CS_RC_CRF)
        ret = set_int(o, "qp", quality(s));
    if (ret >= 0)
        ret = av_dict_set(o, "idr_interval", "0", 0);
    if (ret >= 0 && s->zerolatency)
        ret = av_dict_set(o, "async_depth", "1", 0);
    return ret;
}

/* Quick Sync: the rate control follows b/maxrate (CBR when equal) or the
 * quality (global_quality: ICQ); presets veryfast to veryslow. */
static int qsv(AVDictionary **o, const struct cs_venc_settings *s)
{
    int ret = av_dict_set(o, "preset", s->preset ? s->preset : "veryfast", 0);

    if (ret >= 0 && s->rc == CS_RC_CRF)
        ret = set_int(o, "global_quality", quality(s));
    if (ret >= 0)
        ret = av_dict_set(o, "idr_interval", "0", 0);
    if (ret >= 0)
        ret = av_dict_set(o, "forced_idr", "1", 0);
    if (ret >= 0 && s->zerolatency)
        ret = av_dict_set(o, "async_depth", "1", 0);
    if (ret >= 0 && s->zerolatency && s->codec == CS_VCODEC_H264)
        ret = av_dict_set(o, "look_ahead", "0", 0);
    return ret;
}

int cs_hw_options(AVDictionary **o, const struct cs_venc_settings *s,
                  enum cs_hw hw)
{
    int ret = generic(o, s);

    if (ret < 0)
        return ret;
    switch (hw) {
    case CS_HW_NVENC:
        return nvenc(o, s);
    case CS_HW_VAAPI:
        return vaapi(o, s);
    case CS_HW_QSV:
        return qsv(o, s);
    default:
        return CS_EUSAGE;
    }
}

/* VA-API's encoder takes frames on the device: a pool of NV12 surfaces. */
static int vaapi_frames(AVCodecContext *c, AVBufferRef *dev)
{
    AVBufferRef *ref = av_hwframe_ctx_alloc(dev);
    AVHWFramesContext *f;
    int ret;

    if (!ref)
        return AVERROR(ENOMEM);
    f = (AVHWFramesContext *)ref->data;
    f->format = AV_PIX_FMT_VAAPI;
    f->sw_format = AV_PIX_FMT_NV12;
    f->width = c->width;
    f->height = c->height;
    f->initial_pool_size = 20;
    ret = av_hwframe_ctx_init(ref);
    if (ret >= 0) {
        c->hw_frames_ctx = ref;
        c->pix_fmt = AV_PIX_FMT_VAAPI;
        return 0;
    }
    av_buffer_unref(&ref);
    return ret;
}

/* The device the encoder needs, or AVERROR(ENODEV) when none opens. */
static int open_device(AVCodecContext *c, enum cs_hw hw,
                       enum AVPixelFormat *sw_fmt)
{
    enum AVHWDeviceType type = hw == CS_HW_NVENC ? AV_HWDEVICE_TYPE_CUDA
                               : hw == CS_HW_VAAPI ? AV_HWDEVICE_TYPE_VAAPI
                                                   : AV_HWDEVICE_TYPE_QSV;
    AVBufferRef *dev = NULL;
    int ret = av_hwdevice_ctx_create(&dev, type, NULL, NULL, 0);

    if (ret < 0) {
        cs_verbose("no %s device: %s", av_hwdevice_get_type_name(type),
                   CS_ERRSTR(ret));
        return AVERROR(ENODEV);
    }
    /* NVENC and QSV take frames in memory: yuv420p, nv12. */
    c->pix_fmt = hw == CS_HW_QSV ? AV_PIX_FMT_NV12 : AV_PIX_FMT_YUV420P;
    *sw_fmt = c->pix_fmt;
    if (hw == CS_HW_VAAPI) {
        ret = vaapi_frames(c, dev);
        *sw_fmt = AV_PIX_FMT_NV12;
    } else {
        c->hw_device_ctx = av_buffer_ref(dev);
        ret = c->hw_device_ctx ? 0 : AVERROR(ENOMEM);
    }
    av_buffer_unref(&dev);
    return ret;
}

static AVCodecContext *alloc_context(const AVCodec *codec,
                                     const struct cs_venc_settings *s)
{
    AVCodecContext *c = avcodec_alloc_context3(codec);

    if (!c)
        return NULL;
    c->width = s->width;
    c->height = s->height;
    c->framerate = s->fps;
    c->time_base = av_inv_q(s->fps);
    c->sample_aspect_ratio = (AVRational){ 1, 1 };
    if (s->global_header)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    return c;
}

int cs_hw_open(AVCodecContext **out, const struct cs_venc_settings *s,
               enum cs_hw hw, enum AVPixelFormat *sw_fmt)
{
    const char *name = cs_hw_encoder_name(s->codec, hw);
    const AVCodec *codec = name ? avcodec_find_encoder_by_name(name) : NULL;
    AVDictionary *o = NULL;
    AVCodecContext *c = NULL;
    int ret;

    *out = NULL;
    if (!codec)
        return AVERROR_ENCODER_NOT_FOUND;
    c = alloc_context(codec, s);
    if (!c)
        return AVERROR(ENOMEM);
    ret = open_device(c, hw, sw_fmt);
    if (ret >= 0)
        ret = cs_hw_options(&o, s, hw);
    if (ret >= 0) {
        ret = avcodec_open2(c, codec, &o);
        if (ret < 0) {
            cs_verbose("%s refused the settings: %s", name, CS_ERRSTR(ret));
            ret = ret == AVERROR(ENOMEM) ? ret : CS_EUSAGE;
        }
    }
    av_dict_free(&o);
    if (ret < 0)
        avcodec_free_context(&c);
    *out = c;
    return ret;
}

int cs_hw_upload(const AVCodecContext *enc, const AVFrame *frame,
                 AVFrame **out)
{
    AVFrame *f = av_frame_alloc();
    int ret;

    *out = NULL;
    if (!f)
        return AVERROR(ENOMEM);
    if (!enc->hw_frames_ctx) {
        ret = av_frame_ref(f, frame);
    } else {
        ret = av_hwframe_get_buffer(enc->hw_frames_ctx, f, 0);
        if (ret >= 0)
            ret = av_hwframe_transfer_data(f, frame, 0);
        if (ret >= 0)
            ret = av_frame_copy_props(f, frame);
    }
    if (ret < 0) {
        av_frame_free(&f);
        return ret;
    }
    *out = f;
    return 0;
}
