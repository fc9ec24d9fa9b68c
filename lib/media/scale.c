#include "media/scale.h"

#include <errno.h>
#include <math.h>

#include <libavutil/buffer.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "err.h"

struct cs_scaler {
    int w, h;
    enum AVPixelFormat fmt;
    unsigned flags;
    struct SwsContext *sws;
    /* The pictures it makes: recycled, not allocated (and faulted in by
     * the kernel) once per picture. */
    AVBufferPool *pool;
    /* The input the context was made for, and where it draws. */
    int in_w, in_h, in_fmt;
    AVRational in_sar;
    int box_x, box_y, box_w, box_h;
};

struct cs_scaler *cs_scaler_alloc(int width, int height,
                                  enum AVPixelFormat fmt, unsigned flags)
{
    struct cs_scaler *s = av_mallocz(sizeof(*s));

    if (!s)
        return NULL;
    s->w = width;
    s->h = height;
    s->fmt = fmt;
    s->flags = flags;
    s->in_fmt = AV_PIX_FMT_NONE;
    return s;
}

void cs_fit_size(int in_w, int in_h, AVRational sar, int maxw, int maxh,
                 int *w, int *h)
{
    double dar = (double)in_w / in_h;
    int64_t fw, fh;

    if (sar.num > 0 && sar.den > 0)
        dar *= av_q2d(sar);
    fw = maxw;
    fh = (int64_t)(fw / dar + 0.5);
    if (fh > maxh) {
        fh = maxh;
        fw = (int64_t)(fh * dar + 0.5);
    }
    fw &= ~1;
    fh &= ~1;
    *w = fw < 2 ? 2 : (int)fw;
    *h = fh < 2 ? 2 : (int)fh;
}

/* IN's display aspect is the output's to within the rounding to even
 * sizes (1%). */
static int same_aspect(const struct cs_scaler *s, const AVFrame *in)
{
    AVRational sar = in->sample_aspect_ratio;
    double dar = (double)in->width / in->height;

    if (sar.num > 0 && sar.den > 0)
        dar *= av_q2d(sar);
    return fabs(dar / ((double)s->w / s->h) - 1) < 0.01;
}

static int reconfigure(struct cs_scaler *s, const AVFrame *in)
{
    int algo = (s->flags & CS_SCALE_FAST) ? SWS_BILINEAR : SWS_BICUBIC;

    sws_freeContext(s->sws);
    s->sws = NULL;
    s->in_w = in->width;
    s->in_h = in->height;
    s->in_fmt = in->format;
    s->in_sar = in->sample_aspect_ratio;
    s->box_x = s->box_y = 0;
    s->box_w = s->w;
    s->box_h = s->h;
    if ((s->flags & CS_SCALE_PAD) && !same_aspect(s, in)) {
        cs_fit_size(in->width, in->height, in->sample_aspect_ratio, s->w,
                    s->h, &s->box_w, &s->box_h);
        s->box_x = ((s->w - s->box_w) / 2) & ~1;
        s->box_y = ((s->h - s->box_h) / 2) & ~1;
    }
    s->sws = sws_getContext(in->width, in->height, in->format, s->box_w,
                            s->box_h, s->fmt, algo, NULL,
                            NULL, NULL);
    return s->sws ? 0 : CS_EDATA;
}

/* Pointers to (box_x, box_y) in each plane of a planar or semi-planar
 * picture, from the pixel format's description. */
static void box_pointers(const struct cs_scaler *s, AVFrame *f,
                         uint8_t *dst[4])
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(s->fmt);

    for (int p = 0; p < 4; p++)
        dst[p] = f->data[p];
    for (int c = d->nb_components - 1; c >= 0; c--) {
        int p = d->comp[c].plane;
        int chroma = (c == 1 || c == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB);
        int x = chroma ? s->box_x >> d->log2_chroma_w : s->box_x;
        int y = chroma ? s->box_y >> d->log2_chroma_h : s->box_y;

        dst[p] = f->data[p] + (ptrdiff_t)y * f->linesize[p] +
                 (ptrdiff_t)x * d->comp[c].step;
    }
}

/* A picture of the scaler's size and format from its pool; the planes as
 * av_frame_get_buffer lays them out (lines aligned to 64 bytes). */
static int new_picture(struct cs_scaler *s, AVFrame **out)
{
    AVFrame *f = av_frame_alloc();
    int size, ret;

    if (!f)
        return AVERROR(ENOMEM);
    f->width = s->w;
    f->height = s->h;
    f->format = s->fmt;
    ret = av_image_fill_linesizes(f->linesize, s->fmt, FFALIGN(s->w, 64));
    size = ret < 0 ? ret : av_image_fill_pointers(f->data, s->fmt, s->h,
                                                  NULL, f->linesize);
    ret = size;
    if (ret >= 0 && !s->pool)
        s->pool = av_buffer_pool_init(size + 64, NULL);
    if (ret >= 0)
        f->buf[0] = s->pool ? av_buffer_pool_get(s->pool) : NULL;
    if (ret >= 0 && !f->buf[0])
        ret = AVERROR(ENOMEM);
    if (ret >= 0)
        ret = av_image_fill_pointers(f->data, s->fmt, s->h, f->buf[0]->data,
                                     f->linesize);
    if (ret < 0) {
        av_frame_free(&f);
        return ret;
    }
    f->extended_data = f->data;
    *out = f;
    return 0;
}

int cs_scaler_run(struct cs_scaler *s, const AVFrame *in, AVFrame **out)
{
    AVFrame *f;
    uint8_t *dst[4];
    ptrdiff_t ls[4];
    int ret;

    *out = NULL;
    /* Already what is wanted: pass a reference, no copy. */
    if (in->width == s->w && in->height == s->h && in->format == s->fmt &&
        (!(s->flags & CS_SCALE_PAD) || !in->sample_aspect_ratio.num ||
         in->sample_aspect_ratio.num == in->sample_aspect_ratio.den)) {
        *out = av_frame_clone(in);
        return *out ? 0 : AVERROR(ENOMEM);
    }
    if (in->width != s->in_w || in->height != s->in_h ||
        in->format != s->in_fmt ||
        av_cmp_q(in->sample_aspect_ratio, s->in_sar)) {
        ret = reconfigure(s, in);
        if (ret < 0)
            return ret;
    }
    ret = new_picture(s, &f);
    if (ret < 0)
        return ret;
    av_frame_copy_props(f, in);
    f->sample_aspect_ratio = (AVRational){ 1, 1 };
    if (s->box_w != s->w || s->box_h != s->h) {
        for (int p = 0; p < 4; p++)
            ls[p] = f->linesize[p];
        av_image_fill_black(f->data, ls, s->fmt, AVCOL_RANGE_MPEG, s->w,
                            s->h);
    }
    box_pointers(s, f, dst);
    ret = sws_scale(s->sws, (const uint8_t *const *)in->data, in->linesize,
                    0, in->height, dst, f->linesize);
    if (ret < 0)
        goto fail;
    *out = f;
    return 0;
fail:
    av_frame_free(&f);
    return ret;
}

void cs_scaler_free(struct cs_scaler **ps)
{
    if (!*ps)
        return;
    sws_freeContext((*ps)->sws);
    /* Pictures still out keep the pool until they are freed. */
    av_buffer_pool_uninit(&(*ps)->pool);
    av_freep(ps);
}
