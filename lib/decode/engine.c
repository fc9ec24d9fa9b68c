#include "decode/engine.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <libavutil/pixdesc.h>

#include "clock.h"
#include "decode/device.h"
#include "decode/rawout.h"
#include "decode/source.h"
#include "decode/timeline.h"
#include "err.h"
#include "log.h"
#include "sig.h"

struct run {
    const struct cs_decode_cfg *cfg;
    struct cs_rawout *out;
    struct cs_timeline *tl;
    struct cs_input *in;
    struct cs_capture *cap;     /* capture devices, or NULL */
    double late_ms[2];          /* the devices' delays (video, audio) */
    struct cs_stats *stats;
    struct cs_err *err;         /* the caller's: the first failure */
    int inputs, skipped, truncated;
    int64_t limit;              /* frames to write at most; 0: no limit */
    int64_t start_us;
};

static int sink_video(void *opaque, const AVFrame *f)
{
    return cs_rawout_video(opaque, f);
}

static int sink_audio(void *opaque, const AVFrame *f)
{
    return cs_rawout_audio(opaque, f);
}

static int on_video(void *opaque, AVFrame *f)
{
    return cs_timeline_video(opaque, f);
}

static int on_audio(void *opaque, AVFrame *f)
{
    return cs_timeline_audio(opaque, f);
}

/* Whether --duration's frames are all written. */
static int done(const struct run *r)
{
    return r->limit > 0 && r->tl && cs_timeline_frames(r->tl) >= r->limit;
}

static void report(struct run *r, int final)
{
    int64_t frames = r->tl ? cs_timeline_frames(r->tl) : 0;
    double media = r->tl ? (double)frames * r->cfg->fps.den / r->cfg->fps.num
                         : 0;
    double el = (double)(cs_now_us() - r->start_us) / 1e6;
    cJSON *o;

    cs_progress("frame %lld  time %.2f s  speed %.2fx", (long long)frames,
                media, el > 0 ? media / el : 0);
    if (!final && !cs_stats_due(r->stats))
        return;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "frames", (double)frames);
    cJSON_AddNumberToObject(o, "frames_dropped",
                            r->tl ? (double)cs_timeline_dropped(r->tl) : 0);
    cJSON_AddNumberToObject(o, "frames_duplicated",
                            r->tl ? (double)cs_timeline_duplicated(r->tl) : 0);
    cJSON_AddNumberToObject(o, "audio_samples",
                            r->tl ? (double)cs_timeline_samples(r->tl) : 0);
    cJSON_AddNumberToObject(o, "media_s", media);
    cJSON_AddNumberToObject(o, "fps", el > 0 ? frames / el : 0);
    cJSON_AddNumberToObject(o, "speed", el > 0 ? media / el : 0);
    cJSON_AddNumberToObject(o, "inputs", r->inputs);
    cJSON_AddNumberToObject(o, "skipped", r->skipped);
    if (r->cap)
        cs_capture_delays(r->cap, &r->late_ms[0], &r->late_ms[1]);
    if (r->cfg->nb_devices) {
        cJSON_AddNumberToObject(o, "video_late_max_ms", r->late_ms[0]);
        cJSON_AddNumberToObject(o, "audio_late_max_ms", r->late_ms[1]);
    }
    if (final)
        cs_stats_close(&r->stats, o);
    else
        cs_stats_emit(r->stats, o);
}

/* Output geometry from the first input, unless given. */
static int start_output(struct run *r, struct cs_decode_cfg *c)
{
    const struct cs_input *in = r->in;
    struct cs_timeline_sink sink = { sink_video, sink_audio, NULL };
    unsigned flags = 0;
    int ret;

    if (!c->width && in->vidx >= 0) {
        const AVCodecParameters *p = in->fmt->streams[in->vidx]->codecpar;

        c->width = p->width & ~1;
        c->height = p->height & ~1;
    }
    if (!c->width) {
        c->width = 640;
        c->height = 360;
    }
    if (!c->fps.num)
        cs_input_frame_rate(in, &c->fps);
    if (!c->fps.num)
        c->fps = (AVRational){ 25, 1 };
    flags |= c->y4m ? CS_RAWOUT_Y4M : 0;
    flags |= c->realtime ? CS_RAWOUT_REALTIME : 0;
    flags |= c->stamp ? CS_RAWOUT_STAMP : 0;
    if (c->duration > 0)
        r->limit = llrint(c->duration * c->fps.num / c->fps.den);
    ret = cs_rawout_open(&r->out, c->output, c->width, c->height, c->pix_fmt,
                         c->fps, flags);
    if (ret < 0)
        return cs_err_code(r->err, ret, "cannot write '%s'", c->output);
    sink.opaque = r->out;
    cs_verbose("output %dx%d %s at %d/%d fps", c->width, c->height,
               av_get_pix_fmt_name(c->pix_fmt), c->fps.num, c->fps.den);
    ret = cs_timeline_alloc(&r->tl, c->width, c->height, c->pix_fmt, c->fps,
                            CS_TIMELINE_RATE, &sink);
    if (ret >= 0)
        cs_timeline_set_limit(r->tl, r->limit);
    return ret;
}

static int decode_packets(struct run *r)
{
    AVPacket *pkt = av_packet_alloc();
    int ret;

    if (!pkt)
        return AVERROR(ENOMEM);
    for (;;) {
        ret = cs_input_read(r->in, pkt);
        if (ret < 0)
            break;
        if (pkt->stream_index == r->in->vidx)
            ret = cs_decode(r->in->vdec, pkt, on_video, r->tl);
        else if (pkt->stream_index == r->in->aidx)
            ret = cs_decode(r->in->adec, pkt, on_audio, r->tl);
        av_packet_unref(pkt);
        if (ret < 0)
            break;
        report(r, 0);
        if (done(r))
            break;
    }
    av_packet_free(&pkt);
    if (ret == AVERROR_EOF)
        ret = 0;
    r->truncated += r->in->truncated;
    /* Drain the decoders, also after a read error: keep what was read. */
    if (r->in->vdec && ret != CS_ESTOP)
        cs_decode(r->in->vdec, NULL, on_video, r->tl);
    if (r->in->adec && ret != CS_ESTOP)
        cs_decode(r->in->adec, NULL, on_audio, r->tl);
    return ret;
}

static int open_one(struct run *r, const char *url)
{
    return cs_input_open(&r->in, url, NULL, NULL,
                         CS_INPUT_VIDEO | CS_INPUT_AUDIO | CS_INPUT_DECODE);
}

/* One input: open, decode into the timeline, close. */
static int play_one(struct run *r, struct cs_decode_cfg *c, const char *url,
                    int tolerant)
{
    const char *shown = url;
    int ret = open_one(r, url);

    if (ret < 0) {
        if (ret == CS_ESTOP)
            return ret;
        if (tolerant) {
            cs_warn("skipping '%s': %s", shown, CS_ERRSTR(ret));
            r->skipped++;
            return 0;
        }
        return cs_err_code(r->err, ret, "cannot open '%s'", shown);
    }
    r->inputs++;
    cs_verbose("playing '%s'", shown);
    if (!r->out)
        ret = start_output(r, c);
    if (ret >= 0)
        ret = cs_timeline_begin(r->tl, r->in);
    if (ret >= 0) {
        ret = decode_packets(r);
        if (ret < 0 && ret != CS_ESTOP) {
            if (tolerant)
                cs_warn("'%s' ends early: %s", shown, CS_ERRSTR(ret));
            else
                cs_err_code(r->err, ret, "cannot decode '%s'", shown);
        }
        if (r->tl && (tolerant || ret >= 0 || ret == CS_ESTOP)) {
            int e = cs_timeline_end(r->tl);

            if (ret >= 0 || tolerant)
                ret = e;
        }
    }
    cs_input_free(&r->in);
    return ret;
}

static void fill_result(const struct run *r, struct cs_decode_result *res)
{
    if (!res)
        return;
    res->fps = r->cfg->fps;
    res->dropped = r->tl ? cs_timeline_dropped(r->tl) : 0;
    res->duplicated = r->tl ? cs_timeline_duplicated(r->tl) : 0;
    res->truncated = r->truncated;
}

/* The operands or the play list, one after the other. */
static int play_inputs(struct run *r, struct cs_decode_cfg *c)
{
    struct cs_source *src = NULL;
    const char *url;
    int ret, tolerant;

    ret = cs_source_open(&src, c->inputs, c->nb_inputs, c->playlist, c->loop);
    if (ret < 0)
        return cs_err_code(r->err, ret, "cannot read the play list '%s'",
                           c->playlist);
    tolerant = cs_source_is_playlist(src);
    for (;;) {
        ret = cs_source_next(src, &url);
        if (ret <= 0)
            break;
        ret = play_one(r, c, url, tolerant);
        if (ret < 0 || done(r))
            break;
    }
    if (ret >= 0 && !r->out)
        ret = cs_err_set(r->err, CS_EDATA, "'%s': no input could be decoded",
                         c->playlist ? c->playlist : "-");
    cs_source_free(&src);
    return ret;
}

/* Capture: the devices' packets, by time, into the timeline. */
static int capture_packets(struct run *r, struct cs_capture *cap)
{
    AVPacket *pkt = av_packet_alloc();
    struct cs_input *in;
    int ret;

    if (!pkt)
        return AVERROR(ENOMEM);
    do {
        /* Devices never end: a stop request does. */
        ret = cs_stopping() ? CS_ESTOP : cs_capture_read(cap, pkt, &in);
        if (ret < 0)
            break;
        if (pkt->stream_index == in->vidx)
            ret = cs_decode(in->vdec, pkt, on_video, r->tl);
        else if (pkt->stream_index == in->aidx)
            ret = cs_decode(in->adec, pkt, on_audio, r->tl);
        av_packet_unref(pkt);
        report(r, 0);
        /* Sound alone: its own clock counts the duration. */
        if (!cs_capture_video(cap) && r->cfg->duration > 0 &&
            cs_capture_audio_s(cap) >= r->cfg->duration)
            break;
    } while (ret >= 0 && !done(r));
    av_packet_free(&pkt);
    return ret == AVERROR_EOF ? 0 : ret;
}

/* The capture devices, together on one timeline, until a stop. */
static int play_devices(struct run *r, struct cs_decode_cfg *c)
{
    struct cs_capture *cap = NULL;
    struct cs_input *v, *a;
    int ret, e;

    ret = cs_capture_open(&cap, c->devices, c->nb_devices, c->fps, r->err);
    if (ret < 0)
        return ret;
    v = cs_capture_video(cap);
    a = cs_capture_audio(cap);
    r->in = v ? v : a;
    r->inputs = c->nb_devices;
    ret = start_output(r, c);
    r->in = NULL;
    if (ret >= 0)
        ret = cs_timeline_begin_streams(r->tl,
                                        v ? v->fmt->streams[v->vidx] : NULL,
                                        a ? a->fmt->streams[a->aidx] : NULL,
                                        cs_capture_start(cap));
    if (ret >= 0) {
        r->cap = cap;
        ret = capture_packets(r, cap);
        if (ret < 0 && ret != CS_ESTOP)
            cs_err_code(r->err, ret, "cannot capture from '%s'",
                        c->devices[0]);
        e = cs_timeline_end(r->tl);
        if (ret >= 0)
            ret = e;
    }
    if (r->cap)
        cs_capture_delays(cap, &r->late_ms[0], &r->late_ms[1]);
    r->cap = NULL;
    cs_capture_free(&cap);
    return ret;
}

int cs_decode_run(const struct cs_decode_cfg *cfg,
                  struct cs_decode_result *res, struct cs_err *err)
{
    struct cs_decode_cfg c = *cfg;
    struct run r = { .cfg = &c, .stats = c.stats, .err = err,
                     .start_us = cs_now_us() };
    int ret;

    if (c.nb_devices)
        ret = play_devices(&r, &c);
    else
        ret = play_inputs(&r, &c);
    report(&r, 1);
    cs_progress_end();
    if (r.out) {
        int e = cs_rawout_close(&r.out, ret >= 0 || ret == CS_ESTOP);

        if (e < 0 && ret >= 0)
            ret = cs_err_code(err, e, "cannot write '%s'", c.output);
    }
    fill_result(&r, res);
    cs_timeline_free(&r.tl);
    return ret;
}
