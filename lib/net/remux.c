/* remux.c: a libavformat session on a thread, joined by a pipe to the
 * MPEG-TS side (see remux.h). */
#include "net/remux.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavutil/mem.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "sig.h"

#define IO_BUF 32768

struct cs_remux {
    struct cs_endpoint *ep;
    int send;
    char *url;
    const AVOutputFormat *ofmt;     /* sending */
    const AVInputFormat *ifmt;      /* receiving; NULL: probe */
    AVDictionary *opts;
    int pfd[2];
    pthread_t thread;
    int started;
    atomic_int quit;
    atomic_int done;
    int err;                        /* the thread's result, once done */
    char why[256];
    AVFormatContext *in, *out;
    int *map;                       /* input stream -> output, or -1 */
    AVBSFContext **bsf;             /* per input stream, or NULL */
    atomic_llong packets, bytes;
};

static int interrupted(void *opaque)
{
    struct cs_remux *r = opaque;

    return atomic_load(&r->quit);
}

static int fail(struct cs_remux *r, int err, const char *what)
{
    snprintf(r->why, sizeof(r->why), "%s: %s", what, CS_ERRSTR(err));
    return err;
}

static int pipe_read(void *opaque, uint8_t *buf, int size)
{
    struct cs_remux *r = opaque;
    ssize_t n;

    do
        n = read(r->pfd[0], buf, (size_t)size);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return AVERROR(errno);
    return n ? (int)n : AVERROR_EOF;
}

static int pipe_write(void *opaque, uint8_t *buf, int size)
{
    struct cs_remux *r = opaque;

    while (size > 0) {
        ssize_t n = write(r->pfd[1], buf, (size_t)size);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return AVERROR(errno);
        buf += n;
        size -= (int)n;
    }
    return 0;
}

static AVIOContext *pipe_io(struct cs_remux *r, int write)
{
    uint8_t *buf = av_malloc(IO_BUF);
    AVIOContext *pb;

    if (!buf)
        return NULL;
    pb = avio_alloc_context(buf, IO_BUF, write, r, write ? NULL : pipe_read,
                            write ? pipe_write : NULL, NULL);
    if (!pb)
        av_free(buf);
    return pb;
}

static void free_io(AVIOContext **pb)
{
    if (*pb)
        av_freep(&(*pb)->buffer);
    avio_context_free(pb);
}

static int open_in(struct cs_remux *r)
{
    AVDictionary *o = NULL;
    int ret;

    r->in = avformat_alloc_context();
    if (!r->in)
        return AVERROR(ENOMEM);
    r->in->interrupt_callback = (AVIOInterruptCB){ interrupted, r };
    if (r->send) {
        r->in->pb = pipe_io(r, 0);
        if (!r->in->pb)
            return AVERROR(ENOMEM);
        r->in->flags |= AVFMT_FLAG_CUSTOM_IO;
    } else {
        av_dict_copy(&o, r->opts, 0);
    }
    ret = avformat_open_input(&r->in, r->send ? NULL : r->url, r->ifmt, &o);
    av_dict_free(&o);
    if (ret < 0)
        return fail(r, r->send ? CS_EDATA : ret,
                    r->send ? "the input is not MPEG-TS" : "cannot open");
    ret = avformat_find_stream_info(r->in, NULL);
    if (ret < 0)
        return fail(r, CS_EDATA, "cannot find the streams");
    return 0;
}

/* RTP and RTMP want raw AAC with an AudioSpecificConfig, MPEG-TS has
 * ADTS: strip the headers, and make the config from the parameters (the
 * header is written before the filter has seen a packet). */
static int adts_to_raw(struct cs_remux *r, unsigned i, AVStream *st)
{
    static const int rates[] = { 96000, 88200, 64000, 48000, 44100, 32000,
                                 24000, 22050, 16000, 12000, 11025, 8000 };
    const AVCodecParameters *par = r->in->streams[i]->codecpar;
    const AVBitStreamFilter *f = av_bsf_get_by_name("aac_adtstoasc");
    int sr = 0, obj = par->profile >= 0 ? par->profile + 1 : 2, ret;

    while (sr < 12 && rates[sr] != par->sample_rate)
        sr++;
    if (!f || sr == 12 || par->extradata_size)
        return 0;
    ret = av_bsf_alloc(f, &r->bsf[i]);
    if (ret >= 0)
        ret = avcodec_parameters_copy(r->bsf[i]->par_in, par);
    if (ret >= 0) {
        r->bsf[i]->time_base_in = r->in->streams[i]->time_base;
        ret = av_bsf_init(r->bsf[i]);
    }
    st->codecpar->extradata = av_mallocz(2 + AV_INPUT_BUFFER_PADDING_SIZE);
    if (ret < 0 || !st->codecpar->extradata)
        return ret < 0 ? ret : AVERROR(ENOMEM);
    st->codecpar->extradata_size = 2;
    st->codecpar->extradata[0] = (uint8_t)(obj << 3 | sr >> 1);
    st->codecpar->extradata[1] = (uint8_t)((sr & 1) << 7 |
                                           par->ch_layout.nb_channels << 3);
    return 0;
}

static int add_streams(struct cs_remux *r)
{
    int n = 0;

    r->map = av_calloc(r->in->nb_streams, sizeof(*r->map));
    r->bsf = av_calloc(r->in->nb_streams, sizeof(*r->bsf));
    if (!r->map || !r->bsf)
        return AVERROR(ENOMEM);
    for (unsigned i = 0; i < r->in->nb_streams; i++) {
        const AVCodecParameters *par = r->in->streams[i]->codecpar;
        AVStream *st;

        r->map[i] = -1;
        if (par->codec_type != AVMEDIA_TYPE_VIDEO &&
            par->codec_type != AVMEDIA_TYPE_AUDIO)
            continue;
        if (avformat_query_codec(r->out->oformat, par->codec_id,
                                 FF_COMPLIANCE_NORMAL) == 0) {
            snprintf(r->why, sizeof(r->why), "%s cannot carry %s",
                     r->ep->conf->scheme, avcodec_get_name(par->codec_id));
            return CS_EDATA;
        }
        st = avformat_new_stream(r->out, NULL);
        if (!st || avcodec_parameters_copy(st->codecpar, par) < 0)
            return AVERROR(ENOMEM);
        st->codecpar->codec_tag = 0;
        st->time_base = r->in->streams[i]->time_base;
        r->map[i] = n++;
        if (r->send && par->codec_id == AV_CODEC_ID_AAC &&
            strcmp(r->out->oformat->name, "flv") &&
            adts_to_raw(r, i, st) < 0)
            return fail(r, AVERROR(EINVAL), "cannot convert AAC");
    }
    if (!n)
        return fail(r, CS_EDATA, "no audio or video");
    return 0;
}

static int open_out(struct cs_remux *r)
{
    AVDictionary *o = NULL;
    int ret;

    ret = avformat_alloc_output_context2(&r->out, r->ofmt, NULL,
                                         r->send ? r->url : NULL);
    if (ret < 0)
        return fail(r, ret, "cannot set up the muxer");
    r->out->interrupt_callback = (AVIOInterruptCB){ interrupted, r };
    ret = add_streams(r);
    if (ret < 0)
        return ret;
    av_dict_copy(&o, r->opts, 0);
    if (!r->send) {
        r->out->pb = pipe_io(r, 1);
        r->out->flags |= AVFMT_FLAG_CUSTOM_IO | AVFMT_FLAG_FLUSH_PACKETS;
        ret = r->out->pb ? 0 : AVERROR(ENOMEM);
    } else if (!(r->out->oformat->flags & AVFMT_NOFILE)) {
        ret = avio_open2(&r->out->pb, r->url, AVIO_FLAG_WRITE,
                         &r->out->interrupt_callback, &o);
    }
    if (ret >= 0)
        ret = avformat_write_header(r->out, &o);
    av_dict_free(&o);
    if (ret < 0)
        return fail(r, ret, r->send ? "cannot connect" : "cannot mux");
    return 0;
}

/* Copy packets until the input ends; video starts at a keyframe. */
static int copy_packets(struct cs_remux *r)
{
    AVPacket *pkt = av_packet_alloc();
    int ret = 0, started = 0, has_video = 0;

    for (unsigned i = 0; i < r->in->nb_streams; i++)
        if (r->map[i] >= 0 && r->in->streams[i]->codecpar->codec_type ==
                              AVMEDIA_TYPE_VIDEO)
            has_video = 1;
    while (pkt && ret >= 0) {
        AVStream *ist, *ost;

        ret = av_read_frame(r->in, pkt);
        if (ret < 0 && !r->send && started && ret != AVERROR_EXIT) {
            cs_verbose("the publisher left: %s", CS_ERRSTR(ret));
            ret = AVERROR_EOF;  /* RTMP says EIO when a publisher leaves */
        }
        if (ret < 0)
            break;
        ist = r->in->streams[pkt->stream_index];
        if (r->map[pkt->stream_index] < 0 ||
            (!started && has_video &&
             (ist->codecpar->codec_type != AVMEDIA_TYPE_VIDEO ||
              !(pkt->flags & AV_PKT_FLAG_KEY)))) {
            av_packet_unref(pkt);
            continue;
        }
        started = 1;
        if (r->bsf[pkt->stream_index]) {
            AVBSFContext *bsf = r->bsf[pkt->stream_index];

            if (av_bsf_send_packet(bsf, pkt) < 0 ||
                av_bsf_receive_packet(bsf, pkt) < 0) {
                av_packet_unref(pkt);
                continue;
            }
        }
        ost = r->out->streams[r->map[pkt->stream_index]];
        av_packet_rescale_ts(pkt, ist->time_base, ost->time_base);
        pkt->stream_index = ost->index;
        pkt->pos = -1;
        atomic_fetch_add(&r->bytes, pkt->size);
        atomic_fetch_add(&r->packets, 1);
        ret = av_interleaved_write_frame(r->out, pkt);
        if (ret < 0)
            fail(r, ret, r->send ? "connection lost" : "output closed");
    }
    av_packet_free(&pkt);
    if (ret == AVERROR_EOF || (ret == AVERROR_EXIT && atomic_load(&r->quit)))
        ret = av_write_trailer(r->out) < 0 && r->send ? AVERROR(EPIPE) : 0;
    return ret;
}

static void *session(void *opaque)
{
    struct cs_remux *r = opaque;
    int ret;

    ret = r->send ? 0 : open_in(r);
    if (ret >= 0 && r->send)
        ret = open_in(r);
    if (ret >= 0)
        ret = open_out(r);
    if (ret >= 0)
        ret = copy_packets(r);
    r->err = ret;
    /* The TS side sees the end: EPIPE for a writer, EOF for a reader. */
    close(r->pfd[r->send ? 0 : 1]);
    r->pfd[r->send ? 0 : 1] = -1;
    atomic_store(&r->done, 1);
    return NULL;
}

int cs_remux_start(struct cs_remux **out, struct cs_endpoint *ep,
                   const char *url, const char *format,
                   const AVDictionary *opts)
{
    struct cs_remux *r = av_mallocz(sizeof(*r));

    *out = r;
    if (!r)
        return AVERROR(ENOMEM);
    r->ep = ep;
    r->send = ep->conf->dir == CS_NET_SEND;
    r->pfd[0] = r->pfd[1] = -1;
    r->url = av_strdup(url);
    if (r->send)
        r->ofmt = av_guess_format(format, NULL, NULL);
    else
        r->ofmt = av_guess_format("mpegts", NULL, NULL);
    r->ifmt = av_find_input_format(r->send ? "mpegts" : format ? format : "");
    if (!r->url || !r->ofmt || av_dict_copy(&r->opts, opts, 0) < 0 ||
        pipe2(r->pfd, O_CLOEXEC) < 0)
        return AVERROR(ENOMEM);
    fcntl(r->pfd[0], F_SETPIPE_SZ, 1 << 20);
    if (pthread_create(&r->thread, NULL, session, r) != 0)
        return AVERROR(EAGAIN);
    r->started = 1;
    return 0;
}

static int session_error(struct cs_remux *r, int fallback)
{
    int err = r->err < 0 ? r->err : fallback;

    if (err == AVERROR_EXIT)
        err = AVERROR(ETIMEDOUT);
    return cs_endpoint_fail(r->ep, err, "%s",
                            r->why[0] ? r->why : CS_ERRSTR(err));
}

int cs_remux_read(struct cs_remux *r, uint8_t *buf, int size)
{
    ssize_t n;
    int ret = cs_net_wait(r->ep, r->pfd[0], POLLIN, r->ep->conf->timeout);

    if (ret < 0)
        return ret;
    n = read(r->pfd[0], buf, (size_t)size);
    if (n < 0)
        return cs_endpoint_fail(r->ep, AVERROR(errno), "%s",
                                CS_ERRSTR(AVERROR(errno)));
    if (n > 0)
        return (int)n;
    pthread_join(r->thread, NULL);
    r->started = 0;
    if (r->err < 0 && r->err != AVERROR_EOF)
        return session_error(r, r->err);
    return 0;
}

int cs_remux_write(struct cs_remux *r, const uint8_t *buf, int size)
{
    int ret = pipe_write(r, (uint8_t *)buf, size);

    if (ret < 0) {
        pthread_join(r->thread, NULL);
        r->started = 0;
        return session_error(r, AVERROR(EPIPE));
    }
    return 0;
}

void cs_remux_stats(struct cs_remux *r, cJSON *o)
{
    int send = r->ep->conf->dir == CS_NET_SEND;

    cJSON_AddNumberToObject(o, send ? "av_packets_sent" : "av_packets_received",
                            (double)atomic_load(&r->packets));
    cJSON_AddNumberToObject(o, send ? "av_bytes_sent" : "av_bytes_received",
                            (double)atomic_load(&r->bytes));
}

void cs_remux_stop(struct cs_remux **pr)
{
    struct cs_remux *r = *pr;

    if (!r)
        return;
    if (r->started) {
        int64_t until = cs_now_us() + (int64_t)(r->ep->conf->timeout * 1e6);

        if (r->send) {          /* end of input: let the trailer go out */
            close(r->pfd[1]);
            r->pfd[1] = -1;
            while (!atomic_load(&r->done) && cs_now_us() < until &&
                   !cs_stopping())
                cs_sleep_until_us(cs_now_us() + 10000);
        }
        atomic_store(&r->quit, 1);
        if (r->pfd[0] >= 0 && !r->send) {
            close(r->pfd[0]);
            r->pfd[0] = -1;
        }
        pthread_join(r->thread, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (r->pfd[i] >= 0)
            close(r->pfd[i]);
    for (unsigned i = 0; r->bsf && r->in && i < r->in->nb_streams; i++)
        av_bsf_free(&r->bsf[i]);
    if (r->in && r->send)
        free_io(&r->in->pb);
    avformat_close_input(&r->in);
    if (r->out && !r->send)
        free_io(&r->out->pb);
    else if (r->out && !(r->out->oformat->flags & AVFMT_NOFILE))
        avio_closep(&r->out->pb);
    avformat_free_context(r->out);
    av_dict_free(&r->opts);
    av_free(r->bsf);
    av_free(r->map);
    av_free(r->url);
    av_freep(pr);
}
