#include "media/encode.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/opt.h>

#include "err.h"
#include "log.h"

/* Names accepted on command lines, with their aliases. */
struct name_value {
    const char *name;
    int value;
};

static const struct name_value vcodecs[] = {
    { "h264", CS_VCODEC_H264 }, { "avc", CS_VCODEC_H264 },
    { "x264", CS_VCODEC_H264 }, { "hevc", CS_VCODEC_HEVC },
    { "h265", CS_VCODEC_HEVC }, { "x265", CS_VCODEC_HEVC },
    { "av1", CS_VCODEC_AV1 },   { "svtav1", CS_VCODEC_AV1 }, { NULL, 0 },
};

static const struct name_value acodecs[] = {
    { "aac", CS_ACODEC_AAC }, { "opus", CS_ACODEC_OPUS },
    { "none", CS_ACODEC_NONE }, { NULL, 0 },
};

static const struct name_value rcs[] = {
    { "cbr", CS_RC_CBR }, { "vbr", CS_RC_VBR }, { "crf", CS_RC_CRF },
    { NULL, 0 },
};

static int lookup(const struct name_value *t, const char *s, int *out)
{
    for (; t->name; t++) {
        if (!strcmp(s, t->name)) {
            *out = t->value;
            return 0;
        }
    }
    return CS_EUSAGE;
}

int cs_vcodec_parse(const char *s, enum cs_vcodec *out)
{
    int v, ret = lookup(vcodecs, s, &v);

    if (ret >= 0)
        *out = (enum cs_vcodec)v;
    return ret;
}

int cs_acodec_parse(const char *s, enum cs_acodec *out)
{
    int v, ret = lookup(acodecs, s, &v);

    if (ret >= 0)
        *out = (enum cs_acodec)v;
    return ret;
}

int cs_rc_parse(const char *s, enum cs_rc *out)
{
    int v, ret = lookup(rcs, s, &v);

    if (ret >= 0)
        *out = (enum cs_rc)v;
    return ret;
}

const char *cs_vcodec_name(enum cs_vcodec c)
{
    return c == CS_VCODEC_HEVC ? "hevc" : c == CS_VCODEC_AV1 ? "av1" : "h264";
}

void cs_venc_defaults(struct cs_venc_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->codec = CS_VCODEC_H264;
    s->fps = (AVRational){ 25, 1 };
    s->pix_fmt = AV_PIX_FMT_NONE;
    s->rc = CS_RC_CBR;
    s->bitrate = 2000000;
    s->crf = -1;
    s->gop = 2;
}

int cs_venc_gop_frames(const struct cs_venc_settings *s)
{
    int n = (int)lrint(s->gop * av_q2d(s->fps));

    return n < 1 ? 1 : n;
}

int cs_venc_is_key(const struct cs_venc_settings *s, int64_t n)
{
    return n % cs_venc_gop_frames(s) == 0;
}

static const char *encoder_name(enum cs_vcodec c)
{
    return c == CS_VCODEC_HEVC ? "libx265" : c == CS_VCODEC_AV1 ? "libsvtav1"
                                                                : "libx264";
}

/* Rate control shared by the three encoders' generic fields. */
static void set_rate(AVCodecContext *c, const struct cs_venc_settings *s)
{
    int64_t maxrate = s->maxrate, bufsize = s->bufsize;

    if (s->rc == CS_RC_CRF) {
        if (maxrate > 0) {
            c->rc_max_rate = maxrate;
            c->rc_buffer_size = (int)(bufsize > 0 ? bufsize : 2 * maxrate);
        }
        return;
    }
    if (maxrate <= 0)
        maxrate = s->rc == CS_RC_CBR ? s->bitrate : s->bitrate * 3 / 2;
    /* CBR: a one-second buffer, as live platforms ask for; it keeps the
     * rate steady over a few seconds, not just in the long run. */
    if (bufsize <= 0)
        bufsize = s->zerolatency || s->rc == CS_RC_CBR ? maxrate : 2 * maxrate;
    if (s->codec == CS_VCODEC_AV1 && s->rc == CS_RC_CBR) {
        /* SVT-AV1 wants no peak above a CBR target (ffmpeg maps it). */
        c->bit_rate = s->bitrate;
        c->rc_buffer_size = (int)bufsize;
        return;
    }
    c->bit_rate = s->bitrate;
    c->rc_max_rate = maxrate;
    c->rc_min_rate = s->rc == CS_RC_CBR ? s->bitrate : 0;
    c->rc_buffer_size = (int)bufsize;
}

/* The settings x264 and x265 share: preset, tune and crf; and the
 * frames' user-data SEI (the capture time, media/captime.h) written. */
static int set_x26x(AVDictionary **o, const struct cs_venc_settings *s,
                    int crf)
{
    int ret = av_dict_set(o, "forced-idr", "1", 0);

    if (ret >= 0)
        ret = av_dict_set(o, "udu_sei", "1", 0);

    if (ret >= 0)
        ret = av_dict_set(o, "preset", s->preset ? s->preset : "veryfast", 0);
    if (ret >= 0 && s->zerolatency)
        ret = av_dict_set(o, "tune", "zerolatency", 0);
    if (ret >= 0 && s->rc == CS_RC_CRF)
        ret = av_dict_set_int(o, "crf", s->crf >= 0 ? lrint(s->crf) : crf, 0);
    return ret;
}

static int set_x264(AVDictionary **o, const struct cs_venc_settings *s,
                    int g)
{
    char p[256];
    int ret;

    snprintf(p, sizeof(p), "keyint=%d:min-keyint=%d:scenecut=0:"
             "open-gop=0%s", g, g,
             s->rc == CS_RC_CBR ? ":nal-hrd=cbr:force-cfr=1" : "");
    ret = av_dict_set(o, "x264-params", p, 0);
    return ret < 0 ? ret : set_x26x(o, s, 23);
}

static int set_x265(AVDictionary **o, const struct cs_venc_settings *s,
                    int g)
{
    char p[256];
    int ret;

    snprintf(p, sizeof(p), "keyint=%d:min-keyint=%d:scenecut=0:"
             "open-gop=0:log-level=%s%s%s", g, g,
             cs_log_enabled(CS_LOG_VERBOSE) ? "info" : "none",
             s->rc == CS_RC_CBR ? ":strict-cbr=1" : "",
             s->zerolatency ? ":bframes=0:rc-lookahead=0" : "");
    ret = av_dict_set(o, "x265-params", p, 0);
    return ret < 0 ? ret : set_x26x(o, s, 28);
}

static int set_svtav1(AVDictionary **o, const struct cs_venc_settings *s)
{
    char p[256];
    int ret = av_dict_set(o, "preset", s->preset ? s->preset : "10", 0);

    if (ret >= 0 && s->rc == CS_RC_CRF)
        ret = av_dict_set_int(o, "crf", s->crf >= 0 ? lrint(s->crf) : 35, 0);
    if (ret < 0)
        return ret;
    /* SVT-AV1 does CBR only with its low-delay prediction structure. */
    snprintf(p, sizeof(p), "scd=0%s",
             s->zerolatency || s->rc == CS_RC_CBR ? ":pred-struct=1" : "");
    /* SVT-AV1 prints straight to stderr: errors only unless -v. */
    setenv("SVT_LOG", cs_log_enabled(CS_LOG_VERBOSE) ? "3" : "0", 0);
    return av_dict_set(o, "svtav1-params", p, 0);
}

/* Codec-specific parameters: fixed, closed GOPs; no scene-cut keyframes. */
static int set_private(AVCodecContext *c, const struct cs_venc_settings *s,
                       AVDictionary **o)
{
    int g = cs_venc_gop_frames(s);
    int ret = 0;

    switch (s->codec) {
    case CS_VCODEC_H264:
        ret = set_x264(o, s, g);
        break;
    case CS_VCODEC_HEVC:
        ret = set_x265(o, s, g);
        break;
    case CS_VCODEC_AV1:
        ret = set_svtav1(o, s);
        break;
    }
    c->gop_size = g;
    c->keyint_min = g;
    if (s->zerolatency)
        c->max_b_frames = 0;
    return ret;
}

int cs_venc_open(AVCodecContext **out, const struct cs_venc_settings *s)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(encoder_name(s->codec));
    AVDictionary *o = NULL;
    AVCodecContext *c;
    int ret;

    *out = NULL;
    if (!codec)
        return AVERROR_ENCODER_NOT_FOUND;
    c = avcodec_alloc_context3(codec);
    if (!c)
        return AVERROR(ENOMEM);
    c->width = s->width;
    c->height = s->height;
    c->framerate = s->fps;
    c->time_base = av_inv_q(s->fps);
    c->sample_aspect_ratio = (AVRational){ 1, 1 };
    c->pix_fmt = s->pix_fmt == AV_PIX_FMT_NONE ? AV_PIX_FMT_YUV420P
                                               : s->pix_fmt;
    c->thread_count = s->threads;
    if (s->global_header)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    set_rate(c, s);
    ret = set_private(c, s, &o);
    if (ret < 0)
        goto fail;
    ret = avcodec_open2(c, codec, &o);
    if (ret < 0) {
        cs_verbose("%s refused the settings: %s", codec->name, CS_ERRSTR(ret));
        ret = ret == AVERROR(ENOMEM) ? ret : CS_EUSAGE;
        goto fail;
    }
    av_dict_free(&o);
    *out = c;
    return 0;
fail:
    av_dict_free(&o);
    avcodec_free_context(&c);
    return ret;
}

static const AVCodec *aenc_find(enum cs_acodec c)
{
    return avcodec_find_encoder_by_name(c == CS_ACODEC_OPUS ? "libopus"
                                        : c == CS_ACODEC_PCM ? "pcm_s16le"
                                                             : "aac");
}

int cs_aenc_rate(enum cs_acodec codec, int rate)
{
    const AVCodec *c = aenc_find(codec);

    if (rate <= 0 || !c)
        return 48000;
    if (!c->supported_samplerates)
        return rate;
    for (const int *r = c->supported_samplerates; *r; r++)
        if (*r == rate)
            return rate;
    return 48000;
}

int cs_aenc_open(AVCodecContext **out, const struct cs_aenc_settings *s)
{
    const AVCodec *codec = aenc_find(s->codec);
    int rate = s->sample_rate > 0 ? s->sample_rate : 48000;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    AVCodecContext *c;
    int ret;

    *out = NULL;
    if (!codec)
        return AVERROR_ENCODER_NOT_FOUND;
    c = avcodec_alloc_context3(codec);
    if (!c)
        return AVERROR(ENOMEM);
    c->sample_rate = rate;
    c->time_base = (AVRational){ 1, rate };
    ret = av_channel_layout_copy(&c->ch_layout, &stereo);
    if (ret < 0)
        goto fail;
    c->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0]
                                       : AV_SAMPLE_FMT_FLTP;
    c->bit_rate = s->bitrate > 0 ? s->bitrate
                  : s->codec == CS_ACODEC_OPUS ? 96000 : 128000;
    if (s->global_header)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ret = avcodec_open2(c, codec, NULL);
    if (ret < 0) {
        ret = ret == AVERROR(ENOMEM) ? ret : CS_EUSAGE;
        goto fail;
    }
    *out = c;
    return 0;
fail:
    avcodec_free_context(&c);
    return ret;
}

int cs_encode(AVCodecContext *enc, const AVFrame *frame,
              int (*on_pkt)(void *opaque, AVPacket *pkt), void *opaque)
{
    AVPacket *pkt;
    int ret;

    ret = avcodec_send_frame(enc, frame);
    if (ret < 0 && ret != AVERROR_EOF)
        return ret;
    pkt = av_packet_alloc();
    if (!pkt)
        return AVERROR(ENOMEM);
    for (;;) {
        ret = avcodec_receive_packet(enc, pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            ret = 0;
            break;
        }
        if (ret < 0)
            break;
        ret = on_pkt(opaque, pkt);
        av_packet_unref(pkt);
        if (ret < 0)
            break;
    }
    av_packet_free(&pkt);
    return ret;
}
