/* --latency: now minus the stamp of every frame, and a summary. */
#include "decode/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "media/input.h"
#include "media/scale.h"
#include "media/stamp.h"

struct lat {
    struct cs_input *in;
    struct cs_scaler *gray;
    int64_t frames, missing;
    int64_t *ms;
    size_t nb, cap;
    struct cs_stats *stats;
    struct cs_err *err;
};

/* Each line reaches standard output as it is made; a reader gone is an
 * error (SIGPIPE is ignored: EPIPE). */
static int flush_line(struct lat *l)
{
    int ret;

    if (fflush(stdout) != EOF)
        return 0;
    ret = errno ? AVERROR(errno) : AVERROR(EIO);
    return cs_err_code(l->err, ret, "cannot write '-'");
}

static int read_stamp(struct lat *l, const AVFrame *f, int64_t *stamp)
{
    AVFrame *g;
    int ret = cs_stamp_read(f, stamp);

    if (ret >= 0 || f->format == AV_PIX_FMT_YUV420P)
        return ret;
    /* Formats without an 8-bit luma plane: look at a gray copy. */
    if (!l->gray)
        l->gray = cs_scaler_alloc(f->width, f->height, AV_PIX_FMT_GRAY8, 0);
    if (!l->gray)
        return AVERROR(ENOMEM);
    ret = cs_scaler_run(l->gray, f, &g);
    if (ret < 0)
        return ret;
    ret = cs_stamp_read(g, stamp);
    av_frame_free(&g);
    return ret;
}

static int on_frame(void *opaque, AVFrame *f)
{
    struct lat *l = opaque;
    int64_t now = cs_wall_us() / 1000, stamp;
    const AVStream *st = l->in->fmt->streams[l->in->vidx];
    double pts = f->best_effort_timestamp == AV_NOPTS_VALUE ? -1
                 : f->best_effort_timestamp * av_q2d(st->time_base);

    l->frames++;
    if (read_stamp(l, f, &stamp) < 0) {
        l->missing++;
        printf("{\"frame\":%lld,\"pts_s\":%.6f,\"stamp_ms\":null}\n",
               (long long)l->frames - 1, pts);
        return flush_line(l);
    }
    if (l->nb == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        int64_t *n = realloc(l->ms, cap * sizeof(*n));

        if (!n)
            return AVERROR(ENOMEM);
        l->ms = n;
        l->cap = cap;
    }
    l->ms[l->nb++] = now - stamp;
    printf("{\"frame\":%lld,\"pts_s\":%.6f,\"stamp_ms\":%lld,"
           "\"latency_ms\":%lld}\n", (long long)l->frames - 1, pts,
           (long long)stamp, (long long)(now - stamp));
    return flush_line(l);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int summary(struct lat *l)
{
    cJSON *o = cJSON_CreateObject();
    char *text;
    int ret;

    cJSON_AddBoolToObject(o, "summary", 1);
    cJSON_AddNumberToObject(o, "frames", (double)l->frames);
    cJSON_AddNumberToObject(o, "stamped", (double)l->nb);
    cJSON_AddNumberToObject(o, "missing", (double)l->missing);
    if (l->nb) {
        qsort(l->ms, l->nb, sizeof(*l->ms), cmp64);
        cJSON_AddNumberToObject(o, "min_ms", (double)l->ms[0]);
        cJSON_AddNumberToObject(o, "median_ms", (double)l->ms[l->nb / 2]);
        cJSON_AddNumberToObject(o, "p95_ms",
                                (double)l->ms[(l->nb * 95 - 1) / 100]);
        cJSON_AddNumberToObject(o, "max_ms", (double)l->ms[l->nb - 1]);
    }
    text = cJSON_PrintUnformatted(o);
    if (text)
        printf("%s\n", text);
    ret = flush_line(l);
    free(text);
    cs_stats_close(&l->stats, o);
    return ret;
}

int cs_latency_run(const char *input, struct cs_stats *stats,
                   struct cs_err *err)
{
    struct lat l = { .stats = stats, .err = err };
    AVPacket *pkt = NULL;
    int ret, r;

    ret = cs_input_open(&l.in, input, NULL, NULL,
                        CS_INPUT_VIDEO | CS_INPUT_DECODE | CS_INPUT_LOW_DELAY);
    if (ret >= 0 && l.in->vidx < 0)
        ret = CS_EDATA;
    if (ret < 0) {
        if (ret != CS_ESTOP)
            cs_err_code(err, ret, "cannot open '%s'", input);
        goto out;
    }
    pkt = av_packet_alloc();
    if (!pkt) {
        ret = AVERROR(ENOMEM);
        goto out;
    }
    for (;;) {
        ret = cs_input_read(l.in, pkt);
        if (ret < 0)
            break;
        if (pkt->stream_index == l.in->vidx)
            ret = cs_decode(l.in->vdec, pkt, on_frame, &l);
        av_packet_unref(pkt);
        if (ret < 0)
            break;
    }
    if (ret == AVERROR_EOF || ret == CS_ESTOP)
        ret = cs_decode(l.in->vdec, NULL, on_frame, &l);
    r = summary(&l);
    if (r < 0 && ret >= 0)
        ret = r;
    if (ret >= 0 && l.nb == 0)
        ret = cs_err_set(err, CS_EDATA, "'%s': no frame carries a stamp",
                         input);
out:
    cs_stats_close(&l.stats, NULL);
    av_packet_free(&pkt);
    cs_scaler_free(&l.gray);
    cs_input_free(&l.in);
    free(l.ms);
    return ret;
}
