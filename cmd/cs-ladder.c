/* cs-ladder: one compressed A/V stream in, an adaptive-bitrate ladder with
 * aligned keyframes out, in one MPEG-TS. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "ladder/ladder.h"
#include "log.h"
#include "opt.h"
#include "sig.h"

enum {
    OPT_RUNGS = CS_OPT_KEY(0),
    OPT_UPSCALE,
    OPT_RC,
    OPT_CRF,
    OPT_PRESET,
    OPT_TUNE,
    OPT_THREADS,
    OPT_SCALE_FROM,
    OPT_AUDIO,
    OPT_ABITRATE,
    OPT_QUEUE,
    OPT_INPUT_FORMAT,
};

static const struct cs_opt options[] = {
    { "output", 'o', "FILE|-", "where the ladder goes", "-", "file" },
    { "rungs", OPT_RUNGS, "LIST", "SIZE:RATE[@FPS][:KEY=VALUE]... rungs, "
      "comma-separated", CS_LADDER_DEFAULT_RUNGS, NULL },
    { "upscale", OPT_UPSCALE, NULL, "keep rungs larger than the source", NULL,
      NULL },
    { "codec", 'c', "CODEC", "video codec of every rung", "h264",
      "h264 hevc av1" },
    { "rc", OPT_RC, "MODE", "rate control: cbr, vbr or crf", "cbr",
      "cbr vbr crf" },
    { "crf", OPT_CRF, "N", "quality for --rc crf (lower is better)",
      "23 h264, 28 hevc, 35 av1", NULL },
    { "gop", 'g', "SECONDS", "a keyframe exactly every SECONDS, at the same "
      "timestamps in every rung", "2", NULL },
    { "preset", OPT_PRESET, "NAME", "encoder speed preset",
      "veryfast; 10 for av1", NULL },
    { "tune", OPT_TUNE, "zerolatency", "no B-frames, no look-ahead, "
      "a few frames of delay", NULL, "zerolatency" },
    { "threads", OPT_THREADS, "N", "threads per encoder", "0 (automatic)",
      NULL },
    { "scale-from", OPT_SCALE_FROM, "FROM", "scale every rung from the "
      "source, or each from the next larger rung", "source",
      "source larger" },
    { "audio", OPT_AUDIO, "CODEC", "audio codec when the input's is not AAC "
      "or Opus (those pass through)", "aac", "aac opus none" },
    { "audio-bitrate", OPT_ABITRATE, "RATE", "bit rate of encoded audio",
      "128k aac, 96k opus", NULL },
    { "queue", OPT_QUEUE, "FRAMES", "pictures waiting per rung before the "
      "decoder waits", "8", NULL },
    { "input-format", 'f', "NAME", "input format or device", "probed",
      NULL },
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
    "--rungs 720p:3M,360p:800k@30 | cs-segment -o /srv/live\n",
    NULL, /* no subcommands */
};

struct cli {
    struct cs_ladder_config cfg;
    struct cs_venc_settings global;
    const char *rungs;
};

static int parse_more(struct cli *c, int key, const char *arg)
{
    long n;

    switch (key) {
    case OPT_THREADS:
        if (cs_parse_int(arg, 0, 64, &n) < 0)
            return cs_opt_bad("threads", arg, "a count from 0 to 64");
        c->global.threads = (int)n;
        return 0;
    case OPT_SCALE_FROM:
        if (strcmp(arg, "larger") && strcmp(arg, "source"))
            return cs_opt_bad("scale-from", arg, "larger or source");
        c->cfg.scale_from = !strcmp(arg, "larger") ? CS_LADDER_FROM_LARGER
                                                   : CS_LADDER_FROM_SOURCE;
        return 0;
    case OPT_AUDIO:
        return cs_acodec_parse(arg, &c->cfg.acodec) < 0 ?
               cs_opt_bad("audio", arg, "aac, opus or none") : 0;
    case OPT_ABITRATE:
        if (cs_parse_rate(arg, &c->cfg.abitrate) < 0 || c->cfg.abitrate <= 0)
            return cs_opt_bad("audio-bitrate", arg, "a rate like 128k");
        return 0;
    case OPT_QUEUE:
        if (cs_parse_int(arg, 1, 1024, &n) < 0)
            return cs_opt_bad("queue", arg, "a count from 1 to 1024");
        c->cfg.queue = (int)n;
        return 0;
    case 'f': c->cfg.input_format = arg; return 0;
    default:
        return CS_EUSAGE;
    }
}

/* The options that are also keys of a rung: one parser for both. */
static int setting(struct cs_venc_settings *v, const char *name,
                   const char *arg)
{
    const char *expected = "";

    if (cs_rungs_setting(v, name, arg, &expected) < 0)
        return cs_opt_bad(name, arg, expected);
    return 0;
}

static int parse(void *opaque, int key, const char *arg)
{
    struct cli *c = opaque;
    struct cs_venc_settings *v = &c->global;

    switch (key) {
    case 'o': c->cfg.output = arg; return 0;
    case OPT_RUNGS: c->rungs = arg; return 0;
    case OPT_UPSCALE: c->cfg.upscale = 1; return 0;
    case 'c': return setting(v, "codec", arg);
    case OPT_RC: return setting(v, "rc", arg);
    case OPT_CRF: return setting(v, "crf", arg);
    case 'g': return setting(v, "gop", arg);
    case OPT_PRESET: v->preset = arg; return 0;
    case OPT_TUNE:
        if (strcmp(arg, "zerolatency"))
            return cs_opt_bad("tune", arg, "zerolatency");
        v->zerolatency = 1;
        c->cfg.low_delay = 1;
        return 0;
    default:
        return parse_more(c, key, arg);
    }
}

int main(int argc, char **argv)
{
    struct cli c = { .rungs = CS_LADDER_DEFAULT_RUNGS };
    struct cs_common common;
    int ret, first;

    c.cfg.input = "-";
    c.cfg.output = "-";
    c.cfg.queue = 8;
    c.cfg.acodec = CS_ACODEC_AAC;
    c.cfg.scale_from = CS_LADDER_FROM_SOURCE;
    cs_venc_defaults(&c.global);
    first = cs_opt_parse(&cmd, argc, argv, &common, parse, &c);
    if (first <= 0)
        return first == CS_OPT_EXIT ? CS_EXIT_OK : CS_EXIT_USAGE;
    if (argc - first > 1) {
        cs_error("one INPUT at most; try 'cs-ladder --help'");
        return CS_EXIT_USAGE;
    }
    if (argc > first)
        c.cfg.input = argv[first];
    if (cs_rungs_parse(c.rungs, c.cfg.rungs, &c.cfg.nb_rungs) < 0)
        return CS_EXIT_USAGE;
    cs_rungs_defaults(c.cfg.rungs, c.cfg.nb_rungs, &c.global);
    c.cfg.stats = common.stats;
    ret = cs_sig_install();
    if (ret < 0) {
        cs_error("cannot install the signal handlers: %s", CS_ERRSTR(ret));
        return CS_EXIT_FAIL;
    }
    ret = cs_ladder_run(&c.cfg);
    return cs_exit_status(ret);
}
