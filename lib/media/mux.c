#include "media/mux.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/opt.h>

#include "err.h"
#include "fsutil.h"
#include "sig.h"

struct cs_mux {
    AVFormatContext *fmt;
    char *path;      /* final name (files only) */
    char *tmp;       /* name being written (files only): cs_write_name */
    int started;
    int live;        /* a pipe: each packet on at once */
    int ts;          /* MPEG-TS */
    int64_t lead_us; /* MPEG-TS: the streams' largest stream_lead() */
    int64_t shift_us;/* added to every time: set at the first packet */
};

static int is_url(const char *path)
{
    return strstr(path, "://") != NULL || !strncmp(path, "pipe:", 5);
}

int cs_mux_open(struct cs_mux **out, const char *path, const char *format)
{
    struct cs_mux *m;
    char tmp[4096];
    int ret;

    *out = NULL;
    m = av_mallocz(sizeof(*m));
    if (!m)
        return AVERROR(ENOMEM);
    ret = avformat_alloc_output_context2(&m->fmt, NULL, format,
                                         strcmp(path, "-") ? path : NULL);
    if (ret < 0 || !m->fmt) {
        ret = ret < 0 && ret != AVERROR(EINVAL) ? ret : CS_EUSAGE;
        goto fail;
    }
    /* MPEG-TS: a picture's PES says its length (when it fits in 16 bits),
     * so a reader knows it has the whole picture at its last packet, not
     * when the next PES begins (up to a frame later). */
    m->ts = !strcmp(m->fmt->oformat->name, "mpegts");
    m->shift_us = AV_NOPTS_VALUE;
    if (m->ts)
        av_opt_set_int(m->fmt->priv_data, "omit_video_pes_length", 0, 0);
    if (!strcmp(path, "-")) {
        ret = avio_open(&m->fmt->pb, "pipe:1", AVIO_FLAG_WRITE);
        /* Live pipes: hand each packet on at once. */
        m->fmt->flags |= AVFMT_FLAG_FLUSH_PACKETS;
        m->live = 1;
        /* Interleaving by decode time held each picture until a packet of
         * every other stream came with a later time: the sound, which an
         * encoder (AAC: 1024 samples) and our own writer hand on a frame
         * or two after the picture of the same time, 40 to 80 ms. MPEG-TS
         * needs no interleaving (cs_mux_write); other formats (NUT)
         * interleave only as far as the packets already there allow. */
        m->fmt->max_interleave_delta = 1;
    } else if (is_url(path)) {
        ret = avio_open2(&m->fmt->pb, path, AVIO_FLAG_WRITE,
                         &m->fmt->interrupt_callback, NULL);
    } else {
        ret = cs_write_name(tmp, sizeof(tmp), path);
        if (ret >= 0) {
            m->path = av_strdup(path);
            m->tmp = av_strdup(tmp);
            ret = m->path && m->tmp ? 0 : AVERROR(ENOMEM);
        }
        if (ret >= 0)
            ret = avio_open(&m->fmt->pb, m->tmp, AVIO_FLAG_WRITE);
    }
    if (ret < 0)
        goto fail;
    *out = m;
    return 0;
fail:
    cs_mux_abort(&m);
    return ret;
}

/* How far before zero ENC's first times can be: AAC priming and Opus
 * pre-skip (initial_padding), and a B-frame encoder's decode delay (its
 * first decode times come that many pictures before the first picture's).
 * MPEG-TS times are unsigned: a reader takes a time just below zero for
 * one 26.5 hours on, and a player given both finds nothing to play. So
 * when the first packet comes less than the largest lead after zero,
 * every time in the TS is moved on by the difference, as ffmpeg's
 * avoid_negative_ts does for packets it has put in order (a live TS goes
 * out in the order written). Input that starts later keeps its times. */
static int64_t stream_lead(const AVCodecContext *enc)
{
    int64_t lead = 0;
    int frames = FFMAX(enc->has_b_frames, enc->max_b_frames);

    if (enc->codec_type == AVMEDIA_TYPE_AUDIO && enc->initial_padding > 0 &&
        enc->sample_rate > 0)
        lead = av_rescale(enc->initial_padding, AV_TIME_BASE, enc->sample_rate);
    if (enc->codec_type == AVMEDIA_TYPE_VIDEO && frames > 0 &&
        enc->framerate.num > 0 && enc->framerate.den > 0)
        lead = av_rescale(frames, (int64_t)AV_TIME_BASE * enc->framerate.den,
                          enc->framerate.num);
    return lead;
}

int cs_mux_add_stream(struct cs_mux *m, const AVCodecContext *enc)
{
    AVStream *st = avformat_new_stream(m->fmt, NULL);
    int ret;

    if (!st)
        return AVERROR(ENOMEM);
    ret = avcodec_parameters_from_context(st->codecpar, enc);
    if (ret < 0)
        return ret;
    st->time_base = enc->time_base;
    st->avg_frame_rate = enc->framerate;
    if (m->ts)
        m->lead_us = FFMAX(m->lead_us, stream_lead(enc));
    return st->index;
}

AVFormatContext *cs_mux_ctx(struct cs_mux *m)
{
    return m->fmt;
}

int cs_mux_start(struct cs_mux *m, AVDictionary **opts)
{
    int ret = avformat_write_header(m->fmt, opts);

    if (ret >= 0)
        m->started = 1;
    return ret < 0 ? ret : 0;
}

int cs_mux_write(struct cs_mux *m, int index, AVPacket *pkt, AVRational src_tb)
{
    AVRational tb = m->fmt->streams[index]->time_base;
    int ret;

    pkt->stream_index = index;
    av_packet_rescale_ts(pkt, src_tb, tb);
    if (m->lead_us && m->shift_us == AV_NOPTS_VALUE) {
        int64_t t = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;

        if (t != AV_NOPTS_VALUE)
            m->shift_us = FFMAX(0, m->lead_us -
                                av_rescale_q(t, tb, AV_TIME_BASE_Q));
    }
    if (m->shift_us > 0) {
        int64_t d = av_rescale_q_rnd(m->shift_us, AV_TIME_BASE_Q, tb,
                                     AV_ROUND_UP);

        if (pkt->pts != AV_NOPTS_VALUE)
            pkt->pts += d;
        if (pkt->dts != AV_NOPTS_VALUE)
            pkt->dts += d;
    }
    if (!m->live || !m->ts)
        return av_interleaved_write_frame(m->fmt, pkt);
    ret = av_write_frame(m->fmt, pkt);
    av_packet_unref(pkt);
    return ret;
}

int64_t cs_mux_bytes(const struct cs_mux *m)
{
    return m->fmt && m->fmt->pb ? avio_tell(m->fmt->pb) : 0;
}

int cs_mux_finish(struct cs_mux **pm)
{
    struct cs_mux *m = *pm;
    int ret = 0;

    if (!m)
        return 0;
    if (m->started)
        ret = av_write_trailer(m->fmt);
    if (m->fmt->pb) {
        int r = avio_closep(&m->fmt->pb);

        if (ret >= 0)
            ret = r;
    }
    if (ret >= 0 && m->tmp)
        ret = cs_write_done(m->tmp, m->path, 1);
    if (ret < 0) {
        cs_mux_abort(pm);
        return ret;
    }
    avformat_free_context(m->fmt);
    av_free(m->path);
    av_free(m->tmp);
    av_freep(pm);
    return 0;
}

void cs_mux_abort(struct cs_mux **pm)
{
    struct cs_mux *m = *pm;

    if (!m)
        return;
    if (m->fmt) {
        if (m->fmt->pb)
            avio_closep(&m->fmt->pb);
        avformat_free_context(m->fmt);
    }
    if (m->tmp)
        cs_write_done(m->tmp, m->path, 0);
    av_free(m->path);
    av_free(m->tmp);
    av_freep(pm);
}
