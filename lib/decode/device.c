#include "decode/device.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/videodev2.h>

#include <libavdevice/avdevice.h>
#include <libavutil/mathematics.h>
#include <libavutil/threadmessage.h>
#include <libavutil/time.h>

#include "log.h"

struct kind {
    const char *name;       /* as in --device */
    const char *format;     /* libavdevice's input format */
    int video;
};

static const struct kind kinds[] = {
    { "v4l2", "video4linux2", 1 },
    { "x11grab", "x11grab", 1 },
    { "alsa", "alsa", 0 },
    { "pulse", "pulse", 0 },
    { NULL, NULL, 0 },
};

static const struct kind *find_kind(const char *spec)
{
    const char *colon = strchr(spec, ':');

    if (!colon)
        return NULL;
    for (const struct kind *k = kinds; k->name; k++) {
        if (strlen(k->name) == (size_t)(colon - spec) &&
            !strncmp(spec, k->name, (size_t)(colon - spec)))
            return k;
    }
    return NULL;
}

int cs_device_kind(const char *spec, int *video)
{
    const struct kind *k = find_kind(spec);

    if (!k || !spec[strlen(k->name) + 1])
        return CS_EUSAGE;
    *video = k->video;
    return 0;
}

/* The demuxer options a device of kind K gets from SIZE and FPS. */
static int device_options(AVDictionary **o, const struct kind *k,
                          const char *size, AVRational fps)
{
    char rate[32];
    int ret = 0;

    if (!k->video)
        return av_dict_set(o, "sample_rate", "48000", 0);
    if (!fps.num)
        fps = (AVRational){ 25, 1 };
    snprintf(rate, sizeof(rate), "%d/%d", fps.num, fps.den);
    ret = av_dict_set(o, "framerate", rate, 0);
    if (ret >= 0 && size)
        ret = av_dict_set(o, "video_size", size, 0);
    /* v4l2 stamps with the monotonic clock unless asked: the audio
     * devices use the wall clock. */
    if (ret >= 0 && !strcmp(k->name, "v4l2"))
        ret = av_dict_set(o, "ts", "abs", 0);
    if (ret >= 0 && !strcmp(k->name, "x11grab"))
        ret = av_dict_set(o, "draw_mouse", "0", 0);
    return ret;
}

/* One line for a device that would not open, with its exit status. */
static int open_failed(struct cs_err *err, int ret, const char *spec)
{
    switch (ret) {
    case CS_ESTOP:
        return ret;
    case AVERROR(EBUSY):
        return cs_err_setx(err, ret, CS_EXIT_NET, "'%s': the device is busy "
                           "(another program is using it)", spec);
    case AVERROR(EINVAL):
    case AVERROR(ERANGE):
    case AVERROR_PATCHWELCOME:
        return cs_err_setx(err, ret, CS_EXIT_USAGE, "'%s': the device refuses "
                           "the size or rate asked of it", spec);
    case AVERROR(ENOENT):
    case AVERROR(ENODEV):
    case AVERROR(ENXIO):
    case AVERROR(EIO):          /* x11grab: no display */
    case AVERROR_EXTERNAL:      /* pulse: no such source */
    case AVERROR(ECONNREFUSED): /* pulse: no server */
        return cs_err_setx(err, ret, CS_EXIT_NET, "'%s': no such device "
                           "(or it is not connected)", spec);
    case AVERROR(ESRCH):        /* pulse: no server to connect to */
        return cs_err_setx(err, ret, CS_EXIT_NET, "'%s': no sound server "
                           "(is PulseAudio or PipeWire running?)", spec);
    case CS_EUSAGE:
        return cs_err_setx(err, ret, CS_EXIT_USAGE, "'%s': this libavdevice "
                           "has no such kind of device", spec);
    default:
        return cs_err_code(err, ret, "'%s': cannot open the device", spec);
    }
}

int cs_device_open(struct cs_input **out, const char *spec, AVRational fps,
                   struct cs_err *err)
{
    const struct kind *k = find_kind(spec);
    AVDictionary *o = NULL;
    char *name = NULL, *size;
    int ret;

    *out = NULL;
    if (!k)
        return cs_err_set(err, CS_EUSAGE, "'%s': unknown kind of device "
                          "(v4l2, x11grab, alsa or pulse)", spec);
    name = strdup(spec + strlen(k->name) + 1);
    if (!name)
        return AVERROR(ENOMEM);
    size = k->video ? strrchr(name, '@') : NULL;
    if (size)
        *size++ = 0;
    ret = device_options(&o, k, size, fps);
    if (ret >= 0)
        ret = cs_input_open(out, name, k->format, o,
                            CS_INPUT_DECODE | CS_INPUT_LOW_DELAY |
                            (k->video ? CS_INPUT_VIDEO : CS_INPUT_AUDIO));
    if (ret < 0)
        ret = open_failed(err, ret, spec);
    av_dict_free(&o);
    free(name);
    return ret;
}

/* A packet from a reader thread to the capture's reader. */
struct msg {
    AVPacket *pkt;
    int dev;
};

struct cs_capture {
    struct cs_input *in[CS_DEVICE_MAX];
    pthread_t thread[CS_DEVICE_MAX];
    int started[CS_DEVICE_MAX];
    int nb;
    struct cs_input *video, *audio;
    AVThreadMessageQueue *queue;    /* every device's packets, as they come */
    int64_t first_us, last_us;      /* the audio device's time, for --duration */
    int64_t late_us[CS_DEVICE_MAX]; /* the most a packet came after its time */
    int64_t start;                  /* the earliest start time, read before
                                       the readers start */
};

struct reader {
    struct cs_capture *c;
    int dev;
};

static void free_msg(void *m)
{
    av_packet_free(&((struct msg *)m)->pkt);
}

/* One device's thread: each packet is queued as soon as it is read, so a
 * device is never left waiting while the other one is read. */
static void *read_device(void *arg)
{
    struct cs_capture *c = ((struct reader *)arg)->c;
    int dev = ((struct reader *)arg)->dev, ret;

    free(arg);
    for (;;) {
        struct msg m = { av_packet_alloc(), dev };

        ret = m.pkt ? cs_input_read(c->in[dev], m.pkt) : AVERROR(ENOMEM);
        if (ret >= 0)
            ret = av_thread_message_queue_send(c->queue, &m, 0);
        if (ret < 0) {
            av_packet_free(&m.pkt);
            break;
        }
    }
    av_thread_message_queue_set_err_recv(c->queue, ret);
    return NULL;
}

static int start_readers(struct cs_capture *c)
{
    int ret = av_thread_message_queue_alloc(&c->queue, 64, sizeof(struct msg));

    if (ret < 0)
        return ret;
    av_thread_message_queue_set_free_func(c->queue, free_msg);
    for (int i = 0; i < c->nb; i++) {
        struct reader *r = malloc(sizeof(*r));

        if (!r)
            return AVERROR(ENOMEM);
        *r = (struct reader){ c, i };
        ret = pthread_create(&c->thread[i], NULL, read_device, r);
        if (ret) {
            free(r);
            return AVERROR(ret);
        }
        c->started[i] = 1;
    }
    return 0;
}

/* Add the opened device IN; one video and one audio at most. */
static int add_device(struct cs_capture *c, struct cs_input *in,
                      const char *spec, struct cs_err *err)
{
    c->in[c->nb++] = in;
    if (in->vidx >= 0 && !c->video)
        c->video = in;
    else if (in->aidx >= 0 && !c->audio)
        c->audio = in;
    else
        return cs_err_set(err, CS_EUSAGE, "'%s': one video and one audio "
                          "device at most", spec);
    return 0;
}

int cs_capture_open(struct cs_capture **out, const char *const *specs,
                    int nb, AVRational fps, struct cs_err *err)
{
    struct cs_capture *c = calloc(1, sizeof(*c));
    int ret = 0;

    *out = NULL;
    if (!c)
        return AVERROR(ENOMEM);
    c->first_us = c->last_us = AV_NOPTS_VALUE;
    for (int i = 0; i < nb && i < CS_DEVICE_MAX && ret >= 0; i++) {
        struct cs_input *in;

        ret = cs_device_open(&in, specs[i], fps, err);
        if (ret >= 0)
            ret = add_device(c, in, specs[i], err);
    }
    c->start = AV_NOPTS_VALUE;
    for (int i = 0; i < c->nb && ret >= 0; i++) {
        int64_t s = c->in[i]->fmt->start_time;

        if (s != AV_NOPTS_VALUE && (c->start == AV_NOPTS_VALUE || s < c->start))
            c->start = s;
    }
    if (ret >= 0)
        ret = start_readers(c);
    if (ret < 0) {
        cs_capture_free(&c);
        return ret;
    }
    *out = c;
    return 0;
}

struct cs_input *cs_capture_video(const struct cs_capture *c)
{
    return c->video;
}

struct cs_input *cs_capture_audio(const struct cs_capture *c)
{
    return c->audio;
}

int64_t cs_capture_start(const struct cs_capture *c)
{
    return c->start;
}

double cs_capture_audio_s(const struct cs_capture *c)
{
    if (c->first_us == AV_NOPTS_VALUE)
        return 0;
    return (double)(c->last_us - c->first_us) / 1e6;
}

int cs_capture_read(struct cs_capture *c, AVPacket *pkt,
                    struct cs_input **from)
{
    struct msg m;
    const AVStream *st;
    int ret = av_thread_message_queue_recv(c->queue, &m, 0);

    if (ret < 0)
        return ret;
    *from = c->in[m.dev];
    av_packet_move_ref(pkt, m.pkt);
    av_packet_free(&m.pkt);
    st = (*from)->fmt->streams[pkt->stream_index];
    if (pkt->pts != AV_NOPTS_VALUE) {
        int64_t late = av_gettime() - av_rescale_q(pkt->pts, st->time_base,
                                                   AV_TIME_BASE_Q);

        if (late > c->late_us[m.dev])
            c->late_us[m.dev] = late;
    }
    if (*from == c->audio && pkt->pts != AV_NOPTS_VALUE) {
        c->last_us = av_rescale_q(pkt->pts + pkt->duration, st->time_base,
                                  AV_TIME_BASE_Q);
        if (c->first_us == AV_NOPTS_VALUE)
            c->first_us = av_rescale_q(pkt->pts, st->time_base,
                                       AV_TIME_BASE_Q);
    }
    return 0;
}

void cs_capture_delays(const struct cs_capture *c, double *video_ms,
                       double *audio_ms)
{
    *video_ms = *audio_ms = 0;
    for (int i = 0; i < c->nb; i++) {
        double ms = (double)c->late_us[i] / 1000;

        if (c->in[i] == c->video)
            *video_ms = ms;
        else
            *audio_ms = ms;
    }
}

void cs_capture_free(struct cs_capture **pc)
{
    struct cs_capture *c = *pc;

    if (!c)
        return;
    /* Readers wake from their device within a frame or a fragment, find
     * the queue closed and end. */
    if (c->queue)
        av_thread_message_queue_set_err_send(c->queue, AVERROR_EOF);
    for (int i = 0; i < c->nb; i++) {
        if (c->started[i]) {
            av_thread_message_flush(c->queue);
            pthread_join(c->thread[i], NULL);
        }
    }
    av_thread_message_queue_free(&c->queue);
    for (int i = 0; i < c->nb; i++)
        cs_input_free(&c->in[i]);
    free(c);
    *pc = NULL;
}

/* The pixel formats a V4L2 camera offers, after its line. */
static void list_v4l2_formats(FILE *out, const char *node)
{
    struct v4l2_fmtdesc d;
    int fd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return;
    memset(&d, 0, sizeof(d));
    d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    fputs("  formats:", out);
    while (ioctl(fd, VIDIOC_ENUM_FMT, &d) == 0) {
        fprintf(out, " %c%c%c%c (%s)", d.pixelformat & 0xff,
                (d.pixelformat >> 8) & 0xff, (d.pixelformat >> 16) & 0xff,
                (d.pixelformat >> 24) & 0xff, (const char *)d.description);
        d.index++;
    }
    fputc('\n', out);
    close(fd);
}

static int list_kind(FILE *out, const struct kind *k)
{
    const AVInputFormat *f = av_find_input_format(k->format);
    AVDeviceInfoList *list = NULL;
    int n = 0;

    if (!f || avdevice_list_input_sources(f, NULL, NULL, &list) < 0)
        goto out;
    for (int i = 0; i < list->nb_devices; i++) {
        const AVDeviceInfo *d = list->devices[i];

        fprintf(out, "%s:%s\t%s\n", k->name, d->device_name,
                d->device_description ? d->device_description : "");
        n++;
        if (k->video && !strcmp(k->name, "v4l2"))
            list_v4l2_formats(out, d->device_name);
    }
out:
    avdevice_free_list_devices(&list);
    return n;
}

int cs_device_list(FILE *out)
{
    const char *display = getenv("DISPLAY");
    int n = 0;

    avdevice_register_all();
    for (const struct kind *k = kinds; k->name; k++) {
        if (strcmp(k->name, "x11grab"))
            n += list_kind(out, k);
    }
    /* x11grab lists nothing itself: the display this session uses. */
    if (display && *display && av_find_input_format("x11grab")) {
        fprintf(out, "x11grab:%s\tthe X display in $DISPLAY\n", display);
        n++;
    }
    return n;
}
