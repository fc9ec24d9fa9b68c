/* cs-encode: raw A/V to H.264/H.265/AV1 with AAC/Opus in MPEG-TS or
 * Matroska. */
#include <stdio.h>
#include <string.h>

#include "encode/encoder.h"
#include "err.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"

enum {
    OPT_FORMAT = CS_OPT_KEY(0),
    OPT_AUDIO,
    OPT_ABITRATE,
    OPT_RC,
    OPT_CRF,
    OPT_MAXRATE,
    OPT_BUFSIZE,
    OPT_PRESET,
    OPT_TUNE,
    OPT_THREADS,
};

static const struct cs_opt options[] = {
    { "output", 'o', "FILE|-", "where the stream goes", "-", "file" },
    { "format", OPT_FORMAT, "ts|mkv", "container", "ts; mkv for av1",
      "ts mkv" },
    { "codec", 'c', "CODEC", "video codec: h264 (x264), hevc (x265), "
      "av1 (SVT-AV1)", "h264", "h264 hevc av1" },
    { "audio", OPT_AUDIO, "CODEC", "audio codec", "aac", "aac opus none" },
    { "audio-bitrate", OPT_ABITRATE, "RATE", "audio bit rate",
      "128k aac, 96k opus", NULL },
    { "bitrate", 'b', "RATE", "video bit rate (800k, 2M)", "2M", NULL },
    { "rc", OPT_RC, "MODE", "rate control: cbr, vbr or crf", "cbr",
      "cbr vbr crf" },
    { "crf", OPT_CRF, "N", "quality for --rc crf (lower is better)",
      "23 h264, 28 hevc, 35 av1", NULL },
    { "maxrate", OPT_MAXRATE, "RATE", "peak bit rate",
      "the bit rate (cbr), 1.5 x (vbr)", NULL },
    { "bufsize", OPT_BUFSIZE, "BITS", "rate-control buffer (2M, 4M)",
      "1 x maxrate (cbr, zerolatency), else 2 x", NULL },
    { "gop", 'g', "SECONDS", "a keyframe exactly every SECONDS (closed GOP, "
      "no scene-cut keyframes)", "2", NULL },
    { "fps", 'r', "RATE", "output frame rate", "the input's", NULL },
    { "size", 's', "WxH", "output size (aspect kept, padded)", "the input's",
      NULL },
    { "preset", OPT_PRESET, "NAME", "encoder speed preset",
      "veryfast; 10 for av1", NULL },
    { "tune", OPT_TUNE, "zerolatency", "no B-frames, no look-ahead", NULL,
      "zerolatency" },
    { "threads", OPT_THREADS, "N", "encoder threads", "0 (automatic)", NULL },
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
    "cs-send srt://127.0.0.1:9000\n",
    NULL, /* no subcommands */
};

static int rate_opt(const char *name, const char *arg, int64_t *out)
{
    if (cs_parse_rate(arg, out) < 0 || *out <= 0)
        return cs_opt_bad(name, arg, "a rate like 800k or 2M");
    return 0;
}

static int parse(void *opaque, int key, const char *arg)
{
    struct cs_encode_cfg *c = opaque;
    struct cs_venc_settings *v = &c->video;
    double d;
    long n;

    switch (key) {
    case 'o': c->output = arg; return 0;
    case OPT_FORMAT:
        if (strcmp(arg, "ts") && strcmp(arg, "mkv"))
            return cs_opt_bad("format", arg, "ts or mkv");
        c->format = !strcmp(arg, "ts") ? "mpegts" : "matroska";
        return 0;
    case 'c':
        return cs_vcodec_parse(arg, &v->codec) < 0 ?
               cs_opt_bad("codec", arg, "h264, hevc or av1") : 0;
    case OPT_AUDIO:
        return cs_acodec_parse(arg, &c->audio.codec) < 0 ?
               cs_opt_bad("audio", arg, "aac, opus or none") : 0;
    case OPT_ABITRATE: return rate_opt("audio-bitrate", arg, &c->audio.bitrate);
    case 'b': return rate_opt("bitrate", arg, &v->bitrate);
    case OPT_MAXRATE: return rate_opt("maxrate", arg, &v->maxrate);
    case OPT_BUFSIZE: return rate_opt("bufsize", arg, &v->bufsize);
    case OPT_RC:
        return cs_rc_parse(arg, &v->rc) < 0 ?
               cs_opt_bad("rc", arg, "cbr, vbr or crf") : 0;
    case OPT_CRF:
        if (cs_parse_double(arg, 0, 63, &v->crf) < 0)
            return cs_opt_bad("crf", arg, "a number from 0 to 63");
        return 0;
    case 'g':
        if (cs_parse_seconds(arg, &d) < 0 || d < 0.04 || d > 60)
            return cs_opt_bad("gop", arg, "seconds from 0.04 to 60");
        v->gop = d;
        return 0;
    case 'r':
        return cs_parse_rational(arg, &v->fps) < 0 ?
               cs_opt_bad("fps", arg, "a rate like 25 or 30000/1001") : 0;
    case 's':
        if (cs_parse_size(arg, &v->width, &v->height) < 0 ||
            (v->width | v->height) & 1)
            return cs_opt_bad("size", arg, "an even size like 1280x720");
        return 0;
    case OPT_PRESET: v->preset = arg; return 0;
    case OPT_TUNE:
        if (strcmp(arg, "zerolatency"))
            return cs_opt_bad("tune", arg, "zerolatency");
        v->zerolatency = 1;
        return 0;
    case OPT_THREADS:
        if (cs_parse_int(arg, 0, 64, &n) < 0)
            return cs_opt_bad("threads", arg, "a count from 0 to 64");
        v->threads = (int)n;
        return 0;
    default:
        return CS_EUSAGE;
    }
}

/* What the run changed or lost, one line each (frames are never left out
 * or repeated without a word). */
static int tell(const struct cs_encode_cfg *c, int ret)
{
    const struct cs_encode_result *r = &c->result;
    double fps = av_q2d(c->video.fps);

    if (r->fps_assumed)
        cs_warn("'%s': the input declares no frame rate; encoded at %.5g fps "
                "(see --fps)", c->input, fps);
    if (r->dropped || r->duplicated)
        cs_warn("'%s': %lld input frames dropped and %lld repeated to make "
                "%.5g fps", c->input, (long long)r->dropped,
                (long long)r->duplicated, fps);
    if (r->truncated) {
        cs_error("'%s': the input ends inside a frame; encoded the %lld "
                 "whole frames before it", c->input, (long long)r->frames);
        if (ret >= 0)
            return CS_EDATA;
    }
    return ret;
}

int main(int argc, char **argv)
{
    struct cs_encode_cfg c = { .input = "-", .output = "-" };
    struct cs_common common;
    int ret, first;

    cs_venc_defaults(&c.video);
    c.video.fps = (AVRational){ 0, 0 };
    c.audio.codec = CS_ACODEC_AAC;
    first = cs_opt_parse(&cmd, argc, argv, &common, parse, &c);
    if (first <= 0)
        return first == CS_OPT_EXIT ? CS_EXIT_OK : CS_EXIT_USAGE;
    if (argc - first > 1) {
        cs_error("one INPUT at most; try 'cs-encode --help'");
        return CS_EXIT_USAGE;
    }
    if (argc > first)
        c.input = argv[first];
    if (!c.format)
        c.format = c.video.codec == CS_VCODEC_AV1 ? "matroska" : "mpegts";
    if (c.video.codec == CS_VCODEC_AV1 && !strcmp(c.format, "mpegts")) {
        cs_error("av1 cannot be carried in MPEG-TS here; use --format mkv");
        return CS_EXIT_USAGE;
    }
    ret = cs_sig_install();
    if (ret < 0) {
        cs_error("cannot install the signal handlers: %s", CS_ERRSTR(ret));
        return CS_EXIT_FAIL;
    }
    ret = cs_opt_stats_open(&c.stats, common.stats);
    if (ret < 0)
        return cs_exit_status(ret);
    ret = cs_encode_run(&c);
    return cs_exit_status(tell(&c, ret));
}
