/* cs-segment: package a ladder's stream as HLS (MPEG-TS or fMP4/CMAF),
 * Low-Latency HLS and DASH, to a folder, S3 or an HTTP origin. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "err.h"
#include "hls/packager.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"

enum {
    OPT_NO_LL = CS_OPT_KEY(0),
    OPT_NO_DASH,
};

#define AT(field) offsetof(struct cs_pkg_config, field)

static const struct cs_opt opts[] = {
    { "output", 'o', "OUTPUT", "a folder, s3://bucket/prefix/ or "
      "http(s)://origin/path/; repeat to write to each (up to 8)", NULL,
      "dir", CS_OPT_CALL },
    { "container", 0, "fmp4|ts", "segment container", "fmp4", "fmp4 ts",
      CS_OPT_ENUM, AT(ts) },
    { "no-ll", OPT_NO_LL, NULL, "no Low-Latency HLS parts", NULL, NULL },
    { "no-dash", OPT_NO_DASH, NULL, "no DASH manifest", NULL, NULL },
    { "segment", 0, "SECONDS", "segment duration, a multiple of the GOP",
      "2", NULL, CS_OPT_SECONDS, AT(segment), 0.1, 60 },
    { "part", 0, "SECONDS", "LL-HLS part target (0.2 to 0.5)", "0.4", NULL,
      CS_OPT_SECONDS, AT(part), 0.2, 0.5 },
    { "window", 0, "N", "segments kept in a live playlist", "6", NULL,
      CS_OPT_INT, AT(window), 2, 100000 },
    { "vod", 0, NULL, "package the whole input as video on demand", NULL,
      NULL, CS_OPT_FLAG, AT(vod) },
    { "token", 0, "TOKEN", "bearer token for an HTTP origin", NULL, NULL,
      CS_OPT_STRING, AT(token), .shown = "$CS_TOKEN" },
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

static int on_opt(void *opaque, int key, const char *arg,
                  struct cs_err *err)
{
    struct cs_pkg_config *c = opaque;

    switch (key) {
    case 'o':
        if (c->noutputs == CS_PKG_MAX_OUTPUTS)
            return cs_err_set(err, CS_EUSAGE, "too many outputs: -o at most "
                              "%d times", CS_PKG_MAX_OUTPUTS);
        c->outputs[c->noutputs++] = arg;
        c->output = c->outputs[0];
        return 0;
    case OPT_NO_LL:
        c->ll = 0;
        return 0;
    case OPT_NO_DASH:
        c->dash = 0;
        return 0;
    }
    return CS_EUSAGE;
}

/* An output of several stopped or resumed taking writes: the run goes on
 * with the others. */
static void on_output(void *opaque, const char *output, const char *why)
{
    (void)opaque;
    if (why)
        cs_warn("%s; going on with the other outputs", why);
    else
        cs_info("'%s': writing again", output);
}

int main(int argc, char **argv)
{
    struct cs_pkg_config c = { .input = "-", .ll = 1, .dash = 1,
                               .on_output = on_output };
    struct cs_common common;
    struct cs_stats *stats = NULL;
    struct cs_err err = { 0 };
    int i, ret, status;

    i = cs_cmd_parse(&cmd, argc, argv, &common, on_opt, &c, &status);
    if (i <= 0)
        return status;
    if (i < argc)
        c.input = argv[i++];
    if (i < argc)
        return cs_cmd_usage("unexpected argument '%s'", argv[i]);
    if (!c.output)
        return cs_cmd_conflict("missing output: give -o OUTPUT");
    if (!c.token)
        c.token = getenv("CS_TOKEN");
    if (c.ll && !c.ts && !c.vod &&
        (c.part > c.segment / 2 || c.segment / c.part > 60))
        return cs_cmd_conflict("--part %g does not fit --segment %g: 2 to "
                               "60 parts a segment", c.part, c.segment);
    ret = cs_cmd_start(&stats, common.stats, &err);
    if (ret < 0)
        return cs_cmd_exit(&err, ret);
    ret = cs_pkg_run(&c, stats, &err);
    return cs_cmd_exit(&err, ret);
}
