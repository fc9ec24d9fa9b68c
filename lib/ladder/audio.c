#include <errno.h>
#include <string.h>

#include <libavutil/mathematics.h>

#include "err.h"
#include "ladder/internal.h"
#include "log.h"
#include "media/input.h"

static const AVRational k48 = { 1, 48000 };

static int passthrough_open(struct cs_ladder_audio *a, const AVStream *st)
{
    int ret;

    a->par = avcodec_alloc_context3(NULL);
    if (!a->par)
        return AVERROR(ENOMEM);
    ret = avcodec_parameters_to_context(a->par, st->codecpar);
    if (ret < 0)
        return ret;
    a->par->time_base = st->time_base;
    /* The input container's tag (an MPEG-TS stream type) means nothing to
     * another muxer. */
    a->par->codec_tag = 0;
    /* A publisher cut off mid-frame leaves a broken frame behind; passed on,
     * it stops a browser's decoder for good. Decoding each frame (cheap for
     * audio) tells which to drop. */
    a->scratch = av_frame_alloc();
    if (!a->scratch)
        return AVERROR(ENOMEM);
    return cs_decoder_open(&a->check, st, 1);
}

/* True when PKT decodes cleanly. */
static int decodes(struct cs_ladder_audio *a, const AVPacket *pkt)
{
    int ret, ok = 1;

    if (pkt->flags & AV_PKT_FLAG_CORRUPT)
        return 0;
    if (!a->check)
        return 1;
    ret = avcodec_send_packet(a->check, pkt);
    if (ret < 0 && ret != AVERROR(EAGAIN))
        ok = 0;
    for (;;) {
        ret = avcodec_receive_frame(a->check, a->scratch);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            ok = 0;
            break;
        }
        av_frame_unref(a->scratch);
    }
    return ok;
}

int cs_ladder_audio_open(struct cs_ladder_audio *a, const AVStream *st,
                         enum cs_acodec codec, int64_t bitrate,
                         int global_header, struct cs_err *err)
{
    struct cs_aenc_settings s = { .codec = codec, .bitrate = bitrate,
                                  .global_header = global_header };
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    enum AVCodecID id = st->codecpar->codec_id;
    int ret;

    a->in_tb = st->time_base;
    if (!a->encode && (id == AV_CODEC_ID_AAC || id == AV_CODEC_ID_OPUS)) {
        cs_verbose("passing the %s audio through", avcodec_get_name(id));
        return passthrough_open(a, st);
    }
    ret = cs_decoder_open(&a->dec, st, 1);
    if (ret == AVERROR_DECODER_NOT_FOUND)
        return cs_err_set(err, CS_EDATA, "cannot decode the %s audio: %s",
                          avcodec_get_name(id), CS_ERRSTR(ret));
    if (ret < 0)
        return cs_err_code(err, ret, "cannot decode the %s audio",
                           avcodec_get_name(id));
    ret = cs_aenc_open(&a->enc, &s);
    if (ret < 0)
        return cs_err_code(err, ret, "cannot open the %s audio encoder",
                           codec == CS_ACODEC_OPUS ? "opus" : "aac");
    a->rs = cs_resampler_alloc(48000, &stereo, a->enc->sample_fmt);
    if (!a->rs)
        return AVERROR(ENOMEM);
    cs_verbose("encoding the %s audio to %s", avcodec_get_name(id),
               a->enc->codec->name);
    return 0;
}

const AVCodecContext *cs_ladder_audio_params(const struct cs_ladder_audio *a)
{
    return a->par ? a->par : a->enc;
}

static int on_packet(void *opaque, AVPacket *pkt)
{
    struct cs_ladder_audio *a = opaque;

    return cs_ladder_out_write(a->out, a->stream, pkt, a->enc->time_base);
}

/* Encode whole encoder frames from the resampler (all of it at the end). */
static int encode_queued(struct cs_ladder_audio *a, int flush)
{
    int size = a->enc->frame_size > 0 ? a->enc->frame_size : 1024;
    AVFrame *f = NULL;
    int ret = 0;

    for (;;) {
        int queued = cs_resampler_queued(a->rs);

        if (queued == 0 || (queued < size && !flush))
            break;
        if (queued < size) {
            ret = cs_resampler_silence(a->rs, size - queued);
            if (ret < 0)
                break;
        }
        ret = cs_resampler_read(a->rs, size, &f);
        if (ret < 0)
            break;
        f->pts = a->next_pts;
        a->next_pts += f->nb_samples;
        ret = cs_encode(a->enc, f, on_packet, a);
        av_frame_free(&f);
        if (ret < 0)
            break;
    }
    return ret;
}

/* Keep the encoded audio in step with its input timestamps: a gap is
 * filled with silence, an overlap dropped (past a 100 ms tolerance). */
static int on_frame(void *opaque, AVFrame *frame)
{
    struct cs_ladder_audio *a = opaque;
    int64_t ts = frame->best_effort_timestamp;
    int ret;

    if (ts != AV_NOPTS_VALUE) {
        int64_t at = av_rescale_q(ts, a->in_tb, k48);
        int64_t due = a->next_pts + cs_resampler_queued(a->rs);
        int64_t diff = at - due;

        if (!a->started) {
            a->next_pts = at;
            a->started = 1;
        } else if (diff > 4800 && diff < 48000 * 10) {
            ret = cs_resampler_silence(a->rs, (int)diff);
            if (ret < 0)
                return ret;
        } else if (diff < -4800) {
            cs_resampler_drop(a->rs, (int)-diff);
        }
    }
    a->started = 1;
    ret = cs_resampler_send(a->rs, frame);
    if (ret < 0)
        return ret;
    return encode_queued(a, 0);
}

int cs_ladder_audio_packet(struct cs_ladder_audio *a, const AVPacket *pkt)
{
    AVPacket *copy;
    int ret;

    if (a->dec)
        return cs_decode(a->dec, pkt, on_frame, a);
    if (!decodes(a, pkt)) {
        a->dropped++;
        cs_verbose("dropped an audio frame that does not decode");
        return 0;
    }
    copy = av_packet_clone(pkt);
    if (!copy)
        return AVERROR(ENOMEM);
    ret = cs_ladder_out_write(a->out, a->stream, copy, a->in_tb);
    av_packet_free(&copy);
    return ret;
}

int cs_ladder_audio_flush(struct cs_ladder_audio *a)
{
    int ret;

    if (!a->dec)
        return 0;
    ret = cs_decode(a->dec, NULL, on_frame, a);
    if (ret >= 0)
        ret = cs_resampler_send(a->rs, NULL);
    if (ret >= 0)
        ret = encode_queued(a, 1);
    if (ret >= 0)
        ret = cs_encode(a->enc, NULL, on_packet, a);
    return ret;
}

int cs_ladder_audio_silence(struct cs_ladder_audio *a, int64_t until_us)
{
    int64_t due, n;
    int ret;

    if (!a->dec || !a->started)
        return 0;
    due = a->next_pts + cs_resampler_queued(a->rs);
    n = av_rescale(until_us, 48000, 1000000) - due;
    if (n <= 0)
        return 0;
    ret = cs_resampler_silence(a->rs, (int)FFMIN(n, 48000 * 10));
    if (ret >= 0)
        ret = encode_queued(a, 0);
    return ret;
}

void cs_ladder_audio_close(struct cs_ladder_audio *a)
{
    avcodec_free_context(&a->par);
    avcodec_free_context(&a->check);
    av_frame_free(&a->scratch);
    avcodec_free_context(&a->dec);
    avcodec_free_context(&a->enc);
    cs_resampler_free(&a->rs);
}
