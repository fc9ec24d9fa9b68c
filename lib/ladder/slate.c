/* ladder/slate.c: the slate picture: a colour or an image file, with a
 * line of text drawn on it (libavfilter's drawtext). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/opt.h>
#include <libavutil/parseutils.h>

#include "err.h"
#include "ladder/internal.h"
#include "media/input.h"

#define COLOR_PREFIX "color:"
/* fonts-dejavu-core; without it drawtext asks fontconfig for "Sans". */
#define FONT_FILE "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

/* A W x H yuv420p picture of one colour (BT.601, limited range). */
static int fill_color(AVFrame **out, const uint8_t rgba[4], int w, int h)
{
    int r = rgba[0], g = rgba[1], b = rgba[2];
    int y = 16 + (66 * r + 129 * g + 25 * b + 128) / 256;
    int u = 128 + (-38 * r - 74 * g + 112 * b + 128) / 256;
    int v = 128 + (112 * r - 94 * g - 18 * b + 128) / 256;
    AVFrame *f = av_frame_alloc();
    int ret;

    if (!f)
        return AVERROR(ENOMEM);
    f->format = AV_PIX_FMT_YUV420P;
    f->width = w;
    f->height = h;
    f->sample_aspect_ratio = (AVRational){ 1, 1 };
    ret = av_frame_get_buffer(f, 0);
    if (ret < 0) {
        av_frame_free(&f);
        return ret;
    }
    for (int i = 0; i < h; i++)
        memset(f->data[0] + i * f->linesize[0], y, w);
    for (int i = 0; i < (h + 1) / 2; i++) {
        memset(f->data[1] + i * f->linesize[1], u, (w + 1) / 2);
        memset(f->data[2] + i * f->linesize[2], v, (w + 1) / 2);
    }
    *out = f;
    return 0;
}

static int keep_frame(void *opaque, AVFrame *frame)
{
    AVFrame **out = opaque;

    if (*out)
        return 0;
    *out = av_frame_clone(frame);
    return *out ? 0 : AVERROR(ENOMEM);
}

/* The first picture of the image (or video) file PATH. */
static int load_image(AVFrame **out, const char *path)
{
    struct cs_input *in = NULL;
    AVPacket *pkt = av_packet_alloc();
    int ret;

    *out = NULL;
    if (!pkt)
        return AVERROR(ENOMEM);
    ret = cs_input_open(&in, path, NULL, NULL,
                        CS_INPUT_VIDEO | CS_INPUT_DECODE);
    if (ret >= 0 && in->vidx < 0)
        ret = CS_EDATA;
    while (ret >= 0 && !*out) {
        ret = cs_input_read(in, pkt);
        if (ret == AVERROR_EOF) {
            ret = cs_decode(in->vdec, NULL, keep_frame, out);
            if (ret >= 0 && !*out)
                ret = CS_EDATA;
        } else if (ret >= 0 && pkt->stream_index == in->vidx) {
            ret = cs_decode(in->vdec, pkt, keep_frame, out);
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    cs_input_free(&in);
    return ret < 0 ? ret : 0;
}

/* A drawtext filter writing TEXT in the middle of the picture. */
static int text_filter(AVFilterGraph *g, const char *text,
                       AVFilterContext **out)
{
    const char *opts[][2] = {
        { "text", text }, { "expansion", "none" }, { "fontcolor", "white" },
        { "fontsize", "h/12" }, { "x", "(w-text_w)/2" },
        { "y", "(h-text_h)/2" },
        { access(FONT_FILE, R_OK) == 0 ? "fontfile" : "font",
          access(FONT_FILE, R_OK) == 0 ? FONT_FILE : "Sans" },
    };
    AVFilterContext *t;
    int ret = 0;

    t = avfilter_graph_alloc_filter(g, avfilter_get_by_name("drawtext"),
                                    "text");
    if (!t)
        return AVERROR_FILTER_NOT_FOUND;
    for (size_t i = 0; i < FF_ARRAY_ELEMS(opts) && ret >= 0; i++)
        ret = av_opt_set(t, opts[i][0], opts[i][1], AV_OPT_SEARCH_CHILDREN);
    if (ret >= 0)
        ret = avfilter_init_str(t, NULL);
    *out = t;
    return ret;
}

/* Build buffer -> format=yuv420p [-> drawtext] -> buffersink for IN. */
static int build(AVFilterGraph *g, const AVFrame *in, const char *text,
                 AVFilterContext **src, AVFilterContext **sink)
{
    AVRational sar = in->sample_aspect_ratio;
    AVFilterContext *fmt, *last;
    char args[160];
    int ret;

    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/1"
             ":pixel_aspect=%d/%d", in->width, in->height, in->format,
             sar.num > 0 ? sar.num : 1, sar.den > 0 ? sar.den : 1);
    ret = avfilter_graph_create_filter(src, avfilter_get_by_name("buffer"),
                                       "in", args, NULL, g);
    if (ret >= 0)
        ret = avfilter_graph_create_filter(&fmt, avfilter_get_by_name("format"),
                                           "fmt", "pix_fmts=yuv420p", NULL, g);
    if (ret >= 0)
        ret = avfilter_link(*src, 0, fmt, 0);
    last = fmt;
    if (ret >= 0 && text && *text) {
        ret = text_filter(g, text, &last);
        if (ret >= 0)
            ret = avfilter_link(fmt, 0, last, 0);
    }
    if (ret >= 0)
        ret = avfilter_graph_create_filter(sink,
                                           avfilter_get_by_name("buffersink"),
                                           "out", NULL, NULL, g);
    if (ret >= 0)
        ret = avfilter_link(last, 0, *sink, 0);
    if (ret >= 0)
        ret = avfilter_graph_config(g, NULL);
    return ret;
}

/* IN as yuv420p with TEXT drawn on it. */
static int finish(AVFrame *in, const char *text, AVFrame **out)
{
    AVFilterGraph *g = avfilter_graph_alloc();
    AVFilterContext *src = NULL, *sink = NULL;
    AVFrame *f = av_frame_alloc();
    int ret;

    if (!g || !f) {
        ret = AVERROR(ENOMEM);
        goto out;
    }
    ret = build(g, in, text, &src, &sink);
    in->pts = 0;
    if (ret >= 0)
        ret = av_buffersrc_add_frame(src, in);
    if (ret >= 0)
        ret = av_buffersrc_add_frame(src, NULL);
    if (ret >= 0)
        ret = av_buffersink_get_frame(sink, f);
    if (ret >= 0) {
        f->pts = AV_NOPTS_VALUE;
        *out = f;
        f = NULL;
    }
out:
    av_frame_free(&f);
    avfilter_graph_free(&g);
    return ret;
}

int cs_ladder_slate_make(AVFrame **out, const char *spec, const char *text,
                         int width, int height, struct cs_err *err)
{
    AVFrame *base = NULL;
    uint8_t rgba[4];
    int ret;

    *out = NULL;
    if (!strncmp(spec, COLOR_PREFIX, strlen(COLOR_PREFIX))) {
        const char *c = spec + strlen(COLOR_PREFIX);

        if (av_parse_color(rgba, c, -1, NULL) < 0)
            return cs_err_set(err, CS_EUSAGE, "cannot use slate '%s': not a "
                              "colour", spec);
        ret = fill_color(&base, rgba, width, height);
    } else {
        ret = load_image(&base, spec);
        if (ret < 0)
            return cs_err_setx(err, ret, CS_EXIT_USAGE, "cannot read slate "
                               "'%s': %s", spec, ret == CS_EDATA ?
                               "not an image" : CS_ERRSTR(ret));
    }
    if (ret >= 0)
        ret = finish(base, text, out);
    av_frame_free(&base);
    if (ret < 0)
        return cs_err_code(err, ret, "cannot draw slate '%s'", spec);
    return 0;
}
