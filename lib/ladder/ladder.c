#include "ladder/ladder.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <string.h>

#include <libavutil/cpu.h>
#include <libavutil/mathematics.h>

#include "clock.h"
#include "encode/hw.h"
#include "err.h"
#include "ladder/internal.h"
#include "ladder/tsfix.h"
#include "log.h"
#include "media/captime.h"
#include "media/input.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"

/* A step in the input timestamps larger than this is a jump to close. */
#define MAX_GAP_US 1000000

static const AVRational us = { 1, 1000000 };

struct ladder {
    const struct cs_ladder_config *cfg;
    struct cs_rung rungs[CS_LADDER_MAX_RUNGS];
    int nb;
    struct cs_input *in;
    AVCodecContext *vdec;
    AVRational src_fps;
    struct cs_ladder_rung r[CS_LADDER_MAX_RUNGS];
    struct cs_ladder_audio audio;
    struct cs_ladder_out out;
    struct cs_tsfix tl;
    struct cs_captime_ring caps; /* the video packets' capture times */
    struct cs_stats *stats;
    struct cs_err *err;     /* the caller's: the main thread's failures */
    struct cs_ladder_air air;   /* with --slate (air.running) */
    sigset_t mask;          /* the caller's signal mask */
    int held;               /* SIGINT and SIGTERM blocked (hold_signals) */
    /* The common timeline on which every rung's frames are chosen. */
    int have_t0;
    int64_t t0_us, last_t_us, last_in_us;
    int64_t last_n[CS_LADDER_MAX_RUNGS], last_g[CS_LADDER_MAX_RUNGS];
    int64_t frames_in, start_us, prev_us;
    int64_t prev_frames[CS_LADDER_MAX_RUNGS];
};

/* A stop must interrupt the main thread's read of a quiet input: the
 * threads started while HOLD is set (decoders', encoders', rungs', the
 * slate's) inherit a mask without SIGINT and SIGTERM, so that the signal
 * cannot land in one of them instead. HOLD 0 gives the caller's mask back
 * (a signal that came meanwhile is then handled). */
static void hold_signals(struct ladder *l, int hold)
{
    sigset_t stop;

    if (hold && !l->held) {
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop, &l->mask);
    } else if (!hold && l->held) {
        pthread_sigmask(SIG_SETMASK, &l->mask, NULL);
    }
    l->held = hold;
}

/* Decoding is a sixth of a 1080p ladder's work, done beside the rungs:
 * a thread per four cores keeps up, without the pictures and the delay
 * of a frame thread per core (libavcodec's choice); one with --tune
 * zerolatency. */
static int decode_threads(const struct cs_ladder_config *c)
{
    return c->low_delay ? 1 : (av_cpu_count() + 3) / 4;
}

static int open_input(struct ladder *l)
{
    const struct cs_ladder_config *c = l->cfg;
    unsigned flags = CS_INPUT_VIDEO | CS_INPUT_AUDIO;
    AVDictionary *opts = NULL;
    AVStream *st;
    int ret = 0;

    /* A short probe, but not CS_INPUT_LOW_DELAY: its "nobuffer" throws the
     * probed packets away, and with them the first GOP. Keeping them costs
     * no lasting delay: they are encoded faster than real time. */
    if (c->low_delay)
        ret = av_dict_set(&opts, "probesize", "500000", 0);
    if (c->low_delay && ret >= 0)
        ret = av_dict_set(&opts, "analyzeduration", "1000000", 0);
    if (ret >= 0)
        ret = cs_input_open(&l->in, c->input, c->input_format, opts, flags);
    av_dict_free(&opts);
    if (ret == CS_EUSAGE && c->input_format)
        return cs_err_set(l->err, ret, "unknown input format or device '%s'",
                          c->input_format);
    if (ret < 0)
        return cs_err_code(l->err, ret, "cannot open '%s'", c->input);
    if (l->in->vidx < 0)
        return cs_err_set(l->err, CS_EDATA, "cannot use '%s': no video "
                          "stream", c->input);
    st = l->in->fmt->streams[l->in->vidx];
    hold_signals(l, 1);
    ret = cs_decoder_open(&l->vdec, st, decode_threads(c));
    hold_signals(l, 0);
    if (ret < 0)
        return cs_err_set(l->err, ret == AVERROR_DECODER_NOT_FOUND ? CS_EDATA
                          : ret, "cannot decode the %s video of '%s': %s",
                          avcodec_get_name(st->codecpar->codec_id), c->input,
                          CS_ERRSTR(ret));
    if (st->codecpar->width <= 0 || st->codecpar->height <= 0)
        return cs_err_set(l->err, CS_EDATA, "cannot use '%s': the video "
                          "size is unknown", c->input);
    if (cs_input_frame_rate(l->in, &l->src_fps) < 0)
        l->src_fps = (AVRational){ 25, 1 };
    return 0;
}

static int needs_matroska(const struct ladder *l)
{
    for (int i = 0; i < l->nb; i++)
        if (l->rungs[i].enc.codec == CS_VCODEC_AV1)
            return 1;
    return 0;
}

/* x264 left to choose (--threads 0) gives every encoder 1.5 threads per
 * core and look-ahead threads besides: three encoders on two cores run a
 * dozen threads, each holding pictures, where the rungs already keep the
 * cores busy side by side. With more than one software H.264 rung, each
 * gets instead its share of the cores by pixel rate (at least one); not
 * with --tune zerolatency, where x264 cuts each picture into slices, one
 * per thread, which hold no pictures. */
static void share_threads(struct cs_rung *r, int n)
{
    double rate[CS_LADDER_MAX_RUNGS], total = 0;
    int cores = av_cpu_count(), k = 0;

    for (int i = 0; i < n; i++) {
        const struct cs_venc_settings *s = &r[i].enc;

        rate[i] = 0;
        if (s->threads || s->hw != CS_HW_NONE ||
            s->codec != CS_VCODEC_H264 || s->zerolatency)
            continue;
        rate[i] = (double)s->width * s->height * av_q2d(s->fps);
        total += rate[i];
        k++;
    }
    for (int i = 0; i < n && k > 1; i++) {
        if (rate[i] > 0)
            r[i].enc.threads = FFMAX(1, (int)lrint(cores * rate[i] / total));
    }
}

static int open_rungs(struct ladder *l)
{
    const AVCodecParameters *par = l->in->fmt->streams[l->in->vidx]->codecpar;
    int mkv, ret;

    memcpy(l->rungs, l->cfg->rungs, sizeof(l->rungs));
    l->nb = l->cfg->nb_rungs;
    ret = cs_rungs_fit(l->rungs, &l->nb, par->width, par->height,
                       par->sample_aspect_ratio, l->src_fps, l->cfg->upscale,
                       l->err);
    if (ret < 0)
        return ret;
    share_threads(l->rungs, l->nb);
    mkv = needs_matroska(l);
    for (int i = 0; i < l->nb; i++) {
        const struct cs_venc_settings *s = &l->rungs[i].enc;

        l->rungs[i].enc.global_header = mkv;
        ret = cs_ladder_worker_open(&l->r[i], i, &l->rungs[i], l->cfg->queue,
                                    l->err);
        if (ret < 0)
            return ret;
        cs_verbose("rung '%s': %s %dx%d at %d/%d fps, %" PRId64 " b/s, "
                   "%d threads (0: the encoder's choice)", l->rungs[i].name,
                   cs_vcodec_name(s->codec), s->width, s->height, s->fps.num,
                   s->fps.den, s->bitrate, s->threads);
        l->last_n[i] = l->last_g[i] = -1;
    }
    for (int i = 0; i + 1 < l->nb; i++)
        if (l->cfg->scale_from == CS_LADDER_FROM_LARGER)
            l->r[i].next = l->r[i + 1].in;
    return 0;
}

static int open_audio(struct ladder *l)
{
    const AVStream *st;

    l->audio.idx = -1;
    l->audio.stream = -1;
    l->audio.out = &l->out;
    if (l->in->aidx < 0 || l->cfg->acodec == CS_ACODEC_NONE)
        return 0;
    st = l->in->fmt->streams[l->in->aidx];
    l->audio.idx = l->in->aidx;
    l->audio.encode = l->cfg->slate != NULL;
    return cs_ladder_audio_open(&l->audio, st, l->cfg->acodec,
                                l->cfg->abitrate, needs_matroska(l), l->err);
}

/* Audio first, so that a reader of the MPEG-TS (which lists streams in
 * PMT order) sees the streams in the order they were written. */
static int open_output(struct ladder *l)
{
    const char *format = needs_matroska(l) ? "matroska" : "mpegts";
    AVDictionary *opts = NULL;
    AVFormatContext *fmt;
    int ret;

    ret = cs_mux_open(&l->out.mux, l->cfg->output, format);
    if (ret < 0)
        return cs_err_code(l->err, ret, "cannot write '%s'", l->cfg->output);
    fmt = cs_mux_ctx(l->out.mux);
    if (l->audio.idx >= 0) {
        ret = cs_mux_add_stream(l->out.mux, cs_ladder_audio_params(&l->audio));
        if (ret < 0)
            return ret;
        l->audio.stream = ret;
    }
    for (int i = 0; i < l->nb; i++) {
        const struct cs_rung *g = &l->rungs[i];
        struct cs_ladder_variant v = { .bitrate = g->enc.bitrate,
            .width = g->enc.width, .height = g->enc.height,
            .fps = g->enc.fps };

        snprintf(v.name, sizeof(v.name), "%s", g->name);
        ret = cs_mux_add_stream(l->out.mux, l->r[i].enc);
        if (ret < 0)
            return ret;
        l->r[i].stream = ret;
        l->r[i].out = &l->out;
        ret = cs_ladder_variant_set(fmt, ret, &v);
        if (ret < 0)
            return ret;
    }
    if (l->audio.stream >= 0)
        ret = cs_ladder_variant_share(fmt, l->audio.stream);
    /* Live: each audio frame in its own PES, not ~200 ms of them. */
    if (ret >= 0 && l->cfg->low_delay && !needs_matroska(l))
        ret = av_dict_set(&opts, "pes_payload_size", "0", 0);
    if (ret >= 0)
        ret = cs_mux_start(l->out.mux, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        return cs_err_code(l->err, ret, "cannot write '%s'", l->cfg->output);
    return 0;
}

/* Choose, on the common timeline, which rungs take this picture, its
 * frame number at each rung's rate, and where GOPs start. Numbers count
 * from the first picture (t0); a GOP starts when the number crosses a
 * multiple of the GOP length, and that picture is numbered exactly on the
 * boundary, so rungs with the same GOP in seconds put their keyframes at
 * the same timestamp whatever their frame rate. */
static void plan(struct ladder *l, int64_t t, struct cs_ladder_item *it)
{
    if (!l->have_t0) {
        l->t0_us = t;
        l->have_t0 = 1;
    }
    l->last_t_us = t;
    it->t0_us = l->t0_us;
    for (int i = 0; i < l->nb; i++) {
        const struct cs_venc_settings *s = &l->rungs[i].enc;
        int64_t gf = cs_venc_gop_frames(s), n, g;
        /* An eighth of a frame absorbs timestamps rounded to the input's
         * time base (33 ms at 30 fps in Matroska is frame 0.99). */
        int64_t tol = av_rescale(1000000, s->fps.den, 8LL * s->fps.num);

        n = av_rescale_rnd(t - l->t0_us + tol, s->fps.num,
                           s->fps.den * 1000000LL, AV_ROUND_DOWN);
        if (n < 0)
            continue;
        g = n / gf;
        if (g > l->last_g[i]) {
            n = g * gf;
            l->last_g[i] = g;
            it->key |= 1u << i;
        } else if (n <= l->last_n[i]) {
            continue;           /* over this rung's frame-rate cap */
        }
        it->n[i] = n;
        it->need |= 1u << i;
        l->last_n[i] = n;
    }
}

/* A picture's time on the input's timeline (microseconds). */
static int64_t frame_time(struct ladder *l, const AVFrame *f)
{
    AVRational tb = l->in->fmt->streams[l->in->vidx]->time_base;
    int64_t ts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;

    if (ts != AV_NOPTS_VALUE)
        l->last_in_us = av_rescale_q(ts, tb, us);
    else
        l->last_in_us += av_rescale_q(1, av_inv_q(l->src_fps), us);
    return l->last_in_us;
}

/* Hand FRAME, at T on the common timeline, to the rungs that take it. */
static int put(struct ladder *l, const AVFrame *frame, int64_t t)
{
    struct cs_ladder_item it = { 0 };
    int ret = 0;

    it.wall_us = cs_now_us();
    plan(l, t, &it);
    if (!it.need)
        return 0;
    if (l->cfg->scale_from == CS_LADDER_FROM_LARGER)
        return cs_ladder_item_push(l->r[0].in, &it, frame);
    for (int i = 0; i < l->nb && ret >= 0; i++)
        if (it.need & (1u << i))
            ret = cs_ladder_item_push(l->r[i].in, &it, frame);
    return ret;
}

static int on_video(void *opaque, AVFrame *frame)
{
    struct ladder *l = opaque;
    int64_t t = frame_time(l, frame);
    int ret = cs_captime_recall(&l->caps, frame);

    if (ret < 0)
        return ret;
    l->frames_in++;
    if (!l->air.running)
        return put(l, frame, t);
    cs_ladder_air_lock(&l->air);
    ret = cs_ladder_air_picture(&l->air, t, frame->key_frame, &t);
    if (ret > 0)
        ret = put(l, frame, t);
    cs_ladder_air_unlock(&l->air);
    return ret;
}

/* An input audio packet; with a slate, moved by the same offset as the
 * pictures, or dropped while the slate is on air. */
static int on_audio(struct ladder *l, AVPacket *pkt)
{
    int64_t off = 0;
    int ret;

    if (!l->air.running)
        return cs_ladder_audio_packet(&l->audio, pkt);
    cs_ladder_air_lock(&l->air);
    ret = cs_ladder_air_audio(&l->air, &off);
    off = av_rescale_q(off, us, l->audio.in_tb);
    if (ret > 0 && pkt->pts != AV_NOPTS_VALUE)
        pkt->pts += off;
    if (ret > 0 && pkt->dts != AV_NOPTS_VALUE)
        pkt->dts += off;
    if (ret > 0)
        ret = cs_ladder_audio_packet(&l->audio, pkt);
    cs_ladder_air_unlock(&l->air);
    return ret;
}

static int slate_picture(void *opaque, const AVFrame *f, int64_t t_us)
{
    return put(opaque, f, t_us);
}

static int slate_silence(void *opaque, int64_t t_us)
{
    struct ladder *l = opaque;

    return l->audio.idx >= 0 ? cs_ladder_audio_silence(&l->audio, t_us) : 0;
}

/* --slate: the picture, at the largest rung's size, as often as the
 * fastest rung wants pictures (the thread starts with the pump). */
static int open_slate(struct ladder *l)
{
    const struct cs_ladder_config *c = l->cfg;
    struct cs_ladder_air *a = &l->air;
    AVRational fps = { 0, 1 };
    int ret;

    if (!c->slate)
        return 0;
    ret = cs_ladder_slate_make(&a->slate, c->slate, c->slate_text,
                               l->rungs[0].enc.width, l->rungs[0].enc.height,
                               l->err);
    if (ret < 0)
        return ret;
    for (int i = 0; i < l->nb; i++)
        if (av_cmp_q(l->rungs[i].enc.fps, fps) > 0)
            fps = l->rungs[i].enc.fps;
    a->frame_us = av_rescale(1000000, fps.den, fps.num);
    a->after_us = (int64_t)(c->slate_after * 1e6);
    a->sink = (struct cs_ladder_air_sink){ l, slate_picture, slate_silence };
    return 0;
}

/* --stats: one object a second with a member per rung; the final one
 * once everything is written. */
static cJSON *rung_stats(struct ladder *l, int i, double dt, double wall)
{
    struct cs_ladder_rung *r = &l->r[i];
    long long frames = atomic_load(&r->frames);
    long long bytes = atomic_load(&r->bytes);
    long long media = atomic_load(&r->media_us);
    cJSON *o = cJSON_CreateObject();
    int peak = 0, depth = r->in ? cs_queue_depth(r->in, &peak) : 0;

    cJSON_AddStringToObject(o, "name", l->rungs[i].name);
    cJSON_AddNumberToObject(o, "width", l->rungs[i].enc.width);
    cJSON_AddNumberToObject(o, "height", l->rungs[i].enc.height);
    cJSON_AddNumberToObject(o, "target_bps", (double)l->rungs[i].enc.bitrate);
    cJSON_AddNumberToObject(o, "frames", (double)frames);
    cJSON_AddNumberToObject(o, "fps",
                            dt > 0 ? (frames - l->prev_frames[i]) / dt : 0);
    cJSON_AddNumberToObject(o, "bitrate_bps",
                            media > 0 ? bytes * 8e6 / media : 0);
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    cJSON_AddNumberToObject(o, "queue_depth", depth);
    cJSON_AddNumberToObject(o, "queue_peak", peak);
    cJSON_AddNumberToObject(o, "speed", wall > 0 ? media / 1e6 / wall : 0);
    cJSON_AddNumberToObject(o, "delay_ms", atomic_load(&r->delay_us) / 1e3);
    cJSON_AddNumberToObject(o, "delay_max_ms",
                            atomic_load(&r->delay_max_us) / 1e3);
    l->prev_frames[i] = frames;
    return o;
}

static void slate_stats(struct ladder *l, cJSON *o)
{
    struct cs_ladder_air *a = &l->air;

    cs_ladder_air_lock(a);
    cJSON_AddBoolToObject(o, "slate", a->on_slate);
    cJSON_AddNumberToObject(o, "slate_frames", (double)a->slate_frames);
    cJSON_AddNumberToObject(o, "slates", a->slates);
    cs_ladder_air_unlock(a);
}

static void report(struct ladder *l, int final)
{
    int64_t now = cs_now_us();
    double dt = (now - l->prev_us) / 1e6, wall = (now - l->start_us) / 1e6;
    cJSON *o, *arr;

    if (!l->stats || (!final && !cs_stats_due(l->stats)))
        return;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "input_frames", (double)l->frames_in);
    cJSON_AddNumberToObject(o, "timestamp_jumps", l->tl.jumps);
    if (l->air.sync)
        slate_stats(l, o);
    arr = cJSON_AddArrayToObject(o, "rungs");
    for (int i = 0; i < l->nb; i++)
        cJSON_AddItemToArray(arr, rung_stats(l, i, dt, wall));
    l->prev_us = now;
    if (final)
        cs_stats_close(&l->stats, o);
    else
        cs_stats_emit(l->stats, o);
}

static int pump(struct ladder *l)
{
    AVPacket *pkt = av_packet_alloc();
    int ret;

    if (!pkt)
        return AVERROR(ENOMEM);
    for (;;) {
        ret = cs_input_read(l->in, pkt);
        if (ret == AVERROR_EOF || ret == CS_ESTOP || cs_stopping()) {
            ret = 0;
            break;
        }
        if (ret < 0) {
            cs_err_code(l->err, ret, "cannot read '%s'", l->cfg->input);
            break;
        }
        if (pkt->stream_index == l->in->vidx) {
            cs_tsfix_fix(&l->tl, 0, pkt,
                            l->in->fmt->streams[pkt->stream_index]->time_base);
            cs_captime_note(&l->caps, pkt);
            ret = cs_decode(l->vdec, pkt, on_video, l);
        } else if (pkt->stream_index == l->audio.idx) {
            cs_tsfix_fix(&l->tl, 1, pkt, l->audio.in_tb);
            ret = on_audio(l, pkt);
            if (ret < 0 && !cs_ladder_out_error(&l->out))
                cs_err_code(l->err, ret, "cannot encode the audio");
        }
        av_packet_unref(pkt);
        if (ret < 0)
            break;
        report(l, 0);
    }
    if (ret >= 0)
        ret = cs_decode(l->vdec, NULL, on_video, l);
    if (ret >= 0 && l->frames_in == 0 && !cs_stopping())
        ret = cs_err_set(l->err, CS_EDATA, "cannot decode any picture of "
                         "'%s'", l->cfg->input);
    av_packet_free(&pkt);
    return ret;
}

/* End the rung threads: drained after a clean end (ERR 0), at once after
 * an error. */
static void end_rungs(struct ladder *l, int err)
{
    for (int i = 0; i < l->nb && l->r[i].in; i++) {
        if (err < 0)
            cs_queue_abort(l->r[i].in, err);
        else if (i == 0 || l->cfg->scale_from == CS_LADDER_FROM_SOURCE)
            cs_queue_close(l->r[i].in);
    }
    for (int i = 0; i < l->nb; i++)
        cs_ladder_worker_join(&l->r[i]);
}

/* End the rung threads and pass on the first failure of any of them (a
 * write, or a rung's own), unless the main thread's came first. Returns
 * RET or that failure's code. */
static int stop_rungs(struct ladder *l, int ret)
{
    const struct cs_err *e = &l->out.err;

    end_rungs(l, ret);
    if (!cs_err_failed(e))
        return ret;
    cs_err_setx(l->err, e->code, e->status, "%s", e->msg);
    return e->code;
}

/* The pump, with the slate's thread beside it. */
static int pump_on_air(struct ladder *l)
{
    int ret, air;

    if (!l->air.running)
        return pump(l);
    ret = pump(l);
    air = cs_ladder_air_stop(&l->air);
    if (ret >= 0 && air < 0 && !cs_ladder_out_error(&l->out))
        ret = cs_err_code(l->err, air, "cannot put the slate on air");
    else if (ret >= 0)
        ret = air;
    return ret;
}

static int run(struct ladder *l)
{
    int ret;

    ret = open_input(l);
    hold_signals(l, 1);
    if (ret >= 0)
        ret = open_rungs(l);
    if (ret >= 0)
        ret = open_audio(l);
    if (ret >= 0)
        ret = open_slate(l);
    hold_signals(l, 0);     /* opening a pipe may wait for its reader */
    if (ret >= 0)
        ret = open_output(l);
    if (ret < 0)
        return ret;
    hold_signals(l, 1);
    for (int i = 0; i < l->nb && ret >= 0; i++)
        ret = cs_ladder_worker_start(&l->r[i]);
    if (ret >= 0 && l->cfg->slate) {
        ret = cs_ladder_air_start(&l->air);
        if (ret < 0)
            cs_err_code(l->err, ret, "cannot start the slate");
    }
    l->start_us = l->prev_us = cs_now_us();
    hold_signals(l, 0);
    if (ret >= 0)
        ret = pump_on_air(l);
    ret = stop_rungs(l, ret);
    if (ret >= 0)
        ret = cs_ladder_audio_flush(&l->audio);
    return ret;
}

int cs_ladder_run(const struct cs_ladder_config *cfg, struct cs_err *err)
{
    struct ladder *l = av_mallocz(sizeof(*l));
    int ret;

    if (!l)
        return cs_err_code(err, AVERROR(ENOMEM), "cannot start the ladder");
    ret = pthread_mutex_init(&l->out.lock, NULL);
    if (ret) {
        av_free(l);
        return cs_err_code(err, AVERROR(ret), "cannot start the ladder");
    }
    l->cfg = cfg;
    l->err = err;
    l->out.name = cfg->output;
    cs_tsfix_init(&l->tl, MAX_GAP_US);
    l->audio.idx = -1;
    l->stats = cfg->stats;
    ret = run(l);
    hold_signals(l, 0);
    if (ret >= 0) {
        ret = cs_mux_finish(&l->out.mux);
        if (ret < 0)
            cs_err_code(err, ret, "cannot write '%s'", cfg->output);
    }
    report(l, 1);
    end_rungs(l, AVERROR_EXIT);
    cs_ladder_air_free(&l->air);
    for (int i = 0; i < l->nb; i++)
        cs_ladder_worker_close(&l->r[i]);
    cs_ladder_audio_close(&l->audio);
    cs_mux_abort(&l->out.mux);
    avcodec_free_context(&l->vdec);
    cs_input_free(&l->in);
    pthread_mutex_destroy(&l->out.lock);
    av_free(l);
    return ret;
}
