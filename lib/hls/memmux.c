#include "hls/memmux.h"

#include <stdlib.h>
#include <string.h>
#include <libavcodec/bsf.h>
#include <libavutil/opt.h>

#include "err.h"

struct cs_memmux {
    AVFormatContext *fc;
    AVRational in_tb[8];
    int fmp4;
    struct cs_buf out;      /* bytes since the last cut */
    uint8_t *init;
    size_t init_len;
    AVPacket *pkt;
    AVBSFContext *bsf[8];       /* ADTS to raw AAC for mp4 */
};

int cs_buf_append(struct cs_buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        uint8_t *nb = realloc(b->data, cap);

        if (!nb)
            return AVERROR(ENOMEM);
        b->data = nb;
        b->cap = cap;
    }
    memcpy(b->data + b->len, d, n);
    b->len += n;
    return 0;
}

static int on_write(void *opaque, uint8_t *p, int n)
{
    struct cs_memmux *m = opaque;
    int ret = cs_buf_append(&m->out, p, (size_t)n);

    return ret < 0 ? ret : n;
}

static uint32_t rb32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* Offset of the first top-level box of TYPE (4 chars), or -1. */
static int64_t find_box(const uint8_t *p, size_t len, const char *type)
{
    size_t off = 0;

    while (off + 8 <= len) {
        uint32_t size = rb32(p + off);

        if (!memcmp(p + off + 4, type, 4))
            return (int64_t)off;
        if (size < 8)
            return -1;
        off += size;
    }
    return -1;
}

int64_t cs_fmp4_tfdt(const uint8_t *p, size_t len)
{
    int64_t moof = find_box(p, len, "moof"), traf, tfdt;
    uint32_t msize, tsize;

    if (moof < 0)
        return -1;
    msize = rb32(p + moof);
    traf = find_box(p + moof + 8, msize - 8, "traf");
    if (traf < 0)
        return -1;
    traf += moof + 8;
    tsize = rb32(p + traf);
    tfdt = find_box(p + traf + 8, tsize - 8, "tfdt");
    if (tfdt < 0)
        return -1;
    tfdt += traf + 8;
    if (p[tfdt + 8] == 1) {
        uint64_t v = (uint64_t)rb32(p + tfdt + 12) << 32 |
                     rb32(p + tfdt + 16);

        return v > INT64_MAX ? -1 : (int64_t)v;
    }
    return rb32(p + tfdt + 12);
}

static int add_streams(struct cs_memmux *m, AVCodecParameters *const *pars,
                       const AVRational *tbs, int n)
{
    for (int i = 0; i < n; i++) {
        AVStream *st = avformat_new_stream(m->fc, NULL);
        int ret;

        if (!st)
            return AVERROR(ENOMEM);
        ret = avcodec_parameters_copy(st->codecpar, pars[i]);
        if (ret < 0)
            return ret;
        st->codecpar->codec_tag = 0;
        st->time_base = tbs[i];
        m->in_tb[i] = tbs[i];
        if (m->fmp4 && pars[i]->codec_id == AV_CODEC_ID_AAC) {
            const AVBitStreamFilter *f = av_bsf_get_by_name("aac_adtstoasc");

            ret = f ? av_bsf_alloc(f, &m->bsf[i]) : AVERROR_BSF_NOT_FOUND;
            if (ret < 0)
                return ret;
            avcodec_parameters_copy(m->bsf[i]->par_in, pars[i]);
            m->bsf[i]->time_base_in = tbs[i];
            ret = av_bsf_init(m->bsf[i]);
            if (ret < 0)
                return ret;
        }
    }
    return 0;
}

static int muxer_options(int fmp4, AVDictionary **opts)
{
    int ret;

    if (!fmp4)
        return av_dict_set(opts, "mpegts_flags", "+initial_discontinuity",
                           0);
    /* tfdt carries the input's own decode times (frag_discont with no edit
     * list), so every rendition and the audio share one timeline and the
     * MPD can use them as they are. */
    ret = av_dict_set(opts, "movflags", "cmaf+frag_custom+delay_moov+"
                      "default_base_moof+frag_discont+skip_trailer", 0);
    if (ret >= 0)
        ret = av_dict_set(opts, "use_editlist", "0", 0);
    return ret;
}

int cs_memmux_open(struct cs_memmux **out, const char *format,
                   AVCodecParameters *const *pars, const AVRational *tbs,
                   int n)
{
    struct cs_memmux *m = calloc(1, sizeof(*m));
    AVDictionary *opts = NULL;
    uint8_t *iobuf = NULL;
    int ret;

    *out = NULL;
    if (!m)
        return AVERROR(ENOMEM);
    if (n > 8) {
        ret = AVERROR(EINVAL);
        goto fail;
    }
    m->fmp4 = !strcmp(format, "mp4");
    m->pkt = av_packet_alloc();
    ret = avformat_alloc_output_context2(&m->fc, NULL, format, NULL);
    if (ret < 0 || !m->pkt)
        goto fail;
    iobuf = av_malloc(65536);
    m->fc->pb = avio_alloc_context(iobuf, 65536, 1, m, NULL, on_write, NULL);
    if (!iobuf || !m->fc->pb) {
        av_free(iobuf);
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    m->fc->pb->seekable = 0;
    m->fc->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
    ret = add_streams(m, pars, tbs, n);
    if (ret < 0)
        goto fail;
    ret = muxer_options(m->fmp4, &opts);
    if (ret >= 0)
        ret = avformat_write_header(m->fc, &opts);
    av_dict_free(&opts);
    if (ret < 0)
        goto fail;
    *out = m;
    return 0;
fail:
    cs_memmux_free(&m);
    return ret < 0 ? ret : AVERROR(ENOMEM);
}

int cs_memmux_write(struct cs_memmux *m, int idx, const AVPacket *pkt)
{
    AVStream *st = m->fc->streams[idx];
    int ret = av_packet_ref(m->pkt, pkt);

    if (ret < 0)
        return ret;
    if (m->bsf[idx]) {
        ret = av_bsf_send_packet(m->bsf[idx], m->pkt);
        if (ret >= 0)
            ret = av_bsf_receive_packet(m->bsf[idx], m->pkt);
        if (ret == AVERROR(EAGAIN))
            return 0;
        if (ret < 0)
            return ret;
    }
    m->pkt->stream_index = idx;
    av_packet_rescale_ts(m->pkt, m->in_tb[idx], st->time_base);
    m->pkt->pos = -1;
    ret = av_write_frame(m->fc, m->pkt);
    av_packet_unref(m->pkt);
    return ret;
}

/* The first cut of an fMP4 muxer with delay_moov writes only ftyp+moov;
 * keep it as the init segment and cut again for the fragment. */
static int take_init(struct cs_memmux *m)
{
    int64_t moof = find_box(m->out.data, m->out.len, "moof");
    size_t n = moof < 0 ? m->out.len : (size_t)moof;
    int ret;

    m->init = malloc(n ? n : 1);
    if (!m->init)
        return AVERROR(ENOMEM);
    memcpy(m->init, m->out.data, n);
    m->init_len = n;
    memmove(m->out.data, m->out.data + n, m->out.len - n);
    m->out.len -= n;
    if (moof >= 0)
        return 0;
    ret = av_write_frame(m->fc, NULL);
    if (ret < 0)
        return ret;
    avio_flush(m->fc->pb);
    return 0;
}

int cs_memmux_cut(struct cs_memmux *m, uint8_t **data, size_t *len)
{
    int ret;

    *data = NULL;
    *len = 0;
    /* fMP4: the fragment; MPEG-TS: the PES packets the muxer still holds
     * (audio waits for a full one), which belong to this cut. */
    ret = av_write_frame(m->fc, NULL);
    if (ret < 0)
        return ret;
    avio_flush(m->fc->pb);
    if (m->fmp4 && !m->init && m->out.len) {
        ret = take_init(m);
        if (ret < 0)
            return ret;
    }
    if (!m->out.len)
        return 0;
    *data = m->out.data;
    *len = m->out.len;
    memset(&m->out, 0, sizeof(m->out));
    return 0;
}

const uint8_t *cs_memmux_init(const struct cs_memmux *m, size_t *len)
{
    *len = m->init_len;
    return m->init;
}

AVRational cs_memmux_tb(const struct cs_memmux *m, int idx)
{
    return m->fc->streams[idx]->time_base;
}

void cs_memmux_free(struct cs_memmux **pm)
{
    struct cs_memmux *m = *pm;

    if (!m)
        return;
    if (m->fc) {
        if (m->fc->pb) {
            av_freep(&m->fc->pb->buffer);
            avio_context_free(&m->fc->pb);
        }
        avformat_free_context(m->fc);
    }
    av_packet_free(&m->pkt);
    for (int i = 0; i < 8; i++)
        av_bsf_free(&m->bsf[i]);
    free(m->out.data);
    free(m->init);
    free(m);
    *pm = NULL;
}
