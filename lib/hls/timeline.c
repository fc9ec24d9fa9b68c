/* hls/timeline.c: one non-negative decode timeline for every track.
 *
 * An fMP4 fragment's baseMediaDecodeTime (tfdt) is unsigned, but inputs
 * start below zero: Opus pre-skip and AAC priming give the first audio
 * packets negative times, and B-frames put video decode times before the
 * first picture's presentation time. The whole input is moved by one
 * shift, decided before the first packet from what the demuxer probed, so
 * every track, playlist time and MPD time moves together. Matroska leaves
 * the decode time of the first B-frame-delayed packets unset; it is filled
 * here, before anything else reads it.
 */
#include <stdlib.h>

#include <libavutil/mathematics.h>

#include "hls/internal.h"

/* The earliest decode time stream ST can have, in AV_TIME_BASE, or
 * INT64_MAX when the demuxer did not find its start. */
static int64_t earliest(const AVStream *st)
{
    const AVCodecParameters *par = st->codecpar;
    int64_t t;

    if (st->start_time == AV_NOPTS_VALUE)
        return INT64_MAX;
    t = av_rescale_q(st->start_time, st->time_base, AV_TIME_BASE_Q);
    if (par->codec_type == AVMEDIA_TYPE_VIDEO && par->video_delay > 0 &&
        st->avg_frame_rate.num > 0)
        t -= av_rescale_q(par->video_delay, av_inv_q(st->avg_frame_rate),
                          AV_TIME_BASE_Q);
    return t;
}

int cs_pkg_timeline_init(struct cs_pkg *p)
{
    int64_t low = 0;

    p->in_dts = calloc(p->in->nb_streams, sizeof(*p->in_dts));
    if (!p->in_dts)
        return AVERROR(ENOMEM);
    p->nin = (int)p->in->nb_streams;
    for (int i = 0; i < p->nin; i++)
        p->in_dts[i] = AV_NOPTS_VALUE;
    for (int i = 0; i < p->ntracks; i++) {
        const struct cs_track *t = &p->tracks[i];

        low = FFMIN(low, earliest(p->in->streams[t->in_idx]));
        if (t->aux_idx >= 0)
            low = FFMIN(low, earliest(p->in->streams[t->aux_idx]));
    }
    p->shift = -low;
    return 0;
}

/* A packet without a decode time: the one after the stream's last (the
 * packets that lack it are the first ones, or follow a damaged one); the
 * first of a stream with B-frames comes video_delay frames before its
 * presentation time. */
static int64_t guess_dts(const AVStream *st, const AVPacket *pkt,
                         int64_t last)
{
    int64_t dur = pkt->duration, dts;

    if (dur <= 0 && st->avg_frame_rate.num > 0)
        dur = av_rescale_q(1, av_inv_q(st->avg_frame_rate), st->time_base);
    if (last != AV_NOPTS_VALUE)
        dts = last + FFMAX(dur, 1);
    else if (pkt->pts != AV_NOPTS_VALUE)
        dts = pkt->pts - st->codecpar->video_delay * FFMAX(dur, 0);
    else
        return AV_NOPTS_VALUE;
    if (pkt->pts != AV_NOPTS_VALUE)
        dts = FFMIN(dts, pkt->pts);
    return dts;
}

void cs_pkg_timeline_fix(struct cs_pkg *p, AVPacket *pkt)
{
    int idx = pkt->stream_index;
    const AVStream *st = p->in->streams[idx];
    int64_t off;

    if (idx >= p->nin)
        return;                 /* a stream that appeared later: no track */
    if (pkt->dts == AV_NOPTS_VALUE)
        pkt->dts = guess_dts(st, pkt, p->in_dts[idx]);
    if (pkt->dts != AV_NOPTS_VALUE)
        p->in_dts[idx] = pkt->dts;
    if (!p->shift)
        return;
    off = av_rescale_q_rnd(p->shift, AV_TIME_BASE_Q, st->time_base,
                           AV_ROUND_UP);
    if (pkt->pts != AV_NOPTS_VALUE)
        pkt->pts += off;
    if (pkt->dts != AV_NOPTS_VALUE)
        pkt->dts += off;
}
