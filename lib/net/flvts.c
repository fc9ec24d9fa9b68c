/* flvts.c: FLV tags to MPEG-TS through libavformat's muxer (see flvts.h).
 * The muxer starts once the codec configurations the publisher announced
 * have come (or a second of media has); packets before that wait, within
 * a bound. */
#include "net/flvts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/mem.h>

#include "err.h"

#define PENDING 256             /* packets held before the muxer starts */
#define MAX_OUT (16 << 20)      /* TS bytes not yet taken */
#define V 0
#define A 1

struct cs_flvts {
    AVFormatContext *oc;
    int started, finished, keyed;
    uint8_t *cfg[2];            /* AVCDecoderConfigurationRecord, ASC */
    int cfg_len[2];
    int expect[2], seen[2], announced;
    int idx[2];                 /* output stream, -1: none */
    int64_t last_dts[2];
    int64_t first_ts;
    AVPacket *pend[PENDING];    /* stream_index: V or A */
    int npend;
    uint8_t *out;
    size_t len, cap, off;
    int64_t packets, bytes;
};

static int out_write(void *opaque, uint8_t *buf, int size)
{
    struct cs_flvts *f = opaque;

    if (f->len + (size_t)size > f->cap) {
        size_t cap = f->cap ? f->cap : 65536;
        uint8_t *p;

        while (cap < f->len + (size_t)size)
            cap *= 2;
        if (cap > MAX_OUT)
            return AVERROR(ENOBUFS);
        p = av_realloc(f->out, cap);
        if (!p)
            return AVERROR(ENOMEM);
        f->out = p;
        f->cap = cap;
    }
    memcpy(f->out + f->len, buf, (size_t)size);
    f->len += (size_t)size;
    return size;
}

int cs_flvts_open(struct cs_flvts **out)
{
    struct cs_flvts *f = av_mallocz(sizeof(*f));

    *out = f;
    if (!f)
        return AVERROR(ENOMEM);
    f->idx[V] = f->idx[A] = -1;
    f->last_dts[V] = f->last_dts[A] = INT64_MIN;
    f->first_ts = -1;
    return 0;
}

void cs_flvts_expect(struct cs_flvts *f, int video, int audio)
{
    f->expect[V] = video;
    f->expect[A] = audio;
    f->announced = 1;
}

static int add_stream(struct cs_flvts *f, int which)
{
    static const int rates[] = { 96000, 88200, 64000, 48000, 44100, 32000,
                                 24000, 22050, 16000, 12000, 11025, 8000,
                                 7350 };
    AVStream *st = avformat_new_stream(f->oc, NULL);
    AVCodecParameters *par;
    const uint8_t *c = f->cfg[which];

    if (!st)
        return AVERROR(ENOMEM);
    par = st->codecpar;
    par->extradata = av_mallocz((size_t)f->cfg_len[which] +
                                AV_INPUT_BUFFER_PADDING_SIZE);
    if (!par->extradata)
        return AVERROR(ENOMEM);
    memcpy(par->extradata, c, (size_t)f->cfg_len[which]);
    par->extradata_size = f->cfg_len[which];
    st->time_base = (AVRational){ 1, 1000 };
    f->idx[which] = st->index;
    if (which == V) {
        par->codec_type = AVMEDIA_TYPE_VIDEO;
        par->codec_id = AV_CODEC_ID_H264;
        return 0;
    }
    par->codec_type = AVMEDIA_TYPE_AUDIO;
    par->codec_id = AV_CODEC_ID_AAC;
    if ((((c[0] & 7) << 1) | c[1] >> 7) < 13)
        par->sample_rate = rates[((c[0] & 7) << 1) | c[1] >> 7];
    av_channel_layout_default(&par->ch_layout, (c[1] >> 3) & 15);
    return 0;
}

static int start(struct cs_flvts *f)
{
    AVDictionary *o = NULL;
    uint8_t *buf;
    int ret;

    ret = avformat_alloc_output_context2(&f->oc, NULL, "mpegts", NULL);
    if (ret < 0)
        return ret;
    for (int i = V; i <= A && ret >= 0; i++)
        if (f->cfg[i])
            ret = add_stream(f, i);
    buf = av_malloc(32768);
    if (ret < 0 || !buf) {
        av_free(buf);
        return ret < 0 ? ret : AVERROR(ENOMEM);
    }
    f->oc->pb = avio_alloc_context(buf, 32768, 1, f, NULL, out_write, NULL);
    if (!f->oc->pb) {
        av_free(buf);
        return AVERROR(ENOMEM);
    }
    f->oc->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
    ret = avformat_write_header(f->oc, &o);
    av_dict_free(&o);
    if (ret < 0)
        return CS_EDATA;
    f->started = 1;
    return 0;
}

/* Mux one packet (taken over: it is freed here). */
static int mux(struct cs_flvts *f, AVPacket *pkt)
{
    int which = pkt->stream_index, ret = 0;
    AVStream *st;

    if (f->idx[which] < 0 ||
        (which == V && !f->keyed && !(pkt->flags & AV_PKT_FLAG_KEY)) ||
        pkt->dts <= f->last_dts[which])
        goto out;               /* before the first keyframe, or late */
    f->keyed |= which == V;
    f->last_dts[which] = pkt->dts;
    st = f->oc->streams[f->idx[which]];
    pkt->stream_index = st->index;
    av_packet_rescale_ts(pkt, (AVRational){ 1, 1000 }, st->time_base);
    f->packets++;
    f->bytes += pkt->size;
    ret = av_interleaved_write_frame(f->oc, pkt);
out:
    av_packet_free(&pkt);
    return ret == AVERROR(ENOBUFS) || ret == AVERROR(ENOMEM) ? ret :
           ret < 0 ? CS_EDATA : 0;
}

static int ready(const struct cs_flvts *f, int64_t ts)
{
    int ok = f->cfg[V] || f->cfg[A];

    for (int i = V; i <= A; i++) {
        int want = f->announced ? f->expect[i] : f->seen[i];

        if (want && !f->cfg[i])
            ok = 0;
    }
    return ok || ((f->cfg[V] || f->cfg[A]) &&
                  (ts - f->first_ts >= 1000 || f->npend == PENDING));
}

static int queue(struct cs_flvts *f, AVPacket *pkt)
{
    int ret = 0;

    if (!f->started && f->npend < PENDING) {
        f->pend[f->npend++] = pkt;
        if (!ready(f, pkt->dts))
            return 0;
        ret = start(f);
        for (int i = 0; i < f->npend; i++) {
            if (ret >= 0)
                ret = mux(f, f->pend[i]);
            else
                av_packet_free(&f->pend[i]);
        }
        f->npend = 0;
        return ret;
    }
    if (!f->started) {
        av_packet_free(&pkt);
        return 0;
    }
    return mux(f, pkt);
}

static int bad(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
    return CS_EDATA;
}

static int keep_cfg(struct cs_flvts *f, int which, const uint8_t *d,
                    size_t n)
{
    if (f->cfg[which])
        return 0;               /* the muxer keeps the first one */
    f->cfg[which] = av_memdup(d, n);
    if (!f->cfg[which])
        return AVERROR(ENOMEM);
    f->cfg_len[which] = (int)n;
    return 0;
}

/* The tag's header: codec, frame kind, packet type, composition time. */
static int parse_tag(int type, const uint8_t *d, size_t n, AVPacket *pkt,
                     int *config, char *why, size_t size)
{
    int head = type == 9 ? 5 : 2;

    if (n < 1)
        return bad(why, size, "empty tag");
    if (type == 9 && (d[0] & 0x80))
        return bad(why, size, "enhanced RTMP video (%d) is not supported",
                   d[0] & 15);
    if (type == 9 && (d[0] & 15) != 7)
        return bad(why, size, "video codec %d is not H.264", d[0] & 15);
    if (type == 8 && (d[0] >> 4) != 10)
        return bad(why, size, "audio codec %d is not AAC", d[0] >> 4);
    if (n < (size_t)head)
        return bad(why, size, "short tag of %d bytes", (int)n);
    *config = d[1] == 0;
    if (type == 9 && d[1] == 1) {
        int32_t cts = (int32_t)((uint32_t)d[2] << 24 | (uint32_t)d[3] << 16 |
                                (uint32_t)d[4] << 8) >> 8;

        pkt->pts = pkt->dts + (cts > 0 ? cts : 0);
        if ((d[0] >> 4) == 1)
            pkt->flags |= AV_PKT_FLAG_KEY;
    } else if (type == 9 && d[1] != 2 && !*config) {
        return bad(why, size, "AVC packet type %d", d[1]);
    } else if (type == 9) {
        pkt->size = -1;         /* end of sequence: nothing to mux */
    }
    return head;
}

int cs_flvts_tag(struct cs_flvts *f, int type, uint32_t ts,
                 const uint8_t *d, size_t n, char *why, size_t size)
{
    int which = type == 9 ? V : A, config = 0, head, ret;
    AVPacket *pkt = av_packet_alloc();

    if (!pkt)
        return AVERROR(ENOMEM);
    pkt->dts = pkt->pts = ts;
    pkt->stream_index = which;
    head = parse_tag(type, d, n, pkt, &config, why, size);
    if (head < 0 || config || pkt->size < 0 || n == (size_t)head) {
        av_packet_free(&pkt);
        if (head >= 0 && config && n > (size_t)head &&
            (n - (size_t)head < (size_t)(7 - 5 * which) ||
             (which == V && d[head] != 1)))
            return bad(why, size, "malformed %s configuration",
                       which == V ? "H.264" : "AAC");
        if (head < 0 || !config || n == (size_t)head)
            return head < 0 ? head : 0;     /* an empty one: wait */
        return keep_cfg(f, which, d + head, n - (size_t)head);
    }
    if (!f->started && f->npend == PENDING) {
        av_packet_free(&pkt);
        return bad(why, size, "no codec configuration in %d packets",
                   PENDING);
    }
    f->seen[which] = 1;
    if (f->first_ts < 0)
        f->first_ts = ts;
    ret = av_buffer_realloc(&pkt->buf, (size_t)(n - (size_t)head) +
                            AV_INPUT_BUFFER_PADDING_SIZE);
    if (ret < 0) {
        av_packet_free(&pkt);
        return ret;
    }
    pkt->data = pkt->buf->data;
    pkt->size = (int)(n - (size_t)head);
    memcpy(pkt->data, d + head, n - (size_t)head);
    memset(pkt->data + pkt->size, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    ret = queue(f, pkt);
    if (ret == CS_EDATA)
        bad(why, size, "malformed %s packet", which == V ? "H.264" : "AAC");
    return ret;
}

size_t cs_flvts_ready(const struct cs_flvts *f)
{
    return f->len - f->off;
}

size_t cs_flvts_take(struct cs_flvts *f, uint8_t *buf, size_t size)
{
    size_t k = f->len - f->off < size ? f->len - f->off : size;

    memcpy(buf, f->out + f->off, k);
    f->off += k;
    if (f->off == f->len)
        f->off = f->len = 0;
    return k;
}

void cs_flvts_counts(const struct cs_flvts *f, int64_t *packets,
                     int64_t *bytes)
{
    *packets = f->packets;
    *bytes = f->bytes;
}

void cs_flvts_finish(struct cs_flvts *f)
{
    if (f && f->started && !f->finished) {
        av_write_trailer(f->oc);
        f->finished = 1;
    }
}

void cs_flvts_free(struct cs_flvts **pf)
{
    struct cs_flvts *f = *pf;

    if (!f)
        return;
    for (int i = 0; i < f->npend; i++)
        av_packet_free(&f->pend[i]);
    if (f->oc && f->oc->pb) {
        av_freep(&f->oc->pb->buffer);
        avio_context_free(&f->oc->pb);
    }
    avformat_free_context(f->oc);
    for (int i = V; i <= A; i++)
        av_free(f->cfg[i]);
    av_free(f->out);
    av_freep(pf);
}
