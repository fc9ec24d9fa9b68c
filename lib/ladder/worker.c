/* ladder/worker.c: a rung's worker thread: pictures from its queue are
 * scaled, handed on to the next smaller rung, encoded and written to the
 * shared output. */
#include <errno.h>
#include <string.h>

#include <libavutil/imgutils.h>
#include <libavutil/mathematics.h>

#include "err.h"
#include "clock.h"
#include "encode/hw.h"
#include "ladder/internal.h"
#include "log.h"
#include "media/captime.h"

static const AVRational us = { 1, 1000000 };

int cs_ladder_out_write(struct cs_ladder_out *o, int index, AVPacket *pkt,
                        AVRational tb)
{
    int ret;

    pthread_mutex_lock(&o->lock);
    ret = o->write_err < 0 ? o->write_err
                           : cs_mux_write(o->mux, index, pkt, tb);
    if (ret < 0 && !o->write_err) {
        o->write_err = ret;
        cs_err_code(&o->err, ret, "cannot write '%s'", o->name);
    }
    pthread_mutex_unlock(&o->lock);
    av_packet_unref(pkt);
    return ret;
}

int cs_ladder_out_error(struct cs_ladder_out *o)
{
    int err;

    pthread_mutex_lock(&o->lock);
    err = o->write_err;
    pthread_mutex_unlock(&o->lock);
    return err;
}

int cs_ladder_out_fail(struct cs_ladder_out *o, int code, const char *what)
{
    pthread_mutex_lock(&o->lock);
    cs_err_code(&o->err, code, "%s", what);
    pthread_mutex_unlock(&o->lock);
    return code;
}

void cs_ladder_item_free(void *p)
{
    struct cs_ladder_item *it = p;

    if (!it)
        return;
    av_frame_free(&it->frame);
    av_free(it);
}

/* The rung's encoder: software, or a hardware one (encode/hw.h), which
 * takes pictures in R->sw_fmt (uploaded to the device if it wants). */
static int open_encoder(struct cs_ladder_rung *r,
                        const struct cs_venc_settings *s, struct cs_err *err)
{
    const char *hw = cs_hw_encoder_name(s->codec, (enum cs_hw)s->hw);
    int ret;

    if (s->hw == CS_HW_NONE) {
        ret = cs_venc_open(&r->enc, s);
        if (ret >= 0)
            r->sw_fmt = r->enc->pix_fmt;
    } else {
        ret = cs_hw_open(&r->enc, s, (enum cs_hw)s->hw, &r->sw_fmt);
    }
    if (ret == AVERROR(ENODEV))
        return cs_err_setx(err, ret, CS_EXIT_USAGE, "'%s': not available "
                           "here (rung '%s')", hw, r->rung->name);
    if (ret < 0)
        return cs_err_code(err, ret, "cannot open the %s encoder for rung "
                           "'%s' (%dx%d)", hw ? hw : cs_vcodec_name(s->codec),
                           r->rung->name, s->width, s->height);
    return 0;
}

int cs_ladder_worker_open(struct cs_ladder_rung *r, int index,
                          const struct cs_rung *rung, int queue,
                          struct cs_err *err)
{
    const struct cs_venc_settings *s = &rung->enc;
    int ret;

    r->index = index;
    r->rung = rung;
    r->stream = -1;
    atomic_init(&r->frames, 0);
    atomic_init(&r->bytes, 0);
    atomic_init(&r->media_us, 0);
    atomic_init(&r->delay_us, 0);
    atomic_init(&r->delay_max_us, 0);
    ret = open_encoder(r, s, err);
    if (ret < 0)
        return ret;
    r->scaler = cs_scaler_alloc(s->width, s->height, r->sw_fmt,
                                CS_SCALE_PAD);
    if (!r->scaler)
        return AVERROR(ENOMEM);
    return cs_queue_alloc(&r->in, queue, cs_ladder_item_free);
}

struct pkt_ctx {
    struct cs_ladder_rung *r;
    int64_t t0_us;
};

static void delay(struct cs_ladder_rung *r, int64_t n)
{
    int64_t at = r->decoded_us[n % CS_LADDER_DELAY_RING];
    int64_t d = at > 0 ? cs_now_us() - at : 0;

    atomic_store(&r->delay_us, d);
    if (d > atomic_load(&r->delay_max_us))
        atomic_store(&r->delay_max_us, d);
}

/* Encoder packets are numbered at the rung's rate from t0: put them back
 * on the common timeline (microseconds) and write them. */
static int on_packet(void *opaque, AVPacket *pkt)
{
    struct pkt_ctx *c = opaque;
    struct cs_ladder_rung *r = c->r;
    AVRational tb = r->enc->time_base;
    int64_t end;

    if (pkt->pts != AV_NOPTS_VALUE)
        delay(r, pkt->pts);
    if (pkt->pts != AV_NOPTS_VALUE)
        pkt->pts = av_rescale_q(pkt->pts, tb, us) + c->t0_us;
    if (pkt->dts != AV_NOPTS_VALUE)
        pkt->dts = av_rescale_q(pkt->dts, tb, us) + c->t0_us;
    pkt->duration = av_rescale_q(pkt->duration, tb, us);
    end = pkt->pts != AV_NOPTS_VALUE ? pkt->pts - c->t0_us : 0;
    atomic_fetch_add(&r->bytes, pkt->size);
    if (end > atomic_load(&r->media_us))
        atomic_store(&r->media_us, end);
    return cs_ladder_out_write(r->out, r->stream, pkt, us);
}

int cs_ladder_item_push(struct cs_queue *q, const struct cs_ladder_item *it,
                        const AVFrame *frame)
{
    struct cs_ladder_item *copy = av_malloc(sizeof(*copy));
    int ret;

    if (!copy)
        return AVERROR(ENOMEM);
    *copy = *it;
    copy->frame = av_frame_clone(frame);
    if (!copy->frame) {
        av_free(copy);
        return AVERROR(ENOMEM);
    }
    ret = cs_queue_push(q, copy);
    if (ret < 0)
        cs_ladder_item_free(copy);
    return ret;
}

/* Hand the scaled picture on to the next smaller rung, if one needs it. */
static int forward(struct cs_ladder_rung *r, const struct cs_ladder_item *it,
                   const AVFrame *scaled)
{
    uint32_t later = ~((2u << r->index) - 1);

    if (!r->next || !(it->need & later))
        return 0;
    return cs_ladder_item_push(r->next, it, scaled);
}

/* F to the encoder, uploaded first when it takes hardware frames. */
static int encode(struct cs_ladder_rung *r, AVFrame *f, struct pkt_ctx *pc)
{
    AVFrame *hw = NULL;
    int ret;

    if (!r->enc->hw_frames_ctx)
        return cs_encode(r->enc, f, on_packet, pc);
    ret = cs_hw_upload(r->enc, f, &hw);
    if (ret >= 0)
        ret = cs_encode(r->enc, hw, on_packet, pc);
    av_frame_free(&hw);
    return ret;
}

/* The picture's capture time (media/captime.h) goes on with it; no other
 * user-data SEI of the source (x264's version string) does. */
static int keep_captime(AVFrame *f)
{
    int64_t cap = 0;

    if (cs_captime_get(f, &cap) < 0)
        cap = 0;
    return cs_captime_set(f, cap);
}

static int handle(struct cs_ladder_rung *r, struct cs_ladder_item *it,
                  struct pkt_ctx *pc)
{
    uint32_t self = 1u << r->index;
    AVFrame *f = NULL;
    int ret;

    /* filling the rung, or letterboxed when the source's aspect is
     * another (media/scale) */
    ret = cs_scaler_run(r->scaler, it->frame, &f);
    if (ret < 0) {
        r->err_own = 1;
        goto out;
    }
    ret = forward(r, it, f);
    if (ret < 0 || !(it->need & self))
        goto out;
    pc->t0_us = it->t0_us;
    f->pts = it->n[r->index];
    r->decoded_us[f->pts % CS_LADDER_DELAY_RING] = it->wall_us;
    f->pict_type = (it->key & self) ? AV_PICTURE_TYPE_I
                                    : AV_PICTURE_TYPE_NONE;
    ret = keep_captime(f);
    if (ret >= 0)
        ret = encode(r, f, pc);
    if (ret >= 0)
        atomic_fetch_add(&r->frames, 1);
    else
        r->err_own = 1;
out:
    av_frame_free(&f);
    return ret;
}

/* A failure that began in this rung: the first of all threads' wins. */
static void record(struct cs_ladder_rung *r, int err)
{
    char what[64];

    snprintf(what, sizeof(what), "cannot encode rung '%s'", r->rung->name);
    cs_ladder_out_fail(r->out, err, what);
}

static void *run(void *opaque)
{
    struct cs_ladder_rung *r = opaque;
    struct pkt_ctx pc = { r, 0 };
    void *item;
    int ret;

    for (;;) {
        ret = cs_queue_pop(r->in, &item);
        if (ret < 0)
            break;
        ret = handle(r, item, &pc);
        cs_ladder_item_free(item);
        if (ret < 0)
            break;
    }
    if (ret == AVERROR_EOF) {
        ret = cs_encode(r->enc, NULL, on_packet, &pc);
        r->err_own = ret < 0;
        r->drained = 1;
    }
    if (ret < 0) {
        r->err = ret;
        if (r->err_own)
            record(r, ret);
        cs_queue_abort(r->in, ret);
        if (r->next)
            cs_queue_abort(r->next, ret);
    } else if (r->next) {
        cs_queue_close(r->next);
    }
    return NULL;
}

int cs_ladder_worker_start(struct cs_ladder_rung *r)
{
    int ret = pthread_create(&r->thread, NULL, run, r);

    if (ret)
        return AVERROR(ret);
    r->running = 1;
    return 0;
}

int cs_ladder_worker_join(struct cs_ladder_rung *r)
{
    if (r->running) {
        pthread_join(r->thread, NULL);
        r->running = 0;
    }
    return r->err;
}

static int discard(void *opaque, AVPacket *pkt)
{
    return 0;
}

/* End an encoder that was never drained. SVT-AV1 1.4 waits forever for
 * the end of a stream that had no picture at all, when flushed or closed:
 * give it one black picture first. */
static void quiesce(struct cs_ladder_rung *r)
{
    AVFrame *f;

    if (atomic_load(&r->frames) == 0 &&
        r->rung->enc.codec == CS_VCODEC_AV1) {
        f = av_frame_alloc();
        if (!f)
            return;     /* better a leak than a hang: skip the flush */
        f->width = r->enc->width;
        f->height = r->enc->height;
        f->format = r->enc->pix_fmt;
        f->pts = 0;
        if (av_frame_get_buffer(f, 0) < 0) {
            av_frame_free(&f);
            return;
        }
        av_image_fill_black(f->data, (ptrdiff_t[4]){ f->linesize[0],
                            f->linesize[1], f->linesize[2], f->linesize[3] },
                            f->format, AVCOL_RANGE_MPEG, f->width, f->height);
        cs_encode(r->enc, f, discard, NULL);
        av_frame_free(&f);
    }
    cs_encode(r->enc, NULL, discard, NULL);
}

void cs_ladder_worker_close(struct cs_ladder_rung *r)
{
    if (r->enc && !r->drained)
        quiesce(r);
    cs_queue_free(&r->in);
    cs_scaler_free(&r->scaler);
    avcodec_free_context(&r->enc);
}
