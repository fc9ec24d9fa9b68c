#include "media/resample.h"

#include <errno.h>

#include <libavutil/audio_fifo.h>
#include <libswresample/swresample.h>

#include "err.h"

struct cs_resampler {
    int rate;
    AVChannelLayout layout;
    enum AVSampleFormat fmt;
    SwrContext *swr;
    AVAudioFifo *fifo;
    /* The input format the converter was made for. */
    int in_rate;
    AVChannelLayout in_layout;
    int in_fmt;
};

struct cs_resampler *cs_resampler_alloc(int rate,
                                        const AVChannelLayout *layout,
                                        enum AVSampleFormat fmt)
{
    struct cs_resampler *r = av_mallocz(sizeof(*r));

    if (!r)
        return NULL;
    r->rate = rate;
    r->fmt = fmt;
    r->in_fmt = AV_SAMPLE_FMT_NONE;
    if (av_channel_layout_copy(&r->layout, layout) < 0)
        goto fail;
    r->fifo = av_audio_fifo_alloc(fmt, layout->nb_channels, rate);
    if (!r->fifo)
        goto fail;
    return r;
fail:
    cs_resampler_free(&r);
    return NULL;
}

static int reconfigure(struct cs_resampler *r, const AVFrame *in)
{
    int ret;

    swr_free(&r->swr);
    av_channel_layout_uninit(&r->in_layout);
    ret = av_channel_layout_copy(&r->in_layout, &in->ch_layout);
    if (ret < 0)
        return ret;
    /* A stream that does not say its layout: assume the usual one. */
    if (r->in_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&r->in_layout, in->ch_layout.nb_channels);
    r->in_rate = in->sample_rate;
    r->in_fmt = in->format;
    ret = swr_alloc_set_opts2(&r->swr, &r->layout, r->fmt, r->rate,
                              &r->in_layout, in->format, in->sample_rate, 0,
                              NULL);
    if (ret < 0)
        return ret;
    ret = swr_init(r->swr);
    return ret < 0 ? CS_EDATA : 0;
}

static int convert(struct cs_resampler *r, const uint8_t **src, int nb)
{
    int cap = swr_get_out_samples(r->swr, nb);
    uint8_t **dst = NULL;
    int ret;

    if (cap <= 0)
        return 0;
    ret = av_samples_alloc_array_and_samples(&dst, NULL,
                                             r->layout.nb_channels, cap,
                                             r->fmt, 0);
    if (ret < 0)
        return ret;
    ret = swr_convert(r->swr, dst, cap, src, nb);
    if (ret > 0 && av_audio_fifo_write(r->fifo, (void **)dst, ret) < ret)
        ret = AVERROR(ENOMEM);
    av_freep(&dst[0]);
    av_freep(&dst);
    return ret < 0 ? ret : 0;
}

int cs_resampler_send(struct cs_resampler *r, const AVFrame *in)
{
    int ret;

    if (!in) {
        /* Flush, and start afresh with the next input. */
        ret = r->swr ? convert(r, NULL, 0) : 0;
        swr_free(&r->swr);
        r->in_fmt = AV_SAMPLE_FMT_NONE;
        r->in_rate = 0;
        return ret;
    }
    if (in->sample_rate != r->in_rate || in->format != r->in_fmt ||
        av_channel_layout_compare(&in->ch_layout, &r->in_layout)) {
        /* Keep what the old converter still holds. */
        if (r->swr) {
            ret = convert(r, NULL, 0);
            if (ret < 0)
                return ret;
        }
        ret = reconfigure(r, in);
        if (ret < 0)
            return ret;
    }
    return convert(r, (const uint8_t **)in->extended_data, in->nb_samples);
}

int cs_resampler_silence(struct cs_resampler *r, int nb)
{
    uint8_t **buf = NULL;
    int ret;

    if (nb <= 0)
        return 0;
    ret = av_samples_alloc_array_and_samples(&buf, NULL,
                                             r->layout.nb_channels, nb,
                                             r->fmt, 0);
    if (ret < 0)
        return ret;
    av_samples_set_silence(buf, 0, nb, r->layout.nb_channels, r->fmt);
    ret = av_audio_fifo_write(r->fifo, (void **)buf, nb);
    av_freep(&buf[0]);
    av_freep(&buf);
    return ret < nb ? AVERROR(ENOMEM) : 0;
}

void cs_resampler_drop(struct cs_resampler *r, int nb)
{
    int q = av_audio_fifo_size(r->fifo);

    av_audio_fifo_drain(r->fifo, nb < q ? nb : q);
}

int cs_resampler_queued(const struct cs_resampler *r)
{
    return av_audio_fifo_size(r->fifo);
}

int cs_resampler_read(struct cs_resampler *r, int nb, AVFrame **out)
{
    AVFrame *f;
    int ret;

    *out = NULL;
    if (av_audio_fifo_size(r->fifo) < nb || nb <= 0)
        return AVERROR(EAGAIN);
    f = av_frame_alloc();
    if (!f)
        return AVERROR(ENOMEM);
    f->nb_samples = nb;
    f->format = r->fmt;
    f->sample_rate = r->rate;
    ret = av_channel_layout_copy(&f->ch_layout, &r->layout);
    if (ret >= 0)
        ret = av_frame_get_buffer(f, 0);
    if (ret >= 0 && av_audio_fifo_read(r->fifo, (void **)f->data, nb) < nb)
        ret = AVERROR(EIO);
    if (ret < 0) {
        av_frame_free(&f);
        return ret;
    }
    *out = f;
    return 0;
}

void cs_resampler_free(struct cs_resampler **pr)
{
    struct cs_resampler *r = *pr;

    if (!r)
        return;
    swr_free(&r->swr);
    av_audio_fifo_free(r->fifo);
    av_channel_layout_uninit(&r->layout);
    av_channel_layout_uninit(&r->in_layout);
    av_freep(pr);
}
