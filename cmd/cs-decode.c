/* cs-decode: decode any media into one normalised raw stream (NUT or y4m). */
#include <stdio.h>
#include <string.h>

#include <libavutil/pixdesc.h>

#include "decode/decoder.h"
#include "err.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"

enum {
    OPT_PIXFMT = CS_OPT_KEY(0),
    OPT_Y4M,
    OPT_PLAYLIST,
    OPT_DEVICE,
    OPT_REALTIME,
    OPT_LOOP,
    OPT_STAMP,
    OPT_LATENCY,
};

static const struct cs_opt options[] = {
    { "output", 'o', "FILE|-", "where the raw stream goes", "-", "file" },
    { "size", 's', "WxH",
      "output size; the picture keeps its aspect ratio, padded with black",
      "the first input's", NULL },
    { "fps", 'r', "RATE", "constant output frame rate (25, 12.5, 30000/1001)",
      "the first input's", NULL },
    { "pix-fmt", OPT_PIXFMT, "FMT", "output pixel format", "yuv420p",
      "yuv420p yuv422p yuv444p nv12 gray" },
    { "y4m", OPT_Y4M, NULL, "write YUV4MPEG2 (video only) instead of NUT",
      NULL, NULL },
    { "playlist", OPT_PLAYLIST, "FILE|-",
      "play the inputs listed one a line, read as lines arrive", NULL,
      "file" },
    { "device", OPT_DEVICE, "KIND:NAME",
      "capture from a device (v4l2:/dev/video0, alsa:hw:0)", NULL, NULL },
    { "realtime", OPT_REALTIME, NULL,
      "pace the output at wall-clock speed (like ffmpeg -re)", NULL, NULL },
    { "loop", OPT_LOOP, "N|inf", "play the inputs N times", "1", NULL },
    { "stamp", OPT_STAMP, NULL,
      "draw the wall-clock time (ms) across the top of each frame", NULL,
      NULL },
    { "latency", OPT_LATENCY, NULL,
      "read the stamp of each frame of INPUT: JSON lines of now minus stamp",
      NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-decode", "[options] [INPUT...]",
    "Decode any media into one raw A/V stream (NUT: rawvideo + pcm_s16le "
    "48 kHz stereo)\non one continuous timeline. INPUT is a file, a URL or "
    "'-' (standard input, the default).",
    options,
    "Examples:\n"
    "  cs-decode --size 1280x720 --fps 25 in.mp4 | cs-encode -o out.ts\n"
    "  cs-fetch play assets/ | cs-decode --playlist - --realtime --stamp | "
    "ffplay -f nut -\n",
    NULL, /* no subcommands */
};

struct cfg {
    struct cs_decode_cfg d;
    int latency;
};

static int parse(void *opaque, int key, const char *arg)
{
    struct cfg *c = opaque;
    long n;

    switch (key) {
    case 'o':
        c->d.output = arg;
        return 0;
    case 's':
        if (cs_parse_size(arg, &c->d.width, &c->d.height) < 0 ||
            (c->d.width | c->d.height) & 1)
            return cs_opt_bad("size", arg, "an even size like 1280x720");
        return 0;
    case 'r':
        if (cs_parse_rational(arg, &c->d.fps) < 0)
            return cs_opt_bad("fps", arg, "a rate like 25 or 30000/1001");
        return 0;
    case OPT_PIXFMT:
        c->d.pix_fmt = av_get_pix_fmt(arg);
        if (c->d.pix_fmt == AV_PIX_FMT_NONE)
            return cs_opt_bad("pix-fmt", arg, "a pixel format like yuv420p");
        return 0;
    case OPT_Y4M:
        c->d.y4m = 1;
        return 0;
    case OPT_PLAYLIST:
        c->d.playlist = arg;
        return 0;
    case OPT_DEVICE:
        if (!strchr(arg, ':') || arg[0] == ':')
            return cs_opt_bad("device", arg, "KIND:NAME like v4l2:/dev/video0");
        c->d.device = arg;
        return 0;
    case OPT_REALTIME:
        c->d.realtime = 1;
        return 0;
    case OPT_LOOP:
        if (!strcmp(arg, "inf"))
            n = 0;
        else if (cs_parse_int(arg, 1, 1000000000, &n) < 0)
            return cs_opt_bad("loop", arg, "a count of 1 or more, or inf");
        c->d.loop = (int)n;
        return 0;
    case OPT_STAMP:
        c->d.stamp = 1;
        return 0;
    case OPT_LATENCY:
        c->latency = 1;
        return 0;
    default:
        return CS_EUSAGE;
    }
}

static int check(struct cfg *c, int nb)
{
    int sources = (nb > 0) + !!c->d.playlist + !!c->d.device;

    if (sources > 1) {
        cs_error("give inputs, --playlist or --device, not several");
        return CS_EUSAGE;
    }
    if (c->latency && (c->d.playlist || c->d.device || nb > 1)) {
        cs_error("--latency reads one INPUT");
        return CS_EUSAGE;
    }
    if (c->d.y4m && c->d.pix_fmt != AV_PIX_FMT_YUV420P &&
        c->d.pix_fmt != AV_PIX_FMT_YUV422P &&
        c->d.pix_fmt != AV_PIX_FMT_YUV444P && c->d.pix_fmt != AV_PIX_FMT_GRAY8) {
        cs_error("--y4m carries yuv420p, yuv422p, yuv444p or gray only");
        return CS_EUSAGE;
    }
    return 0;
}

/* What the run changed or lost: frames are never left out or repeated
 * without a word. */
static void tell(const struct cs_decode_result *r)
{
    if (r->dropped || r->duplicated)
        cs_warn("%lld input frames dropped and %lld repeated to make %.5g fps",
                (long long)r->dropped, (long long)r->duplicated,
                av_q2d(r->fps));
    if (r->truncated)
        cs_warn("%d input%s ended inside a frame (that frame is left out)",
                r->truncated, r->truncated > 1 ? "s" : "");
}

int main(int argc, char **argv)
{
    static const char *const stdin_input[] = { "-" };
    struct cfg c = { .d = { .output = "-", .pix_fmt = AV_PIX_FMT_YUV420P,
                            .loop = 1 } };
    struct cs_common common;
    int ret, first;

    first = cs_opt_parse(&cmd, argc, argv, &common, parse, &c);
    if (first <= 0)
        return first == CS_OPT_EXIT ? CS_EXIT_OK : CS_EXIT_USAGE;
    ret = check(&c, argc - first);
    if (ret < 0)
        return CS_EXIT_USAGE;
    ret = cs_sig_install();
    if (ret < 0) {
        cs_error("cannot install the signal handlers: %s", CS_ERRSTR(ret));
        return CS_EXIT_FAIL;
    }
    ret = cs_opt_stats_open(&c.d.stats, common.stats);
    if (ret < 0)
        return cs_exit_status(ret);
    if (argc > first) {
        c.d.inputs = (const char *const *)argv + first;
        c.d.nb_inputs = argc - first;
    } else if (!c.d.playlist && !c.d.device) {
        c.d.inputs = stdin_input;
        c.d.nb_inputs = 1;
    }
    if (c.latency) {
        ret = cs_latency_run(c.d.inputs[0], c.d.stats);
    } else {
        struct cs_decode_result res = { { 0, 0 }, 0, 0, 0 };

        ret = cs_decode_run(&c.d, &res);
        tell(&res);
    }
    return cs_exit_status(ret);
}
