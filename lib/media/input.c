#include "media/input.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavdevice/avdevice.h>
#include <libavutil/avstring.h>
#include <libavutil/imgutils.h>
#include <libavutil/mathematics.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "sig.h"

#define PEEK_SIZE (256 * 1024)
#define AVIO_BUF_SIZE (64 * 1024)
/* A declared frame rate above this is a time base, not a rate. */
#define MAX_FPS 240

/* Standard input behind a peeked prefix: the prefix is served first. */
struct pipe_src {
    int fd;
    uint8_t *prefix;
    size_t len, pos;
};

static int pipe_read(void *opaque, uint8_t *buf, int size)
{
    struct pipe_src *p = opaque;
    ssize_t r;

    if (p->pos < p->len) {
        size_t n = p->len - p->pos;

        if (n > (size_t)size)
            n = (size_t)size;
        memcpy(buf, p->prefix + p->pos, n);
        p->pos += n;
        return (int)n;
    }
    do {
        r = read(p->fd, buf, (size_t)size);
    } while (r < 0 && errno == EINTR && !cs_stopping());
    if (r < 0)
        return AVERROR(errno);
    return r == 0 ? AVERROR_EOF : (int)r;
}

static int interrupt_cb(void *opaque)
{
    return cs_stopping();
}

static uint32_t rb32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* An ISO-BMFF file whose moov does not come before its mdat (or not within
 * the peeked bytes) cannot be demuxed from a pipe. */
static int needs_spool(const uint8_t *b, size_t len)
{
    size_t pos = 0;

    if (len < 12 || memcmp(b + 4, "ftyp", 4))
        return 0;
    while (pos + 8 <= len) {
        uint64_t size = rb32(b + pos);
        const uint8_t *type = b + pos + 4;

        if (!memcmp(type, "moov", 4))
            return 0;
        if (!memcmp(type, "mdat", 4))
            return 1;
        if (size == 1 && pos + 16 <= len)
            size = (uint64_t)rb32(b + pos + 8) << 32 | rb32(b + pos + 12);
        if (size < 8)
            return 1;
        pos += size;
    }
    return 1;
}

/* The first bytes of standard input (at most PEEK_SIZE), and the wall
 * clock at which they came (*FIRST_US). */
static int peek_stdin(struct pipe_src *p, int64_t *first_us)
{
    p->fd = 0;
    p->prefix = av_malloc(PEEK_SIZE);
    if (!p->prefix)
        return AVERROR(ENOMEM);
    while (p->len < PEEK_SIZE) {
        ssize_t r = read(0, p->prefix + p->len, PEEK_SIZE - p->len);

        if (r < 0 && errno == EINTR && !cs_stopping())
            continue;
        if (r < 0)
            return AVERROR(errno);
        if (r == 0)
            break;
        if (!p->len)
            *first_us = cs_wall_us();
        p->len += (size_t)r;
        /* Enough to tell an mp4's layout, or to start a live stream. */
        if (p->len >= 4096 && (p->len >= 64 * 1024 ||
                               memcmp(p->prefix + 4, "ftyp", 4)))
            break;
    }
    return p->len == 0 ? CS_EEMPTY : 0;
}

static int spool_stdin(struct pipe_src *p, char **path)
{
    const char *dir = getenv("TMPDIR");
    char *tmpl;
    uint8_t *buf = NULL;
    int fd, ret = 0;

    tmpl = av_asprintf("%s/cs-spool-XXXXXX", dir && *dir ? dir : "/tmp");
    if (!tmpl)
        return AVERROR(ENOMEM);
    fd = mkstemp(tmpl);
    if (fd < 0) {
        ret = AVERROR(errno);
        goto out;
    }
    buf = av_malloc(AVIO_BUF_SIZE);
    if (!buf) {
        ret = AVERROR(ENOMEM);
        goto out;
    }
    for (;;) {
        int n = pipe_read(p, buf, AVIO_BUF_SIZE);

        if (n == AVERROR_EOF)
            break;
        if (n < 0 || write(fd, buf, (size_t)n) != n) {
            ret = n < 0 ? n : AVERROR(EIO);
            goto out;
        }
    }
    cs_verbose("spooled an mp4 from the pipe to '%s'", tmpl);
out:
    av_free(buf);
    if (fd >= 0)
        close(fd);
    if (ret < 0 && fd >= 0)
        unlink(tmpl);
    if (ret < 0)
        av_free(tmpl);
    else
        *path = tmpl;
    return ret;
}

/* Standard input: peek, then either spool to a file or demux the pipe. */
static int open_stdin(struct cs_input *in, AVDictionary **opts,
                      const AVInputFormat *ifmt)
{
    struct pipe_src *p;
    uint8_t *buf;
    int ret;

    p = av_mallocz(sizeof(*p));
    if (!p)
        return AVERROR(ENOMEM);
    ret = peek_stdin(p, &in->first_us);
    if (ret >= 0 && !ifmt && needs_spool(p->prefix, p->len)) {
        ret = spool_stdin(p, &in->spool);
        if (ret >= 0)
            ret = avformat_open_input(&in->fmt, in->spool, NULL, opts);
        goto out;
    }
    buf = ret < 0 ? NULL : av_malloc(AVIO_BUF_SIZE);
    if (ret >= 0 && !buf)
        ret = AVERROR(ENOMEM);
    if (ret < 0)
        goto out;
    in->pipe_io = avio_alloc_context(buf, AVIO_BUF_SIZE, 0, p, pipe_read,
                                     NULL, NULL);
    if (!in->pipe_io) {
        av_free(buf);
        ret = AVERROR(ENOMEM);
        goto out;
    }
    p = NULL; /* owned by pipe_io from here, freed by cs_input_free */
    in->pipe_io->seekable = 0;
    in->fmt->pb = in->pipe_io;
    in->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    ret = avformat_open_input(&in->fmt, NULL, ifmt, opts);
out:
    if (p) {
        av_free(p->prefix);
        av_free(p);
    }
    return ret;
}

static void free_pipe_io(AVIOContext **pb)
{
    struct pipe_src *p;

    if (!*pb)
        return;
    p = (*pb)->opaque;
    if (p) {
        av_free(p->prefix);
        av_free(p);
    }
    av_freep(&(*pb)->buffer);
    avio_context_free(pb);
}

static int open_format(struct cs_input *in, const char *url,
                       const char *format, const AVDictionary *opts,
                       unsigned flags)
{
    const AVInputFormat *ifmt = NULL;
    AVDictionary *o = NULL;
    int ret;

    if (format) {
        avdevice_register_all();
        ifmt = av_find_input_format(format);
        if (!ifmt)
            return CS_EUSAGE;   /* the caller names FORMAT */
    }
    ret = av_dict_copy(&o, opts, 0);
    if (ret >= 0 && (flags & CS_INPUT_LOW_DELAY))
        ret = av_dict_set(&o, "probesize", "500000", AV_DICT_DONT_OVERWRITE);
    if (ret >= 0 && (flags & CS_INPUT_LOW_DELAY))
        ret = av_dict_set(&o, "analyzeduration", "1000000",
                          AV_DICT_DONT_OVERWRITE);
    if (ret < 0)
        goto out;
    in->fmt = avformat_alloc_context();
    if (!in->fmt) {
        ret = AVERROR(ENOMEM);
        goto out;
    }
    in->fmt->interrupt_callback.callback = interrupt_cb;
    if (!strcmp(url, "-"))
        ret = open_stdin(in, &o, ifmt);
    else
        ret = avformat_open_input(&in->fmt, url, ifmt, &o);
    /* (a URL's first bytes came during the open: its end is near enough) */
    if (ret >= 0 && !in->first_us)
        in->first_us = cs_wall_us();
out:
    av_dict_free(&o);
    return ret;
}

static int pick_streams(struct cs_input *in, unsigned flags)
{
    int ret;

    in->vidx = in->aidx = -1;
    if (flags & CS_INPUT_VIDEO) {
        ret = av_find_best_stream(in->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        in->vidx = ret >= 0 ? ret : -1;
    }
    if (flags & CS_INPUT_AUDIO) {
        ret = av_find_best_stream(in->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
        in->aidx = ret >= 0 ? ret : -1;
    }
    if ((flags & (CS_INPUT_VIDEO | CS_INPUT_AUDIO)) &&
        in->vidx < 0 && in->aidx < 0)
        return CS_EDATA;
    for (unsigned i = 0; i < in->fmt->nb_streams; i++) {
        if ((int)i != in->vidx && (int)i != in->aidx &&
            (flags & (CS_INPUT_VIDEO | CS_INPUT_AUDIO)))
            in->fmt->streams[i]->discard = AVDISCARD_ALL;
    }
    if (!(flags & CS_INPUT_DECODE))
        return 0;
    if (in->vidx >= 0) {
        ret = cs_decoder_open(&in->vdec, in->fmt->streams[in->vidx], 0);
        if (ret < 0)
            return ret;
    }
    if (in->aidx >= 0) {
        ret = cs_decoder_open(&in->adec, in->fmt->streams[in->aidx], 1);
        if (ret < 0) {
            /* Undecodable audio is not worth losing the video for. */
            cs_warn("ignoring the audio: %s", CS_ERRSTR(ret));
            in->fmt->streams[in->aidx]->discard = AVDISCARD_ALL;
            in->aidx = -1;
        }
    }
    return 0;
}

/* What to add to time T of stream ST, whole turns of its wrapping clock,
 * to bring it nearest REF_US (AV_TIME_BASE); 0 for a clock that does not
 * wrap. */
static int64_t wrap_offset(const AVStream *st, int64_t t, int64_t ref_us)
{
    int64_t period, ref;

    if (st->pts_wrap_bits >= 63 || t == AV_NOPTS_VALUE ||
        ref_us == AV_NOPTS_VALUE)
        return 0;
    period = INT64_C(1) << st->pts_wrap_bits;
    ref = av_rescale_q(ref_us, AV_TIME_BASE_Q, st->time_base);
    return (int64_t)floor((double)(ref - t) / (double)period + 0.5) * period;
}

/* libavformat unwraps a TS clock only from a reference 60 s before the
 * first time it read: a stream that starts at 0 (ours, and most
 * encoders') is not unwrapped when it turns 26.5 hours later, and its
 * audio priming, written just below 0 after a picture at 0, reads as 26.5
 * hours on (a player then finds no audio where the video is). So times
 * are placed here nearest the last one read, starting from the video's
 * start (else the first stream's). */
static void unwrap_start(struct cs_input *in)
{
    unsigned n = in->fmt->nb_streams;
    int64_t ref = AV_NOPTS_VALUE;

    for (unsigned k = 0; k <= n; k++) {
        int i = k == 0 ? in->vidx : (int)k - 1;
        AVStream *st = i >= 0 ? in->fmt->streams[i] : NULL;

        if (!st || st->start_time == AV_NOPTS_VALUE)
            continue;
        st->start_time += wrap_offset(st, st->start_time, ref);
        if (ref == AV_NOPTS_VALUE)
            ref = av_rescale_q(st->start_time, st->time_base, AV_TIME_BASE_Q);
    }
    in->wrap_ref = ref;
}

static void unwrap_packet(struct cs_input *in, AVPacket *pkt)
{
    const AVStream *st = in->fmt->streams[pkt->stream_index];
    int64_t t = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts, off;

    if (t == AV_NOPTS_VALUE || st->pts_wrap_bits >= 63)
        return;
    off = wrap_offset(st, t, in->wrap_ref);
    if (pkt->pts != AV_NOPTS_VALUE)
        pkt->pts += off;
    if (pkt->dts != AV_NOPTS_VALUE)
        pkt->dts += off;
    in->wrap_ref = av_rescale_q(t + off, st->time_base, AV_TIME_BASE_Q);
}

int cs_input_open(struct cs_input **out, const char *url, const char *format,
                  const AVDictionary *opts, unsigned flags)
{
    struct cs_input *in;
    int ret;

    *out = NULL;
    in = av_mallocz(sizeof(*in));
    if (!in)
        return AVERROR(ENOMEM);
    in->vidx = in->aidx = -1;
    ret = open_format(in, url, format, opts, flags);
    if (ret < 0)
        goto fail;
    ret = avformat_find_stream_info(in->fmt, NULL);
    if (ret < 0)
        goto fail;
    ret = pick_streams(in, flags);
    if (ret < 0)
        goto fail;
    unwrap_start(in);
    *out = in;
    return 0;
fail:
    if (cs_stopping())
        ret = CS_ESTOP;
    else if (ret == AVERROR_EOF)
        ret = CS_EDATA;
    cs_input_free(&in);
    return ret;
}

static int read_packet(struct cs_input *in, AVPacket *pkt)
{
    int ret;

    if (in->next && in->next->data) {
        av_packet_move_ref(pkt, in->next);
        return 0;
    }
    ret = av_read_frame(in->fmt, pkt);
    return ret < 0 && cs_stopping() ? CS_ESTOP : ret;
}

/* A packet shorter than it should be: av_get_packet() flags one it could
 * not read whole, and an uncompressed picture has one size (the NUT
 * demuxer hands out what it could read, unflagged). */
static int is_short(const struct cs_input *in, const AVPacket *pkt)
{
    const AVCodecParameters *par;

    par = in->fmt->streams[pkt->stream_index]->codecpar;
    if (pkt->flags & AV_PKT_FLAG_CORRUPT)
        return 1;
    if (par->codec_id != AV_CODEC_ID_RAWVIDEO || par->format < 0)
        return 0;
    return pkt->size < av_image_get_buffer_size(par->format, par->width,
                                                par->height, 1);
}

/* A short packet at the very end of the input is a frame cut off (a
 * producer killed mid-frame, `head -c`), which no decoder can use: drop it
 * and say so in in->truncated. A damaged packet with more after it goes on
 * to the decoder as before. */
static int cut_at_end(struct cs_input *in, AVPacket *pkt)
{
    int ret;

    /* avio_feof() reads again once a read failed: after a stop request
     * interrupted one, that read would wait on a quiet live pipe */
    if (cs_stopping() || !in->fmt->pb || !avio_feof(in->fmt->pb) ||
        !is_short(in, pkt))
        return 0;
    if (!in->next) {
        in->next = av_packet_alloc();
        if (!in->next)
            return AVERROR(ENOMEM);
    }
    ret = av_read_frame(in->fmt, in->next);
    if (ret == AVERROR_EOF) {
        in->truncated = 1;
        return AVERROR_EOF;
    }
    if (ret < 0 && cs_stopping())
        return CS_ESTOP;
    return ret < 0 ? ret : 0;
}

/* The YUV4MPEG2 demuxer ends quietly at a frame it cannot read whole:
 * bytes left after the last packet tell of it (the format has no
 * trailer). */
static int y4m_cut(const struct cs_input *in)
{
    return !strcmp(in->fmt->iformat->name, "yuv4mpegpipe") && in->fmt->pb &&
           avio_tell(in->fmt->pb) > in->end;
}

int cs_input_read(struct cs_input *in, AVPacket *pkt)
{
    int ret = read_packet(in, pkt);

    if (ret >= 0)
        ret = cut_at_end(in, pkt);
    if (ret >= 0)
        unwrap_packet(in, pkt);
    if (ret >= 0 && pkt->pos >= 0)
        in->end = pkt->pos + pkt->size;
    if (ret == AVERROR_EOF && y4m_cut(in))
        in->truncated = 1;
    if (ret < 0)
        av_packet_unref(pkt);
    return ret;
}

static int plausible_rate(AVRational r)
{
    return r.num > 0 && r.den > 0 && av_q2d(r) <= MAX_FPS;
}

int cs_input_frame_rate(const struct cs_input *in, AVRational *fps)
{
    AVStream *st;
    AVRational r;

    *fps = (AVRational){ 0, 0 };
    if (in->vidx < 0)
        return CS_EDATA;
    st = in->fmt->streams[in->vidx];
    r = av_guess_frame_rate(in->fmt, st, NULL);
    if (!plausible_rate(r))
        r = st->avg_frame_rate;
    if (!plausible_rate(r))
        return CS_EDATA;
    *fps = r;
    return 0;
}

void cs_input_free(struct cs_input **pin)
{
    struct cs_input *in = *pin;

    if (!in)
        return;
    avcodec_free_context(&in->vdec);
    avcodec_free_context(&in->adec);
    av_packet_free(&in->next);
    avformat_close_input(&in->fmt);
    free_pipe_io(&in->pipe_io);
    if (in->spool) {
        unlink(in->spool);
        av_free(in->spool);
    }
    av_free(in);
    *pin = NULL;
}

int cs_decoder_open(AVCodecContext **out, const AVStream *st, int threads)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *dec;
    int ret;

    *out = NULL;
    if (!codec)
        return AVERROR_DECODER_NOT_FOUND;
    dec = avcodec_alloc_context3(codec);
    if (!dec)
        return AVERROR(ENOMEM);
    ret = avcodec_parameters_to_context(dec, st->codecpar);
    if (ret < 0)
        goto fail;
    dec->pkt_timebase = st->time_base;
    dec->thread_count = threads;
    ret = avcodec_open2(dec, codec, NULL);
    if (ret < 0)
        goto fail;
    *out = dec;
    return 0;
fail:
    avcodec_free_context(&dec);
    return ret;
}

int cs_decode(AVCodecContext *dec, const AVPacket *pkt,
              int (*on_frame)(void *opaque, AVFrame *frame), void *opaque)
{
    AVFrame *frame;
    int ret;

    ret = avcodec_send_packet(dec, pkt);
    /* A corrupt packet in a long stream is skipped, not fatal. */
    if (ret == AVERROR_INVALIDDATA)
        return 0;
    if (ret < 0 && ret != AVERROR_EOF)
        return ret;
    frame = av_frame_alloc();
    if (!frame)
        return AVERROR(ENOMEM);
    for (;;) {
        ret = avcodec_receive_frame(dec, frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) {
            ret = 0;
            break;
        }
        if (ret == AVERROR_INVALIDDATA)
            continue;
        if (ret < 0)
            break;
        ret = on_frame(opaque, frame);
        av_frame_unref(frame);
        if (ret < 0)
            break;
    }
    av_frame_free(&frame);
    return ret;
}
