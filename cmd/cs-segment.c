/* cs-segment: package a ladder's stream as HLS (MPEG-TS or fMP4/CMAF),
 * Low-Latency HLS and DASH, to a folder, S3 or an HTTP origin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hls/packager.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"

enum {
    OPT_CONTAINER = CS_OPT_KEY(0),
    OPT_NO_LL,
    OPT_NO_DASH,
    OPT_SEGMENT,
    OPT_PART,
    OPT_WINDOW,
    OPT_VOD,
    OPT_TOKEN,
};

static const struct cs_opt opts[] = {
    { "output", 'o', "OUTPUT", "a folder, s3://bucket/prefix/ or "
      "http(s)://origin/path/", NULL, "dir" },
    { "container", OPT_CONTAINER, "fmp4|ts", "segment container", "fmp4",
      "fmp4 ts" },
    { "no-ll", OPT_NO_LL, NULL, "no Low-Latency HLS parts", NULL, NULL },
    { "no-dash", OPT_NO_DASH, NULL, "no DASH manifest", NULL, NULL },
    { "segment", OPT_SEGMENT, "SECONDS", "segment duration, a multiple of "
      "the GOP", "2", NULL },
    { "part", OPT_PART, "SECONDS", "LL-HLS part target (0.2 to 0.5)",
      "0.4", NULL },
    { "window", OPT_WINDOW, "N", "segments kept in a live playlist", "6",
      NULL },
    { "vod", OPT_VOD, NULL, "package the whole input as video on demand",
      NULL, NULL },
    { "token", OPT_TOKEN, "TOKEN", "bearer token for an HTTP origin "
      "(default: $CS_TOKEN)", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    .name = "cs-segment",
    .synopsis = "[options] [INPUT] -o OUTPUT",
    .summary = "package a stream as HLS, Low-Latency HLS and DASH",
    .opts = opts,
    .epilog = "INPUT is MPEG-TS or Matroska (default: standard input); "
              "each video stream is a rendition.",
};

static int on_opt(void *opaque, int key, const char *arg)
{
    struct cs_pkg_config *c = opaque;
    long n;

    switch (key) {
    case 'o':
        c->output = arg;
        return 0;
    case OPT_CONTAINER:
        if (strcmp(arg, "fmp4") && strcmp(arg, "ts"))
            return cs_opt_bad("container", arg, "fmp4 or ts");
        c->ts = !strcmp(arg, "ts");
        return 0;
    case OPT_NO_LL:
        c->ll = 0;
        return 0;
    case OPT_NO_DASH:
        c->dash = 0;
        return 0;
    case OPT_SEGMENT:
        if (cs_parse_seconds(arg, &c->segment) < 0 || c->segment < 0.1 ||
            c->segment > 60)
            return cs_opt_bad("segment", arg, "seconds from 0.1 to 60");
        return 0;
    case OPT_PART:
        if (cs_parse_seconds(arg, &c->part) < 0 || c->part < 0.2 - 1e-9 ||
            c->part > 0.5 + 1e-9)
            return cs_opt_bad("part", arg, "seconds from 0.2 to 0.5");
        return 0;
    case OPT_WINDOW:
        if (cs_parse_int(arg, 2, 100000, &n) < 0)
            return cs_opt_bad("window", arg, "a count of at least 2");
        c->window = (int)n;
        return 0;
    case OPT_VOD:
        c->vod = 1;
        return 0;
    case OPT_TOKEN:
        c->token = arg;
        return 0;
    }
    return CS_EUSAGE;
}

int main(int argc, char **argv)
{
    struct cs_pkg_config c = {
        .input = "-", .ll = 1, .dash = 1, .segment = 2, .part = 0.4,
        .window = 6,
    };
    struct cs_common common;
    struct cs_stats *stats = NULL;
    int i, ret;

    i = cs_opt_parse(&cmd, argc, argv, &common, on_opt, &c);
    if (i <= 0)
        return i == CS_OPT_EXIT ? CS_EXIT_OK : CS_EXIT_USAGE;
    if (i < argc)
        c.input = argv[i++];
    if (i < argc) {
        cs_error("unexpected argument '%s'", argv[i]);
        return CS_EXIT_USAGE;
    }
    if (!c.output) {
        cs_error("missing output: give -o OUTPUT");
        return CS_EXIT_USAGE;
    }
    if (!c.token)
        c.token = getenv("CS_TOKEN");
    if (c.ll && !c.ts && !c.vod &&
        (c.part > c.segment / 2 || c.segment / c.part > 60)) {
        cs_error("--part %g does not fit --segment %g: 2 to 60 parts a "
                 "segment", c.part, c.segment);
        return CS_EXIT_USAGE;
    }
    cs_sig_install();
    ret = cs_opt_stats_open(&stats, common.stats);
    if (ret < 0)
        return cs_exit_status(ret);
    ret = cs_pkg_run(&c, stats);
    return cs_exit_status(ret);
}
