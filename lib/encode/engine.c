#include "encode/engine.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "decode/timeline.h"
#include "err.h"
#include "log.h"
#include "media/captime.h"
#include "media/input.h"
#include "media/mux.h"
#include "media/resample.h"

struct enc {
    struct cs_encode_cfg *cfg;
    struct cs_input *in;
    struct cs_timeline *tl;
    struct cs_mux *mux;
    AVCodecContext *venc, *aenc;
    enum AVPixelFormat vfmt;     /* the pictures the video encoder takes */
    struct cs_resampler *afmt;   /* timeline audio -> the encoder's */
    int vidx, aidx;
    int64_t frames, start_us;
    int64_t apts;                /* samples sent to the audio encoder */
    int stamp;                   /* the wall clock where the input has no
                                    capture time */
    struct cs_captime_ring caps; /* the input's, by packet */
    struct cs_stats *stats;
    struct cs_err *err;          /* the caller's: the first failure */
};

static int write_video(void *opaque, AVPacket *pkt)
{
    struct enc *e = opaque;

    return cs_mux_write(e->mux, e->vidx, pkt, e->venc->time_base);
}

static int write_audio(void *opaque, AVPacket *pkt)
{
    struct enc *e = opaque;

    return cs_mux_write(e->mux, e->aidx, pkt, e->aenc->time_base);
}

static void report(struct enc *e, int final)
{
    int64_t dropped = e->tl ? cs_timeline_dropped(e->tl) : 0;
    int64_t repeated = e->tl ? cs_timeline_duplicated(e->tl) : 0;
    AVRational fps = e->cfg->video.fps;
    double media = (double)e->frames * fps.den / fps.num;
    double el = (double)(cs_now_us() - e->start_us) / 1e6;
    double bps = media > 0 ? cs_mux_bytes(e->mux) * 8.0 / media : 0;
    cJSON *o;

    cs_progress("frame %lld  fps %.1f  %.0f kb/s  speed %.2fx",
                (long long)e->frames, el > 0 ? e->frames / el : 0, bps / 1000,
                el > 0 ? media / el : 0);
    if (!final && !cs_stats_due(e->stats))
        return;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "frames", (double)e->frames);
    cJSON_AddNumberToObject(o, "frames_dropped", (double)dropped);
    cJSON_AddNumberToObject(o, "frames_duplicated", (double)repeated);
    cJSON_AddNumberToObject(o, "fps", el > 0 ? e->frames / el : 0);
    cJSON_AddNumberToObject(o, "bitrate_bps", bps);
    cJSON_AddNumberToObject(o, "bytes", (double)cs_mux_bytes(e->mux));
    cJSON_AddNumberToObject(o, "media_s", media);
    cJSON_AddNumberToObject(o, "speed", el > 0 ? media / el : 0);
    if (final)
        cs_stats_close(&e->stats, o);
    else
        cs_stats_emit(e->stats, o);
}

static int on_video(void *opaque, const AVFrame *frame)
{
    struct enc *e = opaque;
    AVFrame *f;
    int ret = cs_hw_upload(e->venc, frame, &f);

    if (ret < 0)
        return ret;
    /* Keyframes exactly every GOP, nowhere else. */
    f->pict_type = cs_venc_is_key(&e->cfg->video, f->pts) ? AV_PICTURE_TYPE_I
                                                          : AV_PICTURE_TYPE_NONE;
    f->key_frame = 0;
    ret = cs_encode(e->venc, f, write_video, e);
    av_frame_free(&f);
    if (ret >= 0) {
        e->frames++;
        report(e, 0);
    }
    return ret;
}

static int send_audio(struct enc *e, int flush)
{
    int nb = e->aenc->frame_size > 0 ? e->aenc->frame_size : 1024;
    int ret = 0;

    if (flush) {
        int q = cs_resampler_queued(e->afmt);

        if (q % nb)
            ret = cs_resampler_silence(e->afmt, nb - q % nb);
    }
    while (ret >= 0) {
        AVFrame *f;

        ret = cs_resampler_read(e->afmt, nb, &f);
        if (ret == AVERROR(EAGAIN))
            return 0;
        if (ret < 0)
            break;
        f->pts = e->apts;
        e->apts += nb;
        ret = cs_encode(e->aenc, f, write_audio, e);
        av_frame_free(&f);
    }
    return ret;
}

static int on_audio(void *opaque, const AVFrame *frame)
{
    struct enc *e = opaque;
    int ret;

    if (!e->aenc)
        return 0;
    ret = cs_resampler_send(e->afmt, frame);
    return ret < 0 ? ret : send_audio(e, 0);
}

static const char *why_not(enum cs_hw hw)
{
    return hw == CS_HW_NVENC ? "no NVIDIA GPU or driver (CUDA) found"
           : hw == CS_HW_VAAPI ? "no VA-API device found"
                               : "no Intel Quick Sync device found";
}

/* hwaccel auto: the first hardware encoder of the codec that opens. */
static int open_auto(struct enc *e)
{
    struct cs_encode_cfg *c = e->cfg;
    static const enum cs_hw order[] = { CS_HW_NVENC, CS_HW_VAAPI, CS_HW_QSV };

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *name = cs_hw_encoder_name(c->video.codec, order[i]);

        if (name && cs_hw_open(&e->venc, &c->video, order[i], &e->vfmt) >= 0) {
            c->result.encoder = name;
            return 0;
        }
    }
    c->result.hw_fallback = 1;
    return 1;
}

static int open_video(struct enc *e)
{
    struct cs_encode_cfg *c = e->cfg;
    const char *name = cs_hw_encoder_name(c->video.codec, c->hw);
    int ret;

    if (c->hw == CS_HW_NONE && (!c->hwaccel || open_auto(e) > 0)) {
        ret = cs_venc_open(&e->venc, &c->video);
        if (ret < 0)
            return cs_err_code(e->err, ret, "cannot open the %s encoder",
                               cs_vcodec_name(c->video.codec));
        e->vfmt = e->venc->pix_fmt;
        return 0;
    }
    if (e->venc)
        return 0;
    c->result.encoder = name;
    ret = cs_hw_open(&e->venc, &c->video, c->hw, &e->vfmt);
    if (ret == AVERROR_ENCODER_NOT_FOUND)
        return cs_err_set(e->err, ret, "'%s': this libavcodec has no such "
                          "encoder", name);
    if (ret == AVERROR(ENODEV))
        return cs_err_setx(e->err, ret, CS_EXIT_USAGE, "'%s': not available "
                           "here: %s", name, why_not(c->hw));
    if (ret < 0)
        return cs_err_code(e->err, ret, "cannot open the %s encoder", name);
    return 0;
}

static int open_encoders(struct enc *e)
{
    struct cs_encode_cfg *c = e->cfg;
    int mkv = !strcmp(c->format, "matroska");
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    int ret;

    c->video.global_header = mkv;
    c->audio.global_header = mkv;
    ret = open_video(e);
    if (ret < 0)
        return ret;
    ret = e->vidx = cs_mux_add_stream(e->mux, e->venc);
    if (ret < 0 || c->audio.codec == CS_ACODEC_NONE || e->in->aidx < 0)
        return ret < 0 ? ret : 0;
    ret = cs_aenc_open(&e->aenc, &c->audio);
    if (ret < 0)
        return cs_err_code(e->err, ret, "cannot open the %s encoder",
                           c->audio.codec == CS_ACODEC_OPUS ? "opus" : "aac");
    e->afmt = cs_resampler_alloc(e->aenc->sample_rate, &stereo,
                                 e->aenc->sample_fmt);
    if (!e->afmt)
        return AVERROR(ENOMEM);
    ret = e->aidx = cs_mux_add_stream(e->mux, e->aenc);
    return ret < 0 ? ret : 0;
}

/* Size, frame rate and sample rate: the input's where not given. */
static int from_input(struct enc *e)
{
    struct cs_encode_cfg *c = e->cfg;
    const AVStream *st;

    if (e->in->vidx >= 0) {
        st = e->in->fmt->streams[e->in->vidx];
        if (!c->video.width) {
            c->video.width = st->codecpar->width & ~1;
            c->video.height = st->codecpar->height & ~1;
        }
        if (!c->video.fps.num)
            cs_input_frame_rate(e->in, &c->video.fps);
    }
    if (!c->video.width || !c->video.height)
        return cs_err_set(e->err, CS_EDATA, "'%s': no video to encode",
                          c->input);
    if (!c->video.fps.num) {
        c->video.fps = (AVRational){ 25, 1 };
        c->result.fps_assumed = 1;
    }
    if (e->in->aidx >= 0 && !c->audio.sample_rate) {
        st = e->in->fmt->streams[e->in->aidx];
        c->audio.sample_rate = cs_aenc_rate(c->audio.codec,
                                            st->codecpar->sample_rate);
    }
    return 0;
}

/* Encoders and muxer for the input. */
static int start(struct enc *e)
{
    struct cs_encode_cfg *c = e->cfg;
    struct cs_timeline_sink sink = { on_video, on_audio, e };
    int ret = from_input(e);

    if (ret < 0)
        return ret;
    ret = cs_mux_open(&e->mux, c->output, c->format);
    if (ret < 0)
        return cs_err_code(e->err, ret, "cannot write '%s'", c->output);
    ret = open_encoders(e);
    if (ret >= 0)
        ret = cs_mux_start(e->mux, NULL);
    if (ret < 0)
        return ret;
    return cs_timeline_alloc(&e->tl, c->video.width, c->video.height,
                             e->vfmt, c->video.fps,
                             e->aenc ? e->aenc->sample_rate : CS_TIMELINE_RATE,
                             &sink);
}

static int frame_to_timeline(void *opaque, AVFrame *f)
{
    struct enc *e = opaque;

    if (f->width) {
        /* The timeline's pictures keep their side data (scale.c copies
         * it), repeats included: the encoder writes it (captime.h). */
        int64_t cap = 0;
        int ret = 0;

        ret = cs_captime_recall(&e->caps, f);
        if (ret < 0)
            return ret;
        if (e->cfg->captime != CS_CAPTIME_OFF && cs_captime_get(f, &cap) < 0)
            cap = e->stamp ? cs_wall_us() : 0;
        ret = cs_captime_set(f, cap);
        return ret < 0 ? ret : cs_timeline_video(e->tl, f);
    }
    return cs_timeline_audio(e->tl, f);
}

static int run_input(struct enc *e)
{
    AVPacket *pkt = av_packet_alloc();
    int ret;

    if (!pkt)
        return AVERROR(ENOMEM);
    ret = cs_timeline_begin(e->tl, e->in);
    while (ret >= 0) {
        ret = cs_input_read(e->in, pkt);
        if (ret < 0)
            break;
        if (pkt->stream_index == e->in->vidx) {
            cs_captime_note(&e->caps, pkt);
            ret = cs_decode(e->in->vdec, pkt, frame_to_timeline, e);
        } else if (pkt->stream_index == e->in->aidx) {
            ret = cs_decode(e->in->adec, pkt, frame_to_timeline, e);
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    if (ret == AVERROR_EOF || ret == CS_ESTOP) {
        if (e->in->vdec)
            cs_decode(e->in->vdec, NULL, frame_to_timeline, e);
        if (e->in->adec)
            cs_decode(e->in->adec, NULL, frame_to_timeline, e);
        ret = cs_timeline_end(e->tl);
    }
    return ret;
}

static int finish(struct enc *e)
{
    int ret = 0;

    if (e->aenc) {
        ret = send_audio(e, 1);
        if (ret >= 0)
            ret = cs_encode(e->aenc, NULL, write_audio, e);
    }
    /* SVT-AV1 1.4 never returns from a flush that follows no picture. */
    if (ret >= 0 && e->frames > 0)
        ret = cs_encode(e->venc, NULL, write_video, e);
    return ret;
}

/* A live input gets the wall clock as its capture time; a regular file
 * (read faster than real time) only keeps the times it carries. */
static int stamps(const struct cs_encode_cfg *cfg)
{
    struct stat st;

    if (cfg->captime != CS_CAPTIME_AUTO)
        return cfg->captime == CS_CAPTIME_ON;
    if (!strcmp(cfg->input, "-"))
        return fstat(0, &st) < 0 || !S_ISREG(st.st_mode);
    return stat(cfg->input, &st) < 0 || !S_ISREG(st.st_mode);
}

int cs_encode_run(struct cs_encode_cfg *cfg, struct cs_err *err)
{
    struct enc e = { .cfg = cfg, .stats = cfg->stats, .err = err,
                     .start_us = cs_now_us() };
    int ret;

    ret = cs_input_open(&e.in, cfg->input, NULL, NULL,
                        CS_INPUT_VIDEO | CS_INPUT_AUDIO | CS_INPUT_DECODE |
                        CS_INPUT_LOW_DELAY);
    if (ret < 0) {
        if (ret != CS_ESTOP)
            cs_err_code(err, ret, "cannot open '%s'", cfg->input);
        goto out;
    }
    e.stamp = stamps(cfg);
    ret = start(&e);
    if (ret < 0)
        goto out;
    ret = run_input(&e);
    if (ret < 0 && ret != CS_ESTOP)
        cs_err_code(err, ret, "cannot encode '%s'", cfg->input);
    if (ret >= 0 || ret == CS_ESTOP) {
        int r = finish(&e);

        if (r < 0)
            ret = cs_err_code(err, r, "cannot finish '%s'", cfg->output);
    }
out:
    cfg->result.frames = e.frames;
    cfg->result.truncated = e.in && e.in->truncated;
    if (e.tl) {
        cfg->result.dropped = cs_timeline_dropped(e.tl);
        cfg->result.duplicated = cs_timeline_duplicated(e.tl);
    }
    if (e.mux)
        report(&e, 1);
    else
        cs_stats_close(&e.stats, NULL);
    cs_progress_end();
    if (ret >= 0 || ret == CS_ESTOP) {
        int r = cs_mux_finish(&e.mux);

        if (r < 0 && ret >= 0)
            ret = cs_err_code(err, r, "cannot write '%s'", cfg->output);
    }
    cs_mux_abort(&e.mux);
    cs_timeline_free(&e.tl);
    cs_resampler_free(&e.afmt);
    avcodec_free_context(&e.venc);
    avcodec_free_context(&e.aenc);
    cs_input_free(&e.in);
    return ret;
}
