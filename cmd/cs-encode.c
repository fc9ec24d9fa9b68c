/* cs-encode: raw A/V to H.264/H.265/AV1 with AAC/Opus in MPEG-TS or
 * Matroska. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "encode/engine.h"
#include "err.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"

enum {
    OPT_FORMAT = CS_OPT_KEY(0),
    OPT_TUNE,
};

#define AT(field) offsetof(struct cs_encode_cfg, field)

static const struct cs_opt options[] = {
    { "output", 'o', "FILE|-", "where the stream goes", "-", "file",
      CS_OPT_STRING, AT(output) },
    { "format", OPT_FORMAT, "ts|mkv", "container", NULL, "ts mkv",
      .shown = "ts; mkv for av1" },
    { "codec", 'c', "CODEC", "video codec: h264 (x264), hevc (x265), "
      "av1 (SVT-AV1), or a hardware encoder (h264_nvenc, hevc_vaapi...)",
      "h264", "h264 hevc av1 h264_nvenc hevc_nvenc av1_nvenc h264_vaapi "
      "hevc_vaapi h264_qsv hevc_qsv" },
    { "hwaccel", 0, "none|auto", "auto: the codec's first hardware encoder "
      "that opens (nvenc, vaapi, qsv), else software", "none", "none auto",
      CS_OPT_ENUM, AT(hwaccel) },
    { "audio", 0, "CODEC", "audio codec", "aac", "aac opus none",
      CS_OPT_ENUM, AT(audio.codec) },
    { "audio-bitrate", 0, "RATE", "audio bit rate", NULL, NULL,
      CS_OPT_RATE, AT(audio.bitrate), 1, 1e7, "128k aac, 96k opus" },
    { "bitrate", 'b', "RATE", "video bit rate (800k, 2M)", "2M", NULL,
      CS_OPT_RATE, AT(video.bitrate), 1, 1e10 },
    { "rc", 0, "MODE", "rate control: cbr, vbr or crf", "cbr",
      "cbr vbr crf", CS_OPT_ENUM, AT(video.rc) },
    { "crf", 0, "N", "quality for --rc crf (lower is better)", NULL, NULL,
      CS_OPT_DOUBLE, AT(video.crf), 0, 63, "23 h264, 28 hevc, 35 av1" },
    { "maxrate", 0, "RATE", "peak bit rate", NULL, NULL, CS_OPT_RATE,
      AT(video.maxrate), 1, 1e10, "the bit rate (cbr), 1.5 x (vbr)" },
    { "bufsize", 0, "BITS", "rate-control buffer (2M, 4M)", NULL, NULL,
      CS_OPT_RATE, AT(video.bufsize), 1, 1e10,
      "1 x maxrate (cbr, zerolatency), else 2 x" },
    { "gop", 'g', "SECONDS", "a keyframe exactly every SECONDS (closed GOP, "
      "no scene-cut keyframes)", "2", NULL, CS_OPT_SECONDS, AT(video.gop),
      0.04, 60 },
    { "fps", 'r', "RATE", "output frame rate", NULL, NULL, CS_OPT_RATIONAL,
      AT(video.fps), .shown = "the input's" },
    { "size", 's', "WxH", "output size (aspect kept, padded)", NULL, NULL,
      .shown = "the input's" },
    { "preset", 0, "NAME", "encoder speed preset", NULL, NULL,
      CS_OPT_STRING, AT(video.preset), .shown = "veryfast; 10 for av1" },
    { "tune", OPT_TUNE, "zerolatency", "no B-frames, no look-ahead", NULL,
      "zerolatency" },
    { "capture-time", 0, "auto|on|off", "carry each frame's capture time (an "
      "SEI message): the input's, else the wall clock as the frame arrives; "
      "auto: the wall clock unless INPUT is a regular file", "auto",
      "auto on off", CS_OPT_ENUM, AT(captime) },
    { "threads", 0, "N", "encoder threads", "0", NULL, CS_OPT_INT,
      AT(video.threads), 0, 64, "0 (automatic)" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-encode", "[options] [INPUT]",
    "Encode raw A/V (NUT or y4m from cs-decode; any media works) into "
    "MPEG-TS\n(H.264/H.265 + AAC/Opus) or Matroska (AV1). INPUT defaults to "
    "standard input.",
    options,
    "Examples:\n"
    "  cs-decode in.mp4 | cs-encode --bitrate 2M --gop 2 -o out.ts\n"
    "  cs-decode --realtime in.mp4 | cs-encode --tune zerolatency | "
    "cs-send srt://127.0.0.1:9000\n"
    "  cs-decode --device x11grab::0 | cs-encode --codec h264 --hwaccel auto "
    "-o live.ts\n",
    NULL, /* no subcommands */
};

static int parse(void *opaque, int key, const char *arg, struct cs_err *err)
{
    struct cs_encode_cfg *c = opaque;
    struct cs_venc_settings *v = &c->video;

    switch (key) {
    case OPT_FORMAT:
        if (strcmp(arg, "ts") && strcmp(arg, "mkv"))
            return cs_opt_bad(err, "format", arg, "ts or mkv");
        c->format = !strcmp(arg, "ts") ? "mpegts" : "matroska";
        return 0;
    case 'c':
        c->hw = CS_HW_NONE;
        if (cs_vcodec_parse(arg, &v->codec) < 0 &&
            cs_hw_parse(arg, &v->codec, &c->hw) < 0)
            return cs_opt_bad(err, "codec", arg, "h264, hevc, av1 or a "
                              "hardware encoder (h264_nvenc, hevc_nvenc, "
                              "av1_nvenc, h264_vaapi, hevc_vaapi, h264_qsv, "
                              "hevc_qsv)");
        return 0;
    case 's':
        if (cs_parse_size(arg, &v->width, &v->height) < 0 ||
            (v->width | v->height) & 1)
            return cs_opt_bad(err, "size", arg, "an even size like 1280x720");
        return 0;
    case OPT_TUNE:
        if (strcmp(arg, "zerolatency"))
            return cs_opt_bad(err, "tune", arg, "zerolatency");
        v->zerolatency = 1;
        return 0;
    default:
        return CS_EUSAGE;
    }
}

#define CUT "'%s': the input ends inside a frame; encoded the %lld whole " \
            "frames before it"

/* What the run changed or lost, one line each (frames are never left out
 * or repeated without a word), then the end of the run: its error, or the
 * cut input's, printed once. Returns the exit status. */
static int tell(const struct cs_encode_cfg *c, int ret, struct cs_err *err)
{
    const struct cs_encode_result *r = &c->result;
    double fps = av_q2d(c->video.fps);
    int cut = 0, status;

    if (r->hw_fallback)
        cs_info("note: no hardware %s encoder opens here; encoding in "
                "software", cs_vcodec_name(c->video.codec));
    if (r->fps_assumed)
        cs_warn("'%s': the input declares no frame rate; encoded at %.5g fps "
                "(see --fps)", c->input, fps);
    if (r->dropped || r->duplicated)
        cs_warn("'%s': %lld input frames dropped and %lld repeated to make "
                "%.5g fps", c->input, (long long)r->dropped,
                (long long)r->duplicated, fps);
    if (r->truncated && ret >= 0) {
        ret = cs_err_set(err, CS_EDATA, CUT, c->input, (long long)r->frames);
        cut = 1;
    }
    status = cs_cmd_exit(err, ret);
    /* Cut and failed: the cut is told after the failure, as a second line. */
    if (r->truncated && !cut)
        cs_error(CUT, c->input, (long long)r->frames);
    return status;
}

int main(int argc, char **argv)
{
    struct cs_encode_cfg c = { .input = "-" };
    struct cs_common common;
    struct cs_err err = { 0 };
    int ret, first, status;

    cs_venc_defaults(&c.video);
    c.video.fps = (AVRational){ 0, 0 };
    first = cs_cmd_parse(&cmd, argc, argv, &common, parse, &c, &status);
    if (first <= 0)
        return status;
    if (argc - first > 1)
        return cs_cmd_usage("one INPUT at most");
    if (argc > first)
        c.input = argv[first];
    if (!c.format)
        c.format = c.video.codec == CS_VCODEC_AV1 ? "matroska" : "mpegts";
    if (c.video.codec == CS_VCODEC_AV1 && !strcmp(c.format, "mpegts"))
        return cs_cmd_conflict("av1 cannot be carried in MPEG-TS here; "
                               "use --format mkv");
    ret = cs_cmd_start(&c.stats, common.stats, &err);
    if (ret < 0)
        return cs_cmd_exit(&err, ret);
    ret = cs_encode_run(&c, &err);
    return tell(&c, ret, &err);
}
