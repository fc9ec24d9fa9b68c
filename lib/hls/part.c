/* hls/part.c: where parts and segments are cut.
 *
 * A video segment ends at the first keyframe once it holds --segment
 * seconds; audio ends its segment at the same time (within one frame).
 * Within a segment a part ends before the frame that would take it past
 * the part target, so every part is whole frames, no longer than the
 * target, and (at a fixed frame rate) at least 85% of it, except the last
 * part of a segment, which the draft allows to be shorter. It ends as its
 * last frame is written when the next one (as long) would not fit.
 *
 * Nothing here writes: what is cut goes to the packager's sink (part.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <libavcodec/avcodec.h>
#include <libavutil/mathematics.h>

#include "clock.h"
#include "media/captime.h"
#include "err.h"
#include "hls/codecs.h"
#include "hls/part.h"
#include "hls/internal.h"
#include "log.h"

static double secs(const struct cs_track *t, int64_t ts)
{
    return ts * av_q2d(t->tb);
}

/* MPEG-TS carries AAC with ADTS headers and no extradata; an mp4 needs
 * the AudioSpecificConfig in its moov before the first sample. */
static int adts_config(struct cs_track *t, const AVPacket *pkt)
{
    const uint8_t *h = pkt->data;
    int aot, freq, chan;

    if (t->par->codec_id != AV_CODEC_ID_AAC || t->par->extradata_size ||
        pkt->size < 7 || h[0] != 0xff || (h[1] & 0xf0) != 0xf0)
        return 0;
    aot = (h[2] >> 6) + 1;
    freq = (h[2] >> 2) & 0xf;
    chan = (h[2] & 1) << 2 | h[3] >> 6;
    t->par->extradata = av_mallocz(2 + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!t->par->extradata)
        return AVERROR(ENOMEM);
    t->par->extradata[0] = (uint8_t)(aot << 3 | freq >> 1);
    t->par->extradata[1] = (uint8_t)((freq & 1) << 7 | chan << 3);
    t->par->extradata_size = 2;
    return 0;
}

static int open_mux(struct cs_cutter *c, struct cs_track *t,
                    const AVPacket *pkt)
{
    AVCodecParameters *pars[2] = { t->par, NULL };
    AVRational tbs[2] = { t->tb, { 0, 1 } };
    int n = 1, ret;

    cs_memmux_free(&t->mux);
    if (!c->ts) {
        ret = adts_config(t, pkt);
        if (ret < 0)
            return ret;
    }
    if (t->aux_idx >= 0) {
        pars[1] = c->in->streams[t->aux_idx]->codecpar;
        tbs[1] = c->in->streams[t->aux_idx]->time_base;
        n = 2;
    }
    ret = cs_memmux_open(&t->mux, c->ts ? "mpegts" : "mp4", pars, tbs, n);
    if (ret < 0)
        return cs_err_code(c->err, ret, "cannot package '%s'", t->name);
    t->mtb = cs_memmux_tb(t->mux, 0);
    t->init_put = 0;
    return 0;
}

/* New codec configuration: side data from the demuxer, or (Annex B video)
 * a keyframe whose sequence parameter set differs from the extradata's. */
static int config_changed(const struct cs_track *t, const AVPacket *pkt)
{
    size_t n = 0;
    const uint8_t *x = av_packet_get_side_data(pkt,
                                               AV_PKT_DATA_NEW_EXTRADATA, &n);
    const AVCodecParameters *par = t->par;
    uint8_t a[256], b[256];
    int hevc = par->codec_id == AV_CODEC_ID_HEVC, na, nb;

    if (x && n && (n != (size_t)par->extradata_size ||
                   memcmp(x, par->extradata, n)))
        return 1;
    if (t->audio || !(pkt->flags & AV_PKT_FLAG_KEY) ||
        par->extradata_size < 4 || par->extradata[0] ||
        (par->codec_id != AV_CODEC_ID_H264 && !hevc))
        return 0;
    na = cs_codecs_sps(par->extradata, (size_t)par->extradata_size, hevc,
                       a, sizeof(a));
    nb = cs_codecs_sps(pkt->data, (size_t)pkt->size, hevc, b, sizeof(b));
    return nb > 0 && (na != nb || memcmp(a, b, (size_t)na));
}

/* The picture size of a keyframe with new parameter sets, as the parser
 * reads it from the SPS (cropped), for RESOLUTION and the MPD. */
static void new_size(struct cs_track *t, const AVPacket *pkt)
{
    AVCodecParserContext *pc = av_parser_init(t->par->codec_id);
    AVCodecContext *cc = avcodec_alloc_context3(NULL);
    uint8_t *out = NULL;
    int outlen = 0;

    if (pc && cc) {
        pc->flags |= PARSER_FLAG_COMPLETE_FRAMES;
        av_parser_parse2(pc, cc, &out, &outlen, pkt->data, pkt->size,
                         pkt->pts, pkt->dts, 0);
        if (pc->width > 0 && pc->height > 0) {
            t->width = t->par->width = pc->width;
            t->height = t->par->height = pc->height;
        }
    }
    av_parser_close(pc);
    avcodec_free_context(&cc);
}

static int take_new_config(struct cs_track *t, const AVPacket *pkt)
{
    size_t n = 0;
    const uint8_t *x = av_packet_get_side_data(pkt,
                                               AV_PKT_DATA_NEW_EXTRADATA, &n);
    uint8_t *nx;

    if (!x) {
        /* Annex B: the parameter sets lead the keyframe. */
        x = pkt->data;
        n = (size_t)pkt->size;
    }
    nx = av_mallocz(n + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!nx)
        return AVERROR(ENOMEM);
    memcpy(nx, x, n);
    av_freep(&t->par->extradata);
    t->par->extradata = nx;
    t->par->extradata_size = (int)n;
    new_size(t, pkt);
    if (cs_codecs_string(t->par, t->codecs, sizeof(t->codecs)) < 0)
        cs_warn("'%s': codec configuration changed to one without a "
                "codecs string", t->name);
    return 0;
}

/* A timestamp jump: backwards, or forwards by more than two segments. */
#define MAX_STEP_S 1.0

static int jumped(const struct cs_cutter *c, const struct cs_track *t,
                  int64_t dts)
{
    double d = secs(t, dts - t->last_dts);

    /* Frames are tens of ms apart: a second without one is a pause in
     * the source (a publisher that came back), marked as a discontinuity. */
    return d < 0 || d > MAX_STEP_S;
}

/* After a discontinuity at DTS, the wall clock goes on from now, as it
 * began with the first packet, or from where the last segment PREV ended
 * if that is later (never back); after a restart likewise. Not from the
 * end alone: a publisher silent for G seconds would put every later
 * segment G seconds early on the MPD's timeline (availabilityStartTime +
 * Period start), and a DASH player would wait at a live edge that does
 * not exist yet (dash.js never started). */
static void reanchor(struct cs_track *t, const struct cs_seg *prev,
                     int64_t dts)
{
    int64_t end = prev->pdt_us + (int64_t)(prev->dur * 1e6);
    int64_t at = t->anchor_us + (int64_t)(secs(t, dts - t->anchor_ts) * 1e6);

    if (!t->restarted) {
        t->anchor_us = FFMAX(end, cs_wall_us());
        t->anchor_ts = dts;
    } else if (at < end) {
        t->anchor_us += end - at;
    }
}

/* A capture time further than this from the arrival time is not this
 * run's (a recording replayed, an emitter's clock gone wrong): ignored. */
#define MAX_CAPTURE_LAG_US (60 * INT64_C(1000000))

/* The capture time of the video keyframe PKT, arrived at ARRIVAL_US (on
 * the packager's wall clock), sets the offset every track's segments take
 * from here; a discontinuity (a new source) clears it. */
static void learn_captime(struct cs_cutter *c, const AVPacket *pkt,
                          int64_t arrival_us, int disc)
{
    int64_t cap;

    if (disc) {
        c->clock_off_us = 0;
        c->captured = 0;
    }
    if (cs_captime_find(pkt->data, (size_t)pkt->size, &cap) < 0 ||
        llabs(cap - arrival_us) > MAX_CAPTURE_LAG_US)
        return;
    c->clock_off_us = cap - arrival_us;
    c->captured = 1;
}

/* The playlists' clock of the segment T->cur opened by PKT (its pdt_us
 * set), after PREV (or NULL). */
static void set_clock(struct cs_cutter *c, struct cs_track *t,
                      const AVPacket *pkt, const struct cs_seg *prev,
                      int disc)
{
    struct cs_seg *s = &t->cur;

    if (!t->audio)
        learn_captime(c, pkt, s->pdt_us, disc);
    s->clock_us = s->pdt_us + c->clock_off_us;
    s->captured = c->captured;
    /* The tag is written again after a discontinuity or a gap: never back
     * from the last (an offset that changed there). */
    if (prev && prev->clock_us && (disc || prev->gap) &&
        s->clock_us < prev->clock_us + (int64_t)(prev->dur * 1e6))
        s->clock_us = prev->clock_us + (int64_t)(prev->dur * 1e6);
}

static int start_segment(struct cs_cutter *c, struct cs_track *t,
                         const AVPacket *pkt, int64_t dts, int disc)
{
    struct cs_seg *s = &t->cur;
    const struct cs_seg *prev = t->nsegs ? &t->segs[t->nsegs - 1] : NULL;
    int first = !t->mux;        /* the track's first segment */
    int64_t step;
    int ret;

    memset(s, 0, sizeof(*s));
    if (!t->mux || disc) {
        if (t->mux)
            t->init_gen++;
        ret = open_mux(c, t, pkt);
        if (ret < 0)
            return ret;
    } else if (c->ts) {
        ret = open_mux(c, t, pkt);       /* PAT and PMT lead every segment */
        if (ret < 0)
            return ret;
    }
    if (disc && prev)
        reanchor(t, prev, dts);
    /* A Period starts with the track or at a discontinuity, and its start
     * never moves once published. */
    if (disc || first) {
        t->pstart_us = t->anchor_us + (int64_t)(secs(t, dts - t->anchor_ts)
                                                * 1e6);
        t->pto = av_rescale_q(dts, t->tb, t->mtb);
    }
    if (disc)
        t->dseq++;
    t->restarted = 0;
    s->seq = t->next_seq++;
    s->disc = disc;
    s->dseq = t->dseq;
    s->init = t->init_gen;
    s->width = t->width;
    s->height = t->height;
    s->pdt_us = t->anchor_us + (int64_t)(secs(t, dts - t->anchor_ts) * 1e6);
    set_clock(c, t, pkt, prev, disc);
    s->pstart_us = t->pstart_us;
    s->pto = t->pto;
    s->t = -1;
    /* Boundaries on a fixed grid, so that audio (whose frames do not
     * divide the segment) does not drift from video. */
    step = (int64_t)(c->segment / av_q2d(t->tb) + 0.5);
    if (disc || !t->goal || llabs(dts - t->goal) > step / 2)
        t->goal = dts;
    t->goal += step;
    t->seg_start = t->part_start = dts;
    t->seg.len = 0;
    t->part_pkts = 0;
    t->open = 1;
    return 0;
}

/* Report the init segment once per generation, before its first media. */
static int init_ready(struct cs_cutter *c, struct cs_track *t)
{
    size_t len;
    const uint8_t *init = cs_memmux_init(t->mux, &len);
    int ret;

    if (!init || t->init_put)
        return 0;
    ret = c->sink.init_ready(c->sink.opaque, t, init, len);
    if (ret >= 0)
        t->init_put = 1;
    return ret;
}

/* Close the current fragment at END (the next frame's dts); a published
 * one is reported as part of the open segment. */
static int end_part(struct cs_cutter *c, struct cs_track *t, int64_t end,
                    int publish)
{
    struct cs_seg *s = &t->cur;
    uint8_t *data = NULL;
    size_t len = 0;
    int ret;

    if (!t->part_pkts)
        return 0;
    ret = cs_memmux_cut(t->mux, &data, &len);
    if (ret >= 0)
        ret = init_ready(c, t);
    if (ret < 0)
        goto out;
    if (s->t < 0 && !c->ts)
        s->t = cs_fmp4_tfdt(data, len);
    if (publish && s->nparts < CS_MAX_PARTS) {
        s->parts[s->nparts].dur = secs(t, end - t->part_start);
        s->parts[s->nparts].indep = t->part_key;
        s->nparts++;
        ret = c->sink.part_done(c->sink.opaque, t, s->nparts - 1, data,
                                len);
        if (ret < 0)
            goto out;
    }
    ret = cs_buf_append(&t->seg, data, len);
    t->part_start = end;
    t->part_pkts = 0;
out:
    free(data);
    return ret;
}

/* MPEG-TS: write the waiting audio from before UNTIL (time base of T;
 * AV_NOPTS_VALUE: all of it) into the open segment, so that each segment
 * holds the audio of its own time span. */
static int aux_flush(struct cs_track *t, AVRational atb, int64_t until)
{
    int n = 0, ret = 0;

    while (n < t->aux_n && ret >= 0) {
        const AVPacket *a = t->aux_q[n];
        int64_t ts = a->dts != AV_NOPTS_VALUE ? a->dts : a->pts;

        if (until != AV_NOPTS_VALUE && ts != AV_NOPTS_VALUE &&
            av_compare_ts(ts, atb, until, t->tb) >= 0)
            break;
        if (t->mux)
            ret = cs_memmux_write(t->mux, 1, a);
        av_packet_free(&t->aux_q[n]);
        n++;
    }
    memmove(t->aux_q, t->aux_q + n, (t->aux_n - n) * sizeof(*t->aux_q));
    t->aux_n -= n;
    return ret;
}

static AVRational aux_tb(const struct cs_cutter *c, const struct cs_track *t)
{
    return t->aux_idx >= 0 ? c->in->streams[t->aux_idx]->time_base :
                             t->tb;
}

static int end_segment(struct cs_cutter *c, struct cs_track *t, int64_t end)
{
    struct cs_seg *s = &t->cur;
    int ret = aux_flush(t, aux_tb(c, t), end);

    if (ret >= 0)
        ret = end_part(c, t, end, c->ll && s->nparts < CS_MAX_PARTS - 1);
    if (ret < 0)
        return ret;
    s->dur = secs(t, end - t->seg_start);
    if (s->t < 0)
        s->t = av_rescale_q(t->seg_start, t->tb, t->mtb);
    s->d = av_rescale_q(end - t->seg_start, t->tb, t->mtb);
    s->bytes = (int64_t)t->seg.len;
    t->open = 0;
    return c->sink.segment_closed(c->sink.opaque, t, t->seg.data,
                                  t->seg.len);
}

/* Checks --segment against the input's keyframe interval once. */
static int check_gop(struct cs_cutter *c, struct cs_track *t, int64_t dts)
{
    double gop, n;

    if (t->first_key == AV_NOPTS_VALUE) {
        t->first_key = dts;
        return 0;
    }
    if (t->gop || dts <= t->first_key)
        return 0;
    t->gop = dts - t->first_key;
    gop = secs(t, t->gop);
    n = c->segment / gop;
    if (n < 0.99 || fabs(n - round(n)) > 0.02)
        return cs_err_set(c->err, CS_EUSAGE, "--segment %g is not a "
                          "multiple of the GOP of '%s' (%.3g s)",
                          c->segment, t->name, gop);
    return 0;
}

static int64_t pkt_dur(const struct cs_track *t, const AVPacket *pkt)
{
    if (pkt->duration > 0)
        return pkt->duration;
    return t->last_dur > 0 ? t->last_dur : 0;
}

/* A jump (or a discontinuity still waiting) at a video frame that is not
 * a keyframe, which cannot start a segment. A step forward (a pause): the
 * frame depends on the pictures before it, so it stays in the open segment,
 * whose duration then covers the pause, and the discontinuity comes with
 * the next keyframe. A step back cannot follow those pictures and returns
 * EAGAIN: the frame is dropped. */
static int hold_disc(struct cs_track *t, int64_t dts)
{
    if (dts < t->last_dts)
        return AVERROR(EAGAIN);
    t->pending_disc = 1;
    return 0;
}

/* End the open segment at a discontinuity (a jump, or a keyframe with a
 * new codec configuration) and start the next one. */
static int cut_at_disc(struct cs_cutter *c, struct cs_track *t,
                       const AVPacket *pkt, int64_t dts)
{
    int ret = 0;

    if (!t->audio && config_changed(t, pkt))
        ret = take_new_config(t, pkt);
    if (ret < 0)
        return ret;
    cs_info("'%s': discontinuity at %.3f s", t->name, secs(t, dts));
    ret = end_segment(c, t, jumped(c, t, dts) ?
                      t->last_dts + pkt_dur(t, pkt) : dts);
    t->pending_disc = 0;
    if (ret >= 0)
        ret = start_segment(c, t, pkt, dts, 1);
    return ret < 0 ? ret : CS_CUT_SEGMENT;
}

/* Where PKT falls: a new segment, a new part, or the open one. Returns an
 * enum cs_cut, AVERROR(EAGAIN) for a frame to drop, or a negative code. */
static int cut_if_due(struct cs_cutter *c, struct cs_track *t, AVPacket *pkt,
                      int64_t dts)
{
    double left = secs(t, t->goal - dts);
    double half = secs(t, pkt_dur(t, pkt)) / 2;
    int key = pkt->flags & AV_PKT_FLAG_KEY, disc, ret;

    disc = jumped(c, t, dts) ||
           (!t->audio && key && config_changed(t, pkt));
    if ((disc || t->pending_disc) && !t->audio && !key) {
        ret = hold_disc(t, dts);
        if (ret < 0)
            return ret;
    } else if (disc || t->pending_disc) {
        return cut_at_disc(c, t, pkt, dts);
    }
    if (!t->audio && key) {
        ret = check_gop(c, t, dts);
        if (ret < 0)
            return ret;
    }
    if ((t->audio || key) && left <= half + 1e-3) {
        ret = end_segment(c, t, dts);
        if (ret >= 0)
            ret = start_segment(c, t, pkt, dts, 0);
        return ret < 0 ? ret : CS_CUT_SEGMENT;
    }
    if (c->ll && t->part_pkts &&
        secs(t, dts + pkt_dur(t, pkt) - t->part_start) >
        c->part + 1e-4) {
        ret = end_part(c, t, dts, 1);
        return ret < 0 ? ret : CS_CUT_PART;
    }
    return CS_CUT_NONE;
}

/* A video frame that cannot be packaged: said once a stretch, counted. */
static int drop(struct cs_cutter *c, struct cs_track *t, int64_t dts,
                const char *why)
{
    c->dropped++;
    if (!t->dropping)
        cs_warn("'%s': dropping frames from %.3f s until a keyframe: %s",
                t->name, secs(t, dts), why);
    t->dropping = 1;
    return 0;
}

/* Start T's first segment (or the first after a stop) with PKT. */
static int start_first(struct cs_cutter *c, struct cs_track *t,
                       const AVPacket *pkt, int64_t dts)
{
    int ret = start_segment(c, t, pkt, dts, t->pending_disc);

    t->pending_disc = 0;
    if (ret >= 0 && !t->audio)
        ret = check_gop(c, t, dts);
    return ret;
}

/* Keep what the next packet's cut needs to know about PKT. */
static void note_packet(struct cs_track *t, const AVPacket *pkt,
                        int64_t dts)
{
    if (!t->part_pkts)
        t->part_key = t->audio || (pkt->flags & AV_PKT_FLAG_KEY);
    if (pkt->duration > 0)
        t->last_dur = pkt->duration;
    else if (t->last_dts != AV_NOPTS_VALUE && dts > t->last_dts)
        t->last_dur = dts - t->last_dts;
    t->last_dts = dts;
    t->part_pkts++;
}

int cs_track_packet(struct cs_cutter *c, struct cs_track *t, AVPacket *pkt)
{
    int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    int cut = CS_CUT_NONE, ret;

    if (dts == AV_NOPTS_VALUE)
        dts = t->last_dts + t->last_dur;
    if (!c->ts && dts < 0)      /* tfdt cannot say it */
        return drop(c, t, dts, "negative decode time");
    if (!t->open) {
        if (!t->audio && !(pkt->flags & AV_PKT_FLAG_KEY))
            return drop(c, t, dts, "a segment starts with one");
        ret = start_first(c, t, pkt, dts);
    } else {
        ret = cut = cut_if_due(c, t, pkt, dts);
        if (ret == AVERROR(EAGAIN))
            return drop(c, t, dts, "time went back");
    }
    if (ret >= 0) {
        t->dropping = 0;
        ret = aux_flush(t, aux_tb(c, t), dts);
    }
    if (ret >= 0) {
        note_packet(t, pkt, dts);
        ret = cs_memmux_write(t->mux, 0, pkt);
    }
    /* A part the next frame would take past the target (if it is as long
     * as this one) ends now, not when that frame comes: a frame less of
     * latency on every part. Where the guess is wrong (a frame missing),
     * the next part starts where this one ends, as a cut on arrival did. */
    if (ret >= 0 && cut == CS_CUT_NONE && c->ll && pkt_dur(t, pkt) > 0 &&
        secs(t, dts + 2 * pkt_dur(t, pkt) - t->part_start) > c->part + 1e-4) {
        ret = end_part(c, t, dts + pkt_dur(t, pkt), 1);
        cut = CS_CUT_PART;
    }
    /* The first cause recorded (the sink's, the GOP check's) stays. */
    if (ret < 0)
        return cs_err_code(c->err, ret, "cannot package '%s'", t->name);
    return cut;
}

int cs_track_aux(struct cs_cutter *c, struct cs_track *t, AVPacket *pkt)
{
    int ret = 0;

    if (t->aux_n == CS_AUX_QUEUE) {
        /* The video stalls: the oldest audio goes where it is, or, before
         * the first segment, nowhere. */
        if (t->mux)
            ret = cs_memmux_write(t->mux, 1, t->aux_q[0]);
        else
            c->dropped++;
        av_packet_free(&t->aux_q[0]);
        memmove(t->aux_q, t->aux_q + 1, --t->aux_n * sizeof(*t->aux_q));
    }
    if (ret >= 0) {
        t->aux_q[t->aux_n] = av_packet_clone(pkt);
        ret = t->aux_q[t->aux_n] ? 0 : AVERROR(ENOMEM);
    }
    if (ret < 0)
        return cs_err_code(c->err, ret, "cannot package '%s'", t->name);
    t->aux_n++;
    return 0;
}

int cs_track_finish(struct cs_cutter *c, struct cs_track *t)
{
    int ret;

    if (!t->open)
        return 0;
    ret = aux_flush(t, aux_tb(c, t), AV_NOPTS_VALUE);
    if (ret >= 0)
        ret = end_segment(c, t, t->last_dts + t->last_dur);
    if (ret < 0)
        return cs_err_code(c->err, ret, "cannot package '%s'", t->name);
    return 0;
}

void cs_track_release(struct cs_track *t)
{
    while (t->aux_n)
        av_packet_free(&t->aux_q[--t->aux_n]);
    cs_memmux_free(&t->mux);
    avcodec_parameters_free(&t->par);
    free(t->segs);
    free(t->seg.data);
}
