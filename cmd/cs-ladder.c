/* cs-ladder: one compressed A/V stream in, an adaptive-bitrate ladder with
 * aligned keyframes out, in one MPEG-TS. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "err.h"
#include "ladder/ladder.h"
#include "log.h"
#include "opt.h"
#include "sig.h"

enum {
    OPT_RC = CS_OPT_KEY(0),
    OPT_CRF,
    OPT_TUNE,
};

struct cli {
    struct cs_ladder_config cfg;
    struct cs_venc_settings global;
    const char *rungs;
};

#define AT(field) offsetof(struct cli, field)

static const struct cs_opt options[] = {
    { "output", 'o', "FILE|-", "where the ladder goes", "-", "file",
      CS_OPT_STRING, AT(cfg.output) },
    { "rungs", 0, "LIST", "SIZE:RATE[@FPS][:KEY=VALUE]... rungs, "
      "comma-separated", CS_LADDER_DEFAULT_RUNGS, NULL, CS_OPT_STRING,
      AT(rungs) },
    { "upscale", 0, NULL, "keep rungs larger than the source", NULL, NULL,
      CS_OPT_FLAG, AT(cfg.upscale) },
    { "codec", 'c', "CODEC", "video codec of every rung (or a hardware "
      "encoder: h264_nvenc, hevc_vaapi...)", "h264",
      "h264 hevc av1 h264_nvenc hevc_nvenc av1_nvenc h264_vaapi hevc_vaapi "
      "h264_qsv hevc_qsv" },
    { "rc", OPT_RC, "MODE", "rate control: cbr, vbr or crf", "cbr",
      "cbr vbr crf" },
    { "crf", OPT_CRF, "N", "quality for --rc crf (lower is better)", NULL,
      NULL, .shown = "23 h264, 28 hevc, 35 av1" },
    { "gop", 'g', "SECONDS", "a keyframe exactly every SECONDS, at the same "
      "timestamps in every rung", "2", NULL },
    { "preset", 0, "NAME", "encoder speed preset", NULL, NULL,
      CS_OPT_STRING, AT(global.preset), .shown = "veryfast; 10 for av1" },
    { "tune", OPT_TUNE, "zerolatency", "no B-frames, no look-ahead, "
      "a few frames of delay", NULL, "zerolatency" },
    { "threads", 0, "N", "threads per encoder", "0", NULL, CS_OPT_INT,
      AT(global.threads), 0, 64, "0 (automatic)" },
    { "scale-from", 0, "FROM", "scale every rung from the source, or each "
      "from the next larger rung", "source", "source larger", CS_OPT_ENUM,
      AT(cfg.scale_from) },
    { "audio", 0, "CODEC", "audio codec when the input's is not AAC or Opus "
      "(those pass through)", "aac", "aac opus none", CS_OPT_ENUM,
      AT(cfg.acodec) },
    { "audio-bitrate", 0, "RATE", "bit rate of encoded audio", NULL, NULL,
      CS_OPT_RATE, AT(cfg.abitrate), 1, 1e7, "128k aac, 96k opus" },
    { "queue", 0, "FRAMES", "pictures waiting per rung before the decoder "
      "waits", "4", NULL, CS_OPT_INT, AT(cfg.queue), 1, 1024 },
    { "slate", 0, "color:COLOUR|FILE", "when the picture stops, show this "
      "colour or image (and silence) at every rung", NULL, "file",
      CS_OPT_STRING, AT(cfg.slate), .shown = "none" },
    { "slate-text", 0, "TEXT", "a line of text in the middle of the slate",
      NULL, NULL, CS_OPT_STRING, AT(cfg.slate_text), .shown = "none" },
    { "slate-after", 0, "SECONDS", "no picture for this long puts the slate "
      "on air", "1", NULL, CS_OPT_SECONDS, AT(cfg.slate_after), 0.1, 3600 },
    { "input-format", 'f', "NAME", "input format or device", NULL, NULL,
      CS_OPT_STRING, AT(cfg.input_format), .shown = "probed" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-ladder", "[options] [INPUT]",
    "Decode one compressed A/V stream once and encode an adaptive-bitrate "
    "ladder in\nparallel, keyframes aligned, into one MPEG-TS (Matroska for "
    "AV1). INPUT\ndefaults to standard input.",
    options,
    "Examples:\n"
    "  cs-ladder in.ts -o ladder.ts\n"
    "  cs-recv srt://:9000 | cs-ladder --tune zerolatency "
    "--rungs 720p:3M,360p:800k@30 | cs-segment -o /srv/live\n"
    "  cs-recv srt://:9000 | cs-ladder --tune zerolatency --slate "
    "color:0x202020 \\\n      --slate-text 'back soon' | cs-segment -o /srv/live\n",
    NULL, /* no subcommands */
};

/* The options that are also keys of a rung: one parser for both. */
static int setting(struct cs_venc_settings *v, const char *name,
                   const char *arg, struct cs_err *err)
{
    const char *expected = "";

    if (cs_rungs_setting(v, name, arg, &expected) < 0)
        return cs_opt_bad(err, name, arg, expected);
    return 0;
}

static int parse(void *opaque, int key, const char *arg, struct cs_err *err)
{
    struct cli *c = opaque;
    struct cs_venc_settings *v = &c->global;

    switch (key) {
    case 'c': return setting(v, "codec", arg, err);
    case OPT_RC: return setting(v, "rc", arg, err);
    case OPT_CRF: return setting(v, "crf", arg, err);
    case 'g': return setting(v, "gop", arg, err);
    case OPT_TUNE:
        if (strcmp(arg, "zerolatency"))
            return cs_opt_bad(err, "tune", arg, "zerolatency");
        v->zerolatency = 1;
        c->cfg.low_delay = 1;
        return 0;
    default:
        return CS_EUSAGE;
    }
}

int main(int argc, char **argv)
{
    struct cli c = { .cfg = { .input = "-" } };
    struct cs_common common;
    struct cs_err err = { 0 };
    int ret, first, status;

    cs_venc_defaults(&c.global);
    first = cs_cmd_parse(&cmd, argc, argv, &common, parse, &c, &status);
    if (first <= 0)
        return status;
    if (argc - first > 1)
        return cs_cmd_usage("one INPUT at most");
    if (argc > first)
        c.cfg.input = argv[first];
    if (c.cfg.slate_text && !c.cfg.slate)
        return cs_cmd_usage("--slate-text needs --slate");
    ret = cs_rungs_parse(c.rungs, c.cfg.rungs, &c.cfg.nb_rungs, &err);
    if (ret < 0)
        return cs_cmd_exit(&err, ret);
    cs_rungs_defaults(c.cfg.rungs, c.cfg.nb_rungs, &c.global);
    ret = cs_cmd_start(&c.cfg.stats, common.stats, &err);
    if (ret < 0)
        return cs_cmd_exit(&err, ret);
    ret = cs_ladder_run(&c.cfg, &err);
    return cs_cmd_exit(&err, ret);
}
