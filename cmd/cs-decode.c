/* cs-decode: decode any media into one normalised raw stream (NUT or y4m). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/pixdesc.h>

#include "common.h"
#include "decode/device.h"
#include "decode/engine.h"
#include "err.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"

enum {
    OPT_PIXFMT = CS_OPT_KEY(0),
    OPT_DEVICE,
    OPT_LOOP,
};

#define AT(field) offsetof(struct cfg, field)

struct cfg {
    struct cs_decode_cfg d;
    int latency, list_devices;
    int video_devices;
};

static const struct cs_opt options[] = {
    { "output", 'o', "FILE|-", "where the raw stream goes", "-", "file",
      CS_OPT_STRING, AT(d.output) },
    { "size", 's', "WxH",
      "output size; the picture keeps its aspect ratio, padded with black",
      NULL, NULL, .shown = "the first input's" },
    { "fps", 'r', "RATE", "constant output frame rate (25, 12.5, 30000/1001)",
      NULL, NULL, CS_OPT_RATIONAL, AT(d.fps), .shown = "the first input's" },
    { "pix-fmt", OPT_PIXFMT, "FMT", "output pixel format", "yuv420p",
      "yuv420p yuv422p yuv444p nv12 gray" },
    { "y4m", 0, NULL, "write YUV4MPEG2 (video only) instead of NUT",
      NULL, NULL, CS_OPT_FLAG, AT(d.y4m) },
    { "playlist", 0, "FILE|-",
      "play the inputs listed one a line, read as lines arrive", NULL,
      "file", CS_OPT_STRING, AT(d.playlist) },
    { "device", OPT_DEVICE, "KIND:NAME",
      "capture from a device: v4l2:/dev/video0, x11grab::0+X,Y@WxH, "
      "alsa:hw:0, pulse:SOURCE (twice: one video and one audio)", NULL, NULL },
    { "list-devices", 0, NULL,
      "list the capture devices libavdevice finds, one KIND:NAME a line",
      NULL, NULL, CS_OPT_FLAG, AT(list_devices) },
    { "realtime", 0, NULL,
      "pace the output at wall-clock speed (like ffmpeg -re; implied by "
      "--device)", NULL, NULL, CS_OPT_FLAG, AT(d.realtime) },
    { "duration", 't', "SECONDS", "stop after SECONDS of output", NULL, NULL,
      CS_OPT_SECONDS, AT(d.duration), 0.04, 1e9, "to the end" },
    { "loop", OPT_LOOP, "N|inf", "play the inputs N times", "1", NULL },
    { "stamp", 0, NULL,
      "draw the wall-clock time (ms) across the top of each frame", NULL,
      NULL, CS_OPT_FLAG, AT(d.stamp) },
    { "latency", 0, NULL,
      "read the stamp of each frame of INPUT: JSON lines of now minus stamp",
      NULL, NULL, CS_OPT_FLAG, AT(latency) },
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
    "ffplay -f nut -\n"
    "  cs-decode --device x11grab::0 --device pulse:default | "
    "cs-encode --tune zerolatency -o live.ts\n",
    NULL, /* no subcommands */
};

static int parse(void *opaque, int key, const char *arg, struct cs_err *err)
{
    struct cfg *c = opaque;
    long n;
    int video;

    switch (key) {
    case 's':
        if (cs_parse_size(arg, &c->d.width, &c->d.height) < 0 ||
            (c->d.width | c->d.height) & 1)
            return cs_opt_bad(err, "size", arg, "an even size like 1280x720");
        return 0;
    case OPT_PIXFMT:
        c->d.pix_fmt = av_get_pix_fmt(arg);
        if (c->d.pix_fmt == AV_PIX_FMT_NONE)
            return cs_opt_bad(err, "pix-fmt", arg,
                              "a pixel format like yuv420p");
        return 0;
    case OPT_DEVICE:
        if (cs_device_kind(arg, &video) < 0)
            return cs_opt_bad(err, "device", arg, "KIND:NAME, KIND one of "
                              "v4l2, x11grab, alsa, pulse");
        if (c->d.nb_devices && c->video_devices == video)
            return cs_opt_bad(err, "device", arg, "one video and one audio "
                              "device at most");
        c->video_devices += video;
        c->d.devices[c->d.nb_devices++] = arg;
        return 0;
    case OPT_LOOP:
        if (!strcmp(arg, "inf"))
            n = 0;
        else if (cs_parse_int(arg, 1, 1000000000, &n) < 0)
            return cs_opt_bad(err, "loop", arg, "a count of 1 or more, or inf");
        c->d.loop = (int)n;
        return 0;
    default:
        return CS_EUSAGE;
    }
}

/* Combinations the options cannot express: 0, or the usage error's exit
 * status after its line. */
static int check(struct cfg *c, int nb)
{
    int sources = (nb > 0) + !!c->d.playlist + !!c->d.nb_devices;

    if (sources > 1)
        return cs_cmd_conflict("give inputs, --playlist or --device, "
                               "not several");
    if (c->latency && (c->d.playlist || c->d.nb_devices || nb > 1))
        return cs_cmd_conflict("--latency reads one INPUT");
    if (c->d.y4m && c->d.pix_fmt != AV_PIX_FMT_YUV420P &&
        c->d.pix_fmt != AV_PIX_FMT_YUV422P &&
        c->d.pix_fmt != AV_PIX_FMT_YUV444P && c->d.pix_fmt != AV_PIX_FMT_GRAY8)
        return cs_cmd_conflict("--y4m carries yuv420p, yuv422p, yuv444p "
                               "or gray only");
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
    /* --loop is parsed by hand (N or inf): its default is set here. */
    struct cfg c = { .d = { .pix_fmt = AV_PIX_FMT_YUV420P, .loop = 1 } };
    struct cs_common common;
    struct cs_err err = { 0 };
    int ret, first, status;

    first = cs_cmd_parse(&cmd, argc, argv, &common, parse, &c, &status);
    if (first <= 0)
        return status;
    status = check(&c, argc - first);
    if (status)
        return status;
    if (c.list_devices) {
        if (cs_device_list(stdout) == 0)
            cs_info("no capture devices found");
        return fflush(stdout) == 0 ? CS_EXIT_OK : CS_EXIT_FAIL;
    }
    /* A device delivers in real time: the output keeps its pace. */
    if (c.d.nb_devices)
        c.d.realtime = 1;
    if (argc > first) {
        c.d.inputs = (const char *const *)argv + first;
        c.d.nb_inputs = argc - first;
    } else if (!c.d.playlist && !c.d.nb_devices) {
        c.d.inputs = stdin_input;
        c.d.nb_inputs = 1;
    }
    ret = cs_cmd_start(&c.d.stats, common.stats, &err);
    if (ret < 0)
        return cs_cmd_exit(&err, ret);
    if (c.latency) {
        ret = cs_latency_run(c.d.inputs[0], c.d.stats, &err);
    } else {
        struct cs_decode_result res = { { 0, 0 }, 0, 0, 0 };

        ret = cs_decode_run(&c.d, &res, &err);
        tell(&res);
    }
    return cs_cmd_exit(&err, ret);
}
