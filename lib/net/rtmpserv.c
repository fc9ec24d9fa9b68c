/* rtmpserv.c: the RTMP listener (see rtmpserv.h): sockets, limits and the
 * commands of a publisher's session. The bytes are parsed by rtmpproto.c,
 * the media muxed by flvts.c. */
#include "net/rtmpserv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libavutil/mem.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "net/access.h"
#include "net/flvts.h"
#include "net/rtmpproto.h"
#include "net/streams.h"
#include "net/tlsconn.h"
#include "sig.h"

#define IN_BUF (CS_RTMP_MAX_CHUNK + 2 * CS_RTMP_HANDSHAKE + 64)
#define OUT_BUF 16384
#define OUR_CHUNK 4096
#define WINDOW 2500000
#define MAX_BEFORE_PUBLISH 65536    /* a message's bytes before publish */

enum state { HANDSHAKE, CONNECTING, CONNECTED, PUBLISHING };

struct conn {
    int fd;                     /* -1: slot free */
    char addr[INET6_ADDRSTRLEN];
    enum state state;
    int64_t deadline;           /* microseconds, monotonic */
    struct cs_rtmp_parser p;
    uint8_t *in;
    size_t inlen;
    uint8_t out[OUT_BUF];
    size_t outlen;
    uint32_t out_chunk;
    uint64_t rx, rx_acked;
    uint32_t window;            /* the client's acknowledgement window */
    struct cs_flvts *ts;        /* --exec: this publisher's muxer */
    struct cs_stream *st;       /* --exec: its stream */
    struct cs_tls_conn *tls;    /* rtmps:// */
};

struct cs_rtmpserv {
    struct cs_endpoint *ep;
    const struct cs_net_conf *c;
    int lfd;
    struct conn *conns;
    struct pollfd *pfd;         /* max + 2 of them, for serve() */
    int *slot;                  /* pfd index -> conns index */
    int max;
    char app[256];              /* empty: any application */
    char key[256];              /* empty: the access file decides */
    struct cs_access *access;
    struct conn *pub;           /* the publisher on the output */
    struct cs_streams *streams; /* --exec: every publisher to its stream */
    struct cs_tls *tls;         /* rtmps://: the certificate */
    struct cs_flvts *ts;
    int ended;                  /* its stream ended: read says 0 once */
    int64_t quiet_since;        /* no publisher since then */
    int64_t clients, rejected, publishers, packets, bytes;
};

static int64_t after(double seconds)
{
    return cs_now_us() + (int64_t)(seconds * 1e6);
}

/* --exec: the TS C's muxer holds, to its stream. */
static int to_stream(struct cs_rtmpserv *s, struct conn *c)
{
    uint8_t buf[4096];
    int ret = 0;

    while (ret >= 0 && cs_flvts_ready(c->ts)) {
        size_t n = cs_flvts_take(c->ts, buf, sizeof(buf));

        ret = cs_streams_write(s->streams, c->st, buf, (int)n);
    }
    return ret;
}

static void end_stream(struct cs_rtmpserv *s, struct conn *c)
{
    if (c->ts) {
        cs_flvts_finish(c->ts);
        (void)to_stream(s, c);
    }
    cs_streams_end(s->streams, c->st);
    c->st = NULL;
    cs_flvts_free(&c->ts);
}

/* send(2) and recv(2), through TLS for rtmps:// (errno set the same). */
static ssize_t conn_send(struct conn *c, const void *b, size_t n)
{
    ssize_t r;

    if (!c->tls)
        return send(c->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    r = cs_tls_send(c->tls, b, n);
    if (r < 0)
        errno = r == AVERROR(EAGAIN) ? EAGAIN : ECONNRESET;
    return r < 0 ? -1 : r;
}

static ssize_t conn_recv(struct conn *c, void *b, size_t n)
{
    char why[128];
    ssize_t r;

    if (!c->tls)
        return recv(c->fd, b, n, MSG_DONTWAIT);
    r = cs_tls_recv(c->tls, b, n, why, sizeof(why));
    if (r < 0)
        errno = r == AVERROR(EAGAIN) ? EAGAIN : EPROTO;
    return r < 0 ? -1 : r;
}

static void drop(struct cs_rtmpserv *s, struct conn *c)
{
    if (c->fd < 0)
        return;
    if (c->st)
        end_stream(s, c);
    if (c == s->pub) {
        int64_t packets, bytes;

        cs_flvts_finish(s->ts);
        cs_flvts_counts(s->ts, &packets, &bytes);
        s->packets += packets;
        s->bytes += bytes;
        s->pub = NULL;
        s->ended = 1;
        s->quiet_since = cs_now_us();
    }
    if (c->outlen)      /* a last answer (a refusal), if it fits */
        (void)conn_send(c, c->out, c->outlen);
    cs_tls_conn_free(&c->tls);
    close(c->fd);
    c->fd = -1;
    cs_rtmp_parser_free(&c->p);
    av_freep(&c->in);
}

/* Drop C with one log line saying why (never a key). */
static int refuse(struct cs_rtmpserv *s, struct conn *c, const char *who,
                  const char *why)
{
    cs_warn("'%s': %s from %s: %s", s->c->shown, who, c->addr, why);
    s->rejected++;
    drop(s, c);
    return -1;
}

static int flush_out(struct cs_rtmpserv *s, struct conn *c)
{
    ssize_t n;

    if (!c->outlen)
        return 0;
    n = conn_send(c, c->out, c->outlen);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n < 0) {
        cs_verbose("'%s': a client from %s: %s", s->c->shown, c->addr,
                   CS_ERRSTR(AVERROR(errno)));
        drop(s, c);
        return -1;
    }
    memmove(c->out, c->out + n, c->outlen - (size_t)n);
    c->outlen -= (size_t)n;
    return 0;
}

/* Queue a message to C; -1 (C dropped) when it does not read its answers. */
static int put_msg(struct cs_rtmpserv *s, struct conn *c, int csid,
                   uint8_t type, uint32_t stream, const uint8_t *d,
                   size_t n)
{
    struct cs_amf_out o = { c->out, sizeof(c->out), c->outlen, 0 };

    cs_rtmp_put_msg(&o, csid, type, stream, 0, d, n, c->out_chunk);
    if (o.full)
        return refuse(s, c, "dropped a client", "it does not read");
    c->outlen = o.len;
    return 0;
}

static int put_u32(struct cs_rtmpserv *s, struct conn *c, uint8_t type,
                   uint32_t v, int extra)
{
    uint8_t b[6] = { v >> 24, v >> 16 & 255, v >> 8 & 255, v & 255,
                     (uint8_t)extra };

    if (type == CS_RTMP_USER_CONTROL) { /* event 0, Stream Begin: id V */
        memmove(b + 2, b, 4);
        b[0] = b[1] = 0;
        return put_msg(s, c, 2, type, 0, b, 6);
    }
    return put_msg(s, c, 2, type, 0, b, type == CS_RTMP_PEER_BW ? 5 : 4);
}

/* _result/_error/onStatus: NAME TXN null|props {level code description}. */
static int put_status(struct cs_rtmpserv *s, struct conn *c,
                      const char *name, double txn, const char *level,
                      const char *code, const char *desc)
{
    uint8_t b[512];
    struct cs_amf_out o = { b, sizeof(b), 0, 0 };
    int connect = !strcmp(code, "NetConnection.Connect.Success");

    cs_amf_put_str(&o, name);
    cs_amf_put_num(&o, txn);
    if (connect) {
        cs_amf_put_obj_start(&o);
        cs_amf_put_prop(&o, "fmsVer");
        cs_amf_put_str(&o, "FMS/3,0,1,123");
        cs_amf_put_prop(&o, "capabilities");
        cs_amf_put_num(&o, 31);
        cs_amf_put_obj_end(&o);
    } else {
        cs_amf_put_null(&o);
    }
    cs_amf_put_obj_start(&o);
    cs_amf_put_prop(&o, "level");
    cs_amf_put_str(&o, level);
    cs_amf_put_prop(&o, "code");
    cs_amf_put_str(&o, code);
    cs_amf_put_prop(&o, "description");
    cs_amf_put_str(&o, desc);
    if (connect) {
        cs_amf_put_prop(&o, "objectEncoding");
        cs_amf_put_num(&o, 0);
    }
    cs_amf_put_obj_end(&o);
    return put_msg(s, c, connect ? 3 : 5, CS_RTMP_COMMAND,
                   connect ? 0 : 1, b, o.len);
}

/* _result TXN null [NUMBER]: the answer to releaseStream, createStream. */
static int put_result(struct cs_rtmpserv *s, struct conn *c, double txn,
                      int with_num, double num)
{
    uint8_t b[64];
    struct cs_amf_out o = { b, sizeof(b), 0, 0 };

    cs_amf_put_str(&o, "_result");
    cs_amf_put_num(&o, txn);
    cs_amf_put_null(&o);
    if (with_num)
        cs_amf_put_num(&o, num);
    return put_msg(s, c, 3, CS_RTMP_COMMAND, 0, b, o.len);
}

static int on_connect(struct cs_rtmpserv *s, struct conn *c,
                      const struct cs_amf_cmd *cmd)
{
    size_t alen = strcspn(cmd->app, "/?");

    if (c->state != CONNECTING)
        return refuse(s, c, "dropped a client", "connect twice");
    if (s->app[0] && (alen != strlen(s->app) ||
                      strncmp(cmd->app, s->app, alen))) {
        put_status(s, c, "_error", cmd->txn, "error",
                   "NetConnection.Connect.Rejected", "Unknown application.");
        return refuse(s, c, "rejected a client", "unknown application");
    }
    c->state = CONNECTED;
    if (put_u32(s, c, CS_RTMP_WINDOW_ACK, WINDOW, 0) < 0 ||
        put_u32(s, c, CS_RTMP_PEER_BW, WINDOW, 2) < 0 ||
        put_u32(s, c, CS_RTMP_SET_CHUNK_SIZE, OUR_CHUNK, 0) < 0)
        return -1;
    c->out_chunk = OUR_CHUNK;
    return put_status(s, c, "_result", cmd->txn, "status",
                      "NetConnection.Connect.Success",
                      "Connection succeeded.");
}

/* Whether KEY may publish; *NAME gets the stream's name for the log. */
static int granted(struct cs_rtmpserv *s, const char *key,
                   const char **name)
{
    const struct cs_access_entry *e;

    *name = NULL;
    if (s->key[0])
        return cs_secret_equal(s->key, strlen(s->key), key, strlen(key));
    e = cs_access_find_key(s->access, key, CS_ACCESS_PUBLISH);
    if (e)
        *name = e->streamid;
    return e != NULL;
}

/* NetStream.Publish.Start, C's media now wanted. */
static int publish_start(struct cs_rtmpserv *s, struct conn *c,
                         const char *name)
{
    s->publishers++;
    c->state = PUBLISHING;
    c->p.max_msg = CS_RTMP_MAX_MSG;
    c->deadline = after(s->c->timeout);
    cs_info("'%s': a publisher from %s%s%s%s", s->c->shown, c->addr,
            name ? " on stream '" : "", name ? name : "", name ? "'" : "");
    if (put_u32(s, c, CS_RTMP_USER_CONTROL, 1, 0) < 0)
        return -1;
    return put_status(s, c, "onStatus", 0, "status",
                      "NetStream.Publish.Start", "Start publishing.");
}

/* --exec: C publishes stream NAME (the URL's key: the application). */
static int publish_stream(struct cs_rtmpserv *s, struct conn *c,
                          const char *name)
{
    int ret;

    if (!name)
        name = s->app[0] ? s->app : "rtmp";
    c->st = cs_streams_start(s->streams, name, s->c->scheme, c->addr);
    if (!c->st) {
        put_status(s, c, "onStatus", 0, "error", "NetStream.Publish.BadName",
                   "Already publishing.");
        return refuse(s, c, "turned away a publisher", "its stream is on");
    }
    ret = cs_flvts_open(&c->ts);
    if (ret < 0) {
        drop(s, c);
        return ret;
    }
    return publish_start(s, c, name);
}

static int on_publish(struct cs_rtmpserv *s, struct conn *c,
                      const struct cs_amf_cmd *cmd)
{
    char key[CS_AMF_STR];
    const char *name;
    int ret;

    if (cmd->nargs < 1 || cmd->kind[0] != CS_AMF_TEXT)
        return refuse(s, c, "dropped a client", "publish without a name");
    snprintf(key, sizeof(key), "%.*s", (int)strcspn(cmd->str[0], "?"),
             cmd->str[0]);
    ret = granted(s, key, &name);
    memset(key, 0, sizeof(key));
    if (!ret) {
        put_status(s, c, "onStatus", 0, "error", "NetStream.Publish.BadName",
                   "Not allowed.");
        return refuse(s, c, "rejected a publisher", "wrong stream key");
    }
    if (s->streams)
        return publish_stream(s, c, name);
    if (s->pub || s->ended) {
        put_status(s, c, "onStatus", 0, "error", "NetStream.Publish.BadName",
                   "Already publishing.");
        return refuse(s, c, "turned away a publisher", "busy");
    }
    ret = cs_flvts_open(&s->ts);
    if (ret < 0)
        return ret;
    s->pub = c;
    return publish_start(s, c, name);
}

static int on_command(struct cs_rtmpserv *s, struct conn *c,
                      const struct cs_rtmp_msg *m)
{
    struct cs_amf_cmd cmd;
    size_t skip = m->type == CS_RTMP_COMMAND_AMF3 && m->len ? 1 : 0;

    if (cs_amf_command(m->data + skip, m->len - skip, &cmd) < 0)
        return refuse(s, c, "dropped a client", "malformed command");
    if (!strcmp(cmd.name, "connect"))
        return on_connect(s, c, &cmd);
    if (c->state == CONNECTING)
        return refuse(s, c, "dropped a client", "command before connect");
    if (!strcmp(cmd.name, "publish")) {
        if (c->state == PUBLISHING)
            return refuse(s, c, "dropped a client", "publish twice");
        return on_publish(s, c, &cmd);
    }
    if (!strcmp(cmd.name, "createStream"))
        return put_result(s, c, cmd.txn, 1, 1);
    if (!strcmp(cmd.name, "releaseStream") || !strcmp(cmd.name, "FCPublish"))
        return put_result(s, c, cmd.txn, 0, 0);
    if (!strcmp(cmd.name, "deleteStream") ||
        !strcmp(cmd.name, "closeStream")) {
        cs_verbose("'%s': a client from %s ended its stream", s->c->shown,
                   c->addr);
        drop(s, c);
        return -1;
    }
    if (!strcmp(cmd.name, "play"))
        return refuse(s, c, "rejected a client", "playing is not served");
    return 0;                   /* FCUnpublish, _checkbw, ...: nothing */
}

static int on_media(struct cs_rtmpserv *s, struct conn *c,
                    const struct cs_rtmp_msg *m)
{
    char why[128] = "its muxer's output is not MPEG-TS";
    int ret;

    if (c != s->pub && !c->ts)
        return refuse(s, c, "dropped a client", "media before publish");
    c->deadline = after(s->c->timeout);
    ret = cs_flvts_tag(c->ts ? c->ts : s->ts, m->type, m->ts, m->data,
                       m->len, why, sizeof(why));
    if (ret >= 0 && c->ts)
        ret = to_stream(s, c);
    if (ret == CS_EDATA)
        return refuse(s, c, "dropped the publisher", why);
    return ret;
}

static int on_message(struct cs_rtmpserv *s, struct conn *c,
                      const struct cs_rtmp_msg *m)
{
    int video = 0, audio = 0, meta;

    switch (m->type) {
    case CS_RTMP_WINDOW_ACK:
        c->window = m->len >= 4 ? (uint32_t)m->data[0] << 24 |
                    (uint32_t)m->data[1] << 16 | m->data[2] << 8 |
                    m->data[3] : 0;
        return 0;
    case CS_RTMP_SET_CHUNK_SIZE: case CS_RTMP_ABORT: case CS_RTMP_ACK:
    case CS_RTMP_USER_CONTROL: case CS_RTMP_PEER_BW:
        return 0;
    case CS_RTMP_COMMAND: case CS_RTMP_COMMAND_AMF3:
        return on_command(s, c, m);
    case CS_RTMP_DATA: case CS_RTMP_DATA_AMF3:
        meta = cs_amf_metadata(m->data + (m->type == CS_RTMP_DATA_AMF3 &&
                                          m->len), m->len - (m->type ==
                               CS_RTMP_DATA_AMF3 && m->len), &video, &audio);
        if (meta < 0)
            return refuse(s, c, "dropped a client", "malformed data");
        if (meta && (c == s->pub || c->ts))
            cs_flvts_expect(c->ts ? c->ts : s->ts, video, audio);
        return 0;
    case CS_RTMP_AUDIO: case CS_RTMP_VIDEO:
        return on_media(s, c, m);
    default:
        return refuse(s, c, "dropped a client", "unexpected message type");
    }
}

/* S0 S1 S2: version 3, our time and zeros (the plain handshake, which
 * ffmpeg, OBS and nginx-rtmp take), then C1 echoed. */
static int answer_c1(struct cs_rtmpserv *s, struct conn *c,
                     const uint8_t *c1)
{
    uint8_t *o = c->out + c->outlen;
    uint32_t x = (uint32_t)cs_now_us() | 1;

    if (sizeof(c->out) - c->outlen < 1 + 2 * CS_RTMP_HANDSHAKE)
        return refuse(s, c, "dropped a client", "it does not read");
    o[0] = 3;
    memset(o + 1, 0, 8);
    for (int i = 9; i < 1 + CS_RTMP_HANDSHAKE; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        o[i] = (uint8_t)x;
    }
    memcpy(o + 1 + CS_RTMP_HANDSHAKE, c1, CS_RTMP_HANDSHAKE);
    c->outlen += 1 + 2 * CS_RTMP_HANDSHAKE;
    return 0;
}

static int acknowledge(struct cs_rtmpserv *s, struct conn *c)
{
    if (!c->window || c->rx - c->rx_acked < c->window)
        return 0;
    c->rx_acked = c->rx;
    return put_u32(s, c, CS_RTMP_ACK, (uint32_t)c->rx, 0);
}

/* Parse what C sent; -1 when C was dropped. */
static int take_input(struct cs_rtmpserv *s, struct conn *c)
{
    size_t off = 0, used;
    int ret = 0;

    while (ret >= 0 && c->fd >= 0) {
        struct cs_rtmp_msg m;
        int ev = cs_rtmp_parse(&c->p, c->in + off, c->inlen - off, &used,
                               &m);

        off += used;
        if (ev < 0)
            return refuse(s, c, "dropped a client", c->p.why);
        if (ev == CS_RTMP_NEED)
            break;
        if (ev == CS_RTMP_C1)
            ret = answer_c1(s, c, m.data);
        else if (ev == CS_RTMP_READY)
            c->state = CONNECTING;
        else if (ev == CS_RTMP_MSG)
            ret = on_message(s, c, &m);
    }
    if (c->fd < 0 || ret < 0)
        return -1;
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
    ret = acknowledge(s, c);
    return ret < 0 ? ret : flush_out(s, c);
}

static int read_once(struct cs_rtmpserv *s, struct conn *c)
{
    ssize_t n = conn_recv(c, c->in + c->inlen, IN_BUF - c->inlen);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        if (c != s->pub)
            cs_verbose("'%s': a client from %s left", s->c->shown, c->addr);
        drop(s, c);
        return -1;
    }
    c->inlen += (size_t)n;
    c->rx += (uint64_t)n;
    return take_input(s, c);
}

/* Read what C sent; with TLS also the records already decrypted, which
 * poll() does not announce. */
static int read_conn(struct cs_rtmpserv *s, struct conn *c)
{
    int ret = read_once(s, c);

    while (ret >= 0 && c->fd >= 0 && c->tls && c->inlen < IN_BUF &&
           cs_tls_pending(c->tls))
        ret = read_once(s, c);
    return ret;
}

static void peer_addr(const struct sockaddr_storage *a, char *out,
                      size_t size)
{
    if (getnameinfo((const struct sockaddr *)a, sizeof(*a), out,
                    (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(out, size, "?");
}

static struct conn *free_slot(struct cs_rtmpserv *s, const char *addr,
                              const char **why)
{
    struct conn *slot = NULL;
    int same = 0;

    for (int i = 0; i < s->max; i++) {
        if (s->conns[i].fd < 0 && !slot)
            slot = &s->conns[i];
        else if (s->conns[i].fd >= 0 && !strcmp(s->conns[i].addr, addr))
            same++;
    }
    *why = !slot ? "too many connections" :
           same >= CS_RTMP_PER_ADDR ? "too many connections from it" : NULL;
    return *why ? NULL : slot;
}

static void accept_client(struct cs_rtmpserv *s)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof(a);
    char addr[INET6_ADDRSTRLEN];
    const char *why;
    struct conn *c;
    int fd = accept4(s->lfd, (struct sockaddr *)&a, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0)
        return;
    peer_addr(&a, addr, sizeof(addr));
    c = free_slot(s, addr, &why);
    s->clients++;
    if (!c) {
        cs_warn("'%s': turned away a client from %s: %s", s->c->shown,
                addr, why);
        s->rejected++;
        close(fd);
        return;
    }
    memset(c, 0, sizeof(*c));
    c->in = av_malloc(IN_BUF);
    if (c->in && s->tls && cs_tls_accept(s->tls, fd, &c->tls) < 0)
        av_freep(&c->in);
    if (!c->in) {
        close(fd);
        c->fd = -1;
        return;
    }
    c->fd = fd;
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    c->state = HANDSHAKE;
    c->out_chunk = 128;
    c->deadline = after(s->c->timeout);
    cs_rtmp_parser_init(&c->p);
    c->p.max_msg = MAX_BEFORE_PUBLISH;
}

static void expire(struct cs_rtmpserv *s, int64_t now)
{
    char why[96];

    for (int i = 0; i < s->max; i++) {
        struct conn *c = &s->conns[i];

        if (c->fd < 0 || now < c->deadline)
            continue;
        snprintf(why, sizeof(why), "%s for %g s", c->state == PUBLISHING ?
                 "no media" : "no publish", s->c->timeout);
        refuse(s, c, c->state == PUBLISHING ? "dropped the publisher" :
               "dropped a client", why);
    }
}

/* One round of the loop: wait (at most 1 s) and serve what is ready. */
static int serve(struct cs_rtmpserv *s)
{
    struct pollfd *pfd = s->pfd;
    int *slot = s->slot;
    int64_t now = cs_now_us(), next = now + 1000000;
    int n = 2, ret;

    pfd[0] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
    pfd[1] = (struct pollfd){ .fd = cs_sig_fd(), .events = POLLIN };
    for (int i = 0; i < s->max; i++) {
        struct conn *c = &s->conns[i];

        if (c->fd < 0)
            continue;
        if (c->deadline < next)
            next = c->deadline;
        slot[n] = i;
        pfd[n++] = (struct pollfd){ c->fd, POLLIN |
                                    (c->outlen ? POLLOUT : 0), 0 };
    }
    ret = poll(pfd, (nfds_t)n, next > now ? (int)((next - now) / 1000) + 1
                                          : 0);
    if (cs_stopping())
        return CS_ESTOP;
    if (ret < 0 && errno != EINTR)
        return cs_endpoint_fail(s->ep, AVERROR(errno), "%s",
                                CS_ERRSTR(AVERROR(errno)));
    for (int i = 2; ret > 0 && i < n; i++) {
        struct conn *c = &s->conns[slot[i]];

        if ((pfd[i].revents & POLLOUT) && flush_out(s, c) < 0)
            continue;
        if (c->fd >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
            read_conn(s, c);
    }
    if (ret > 0 && (pfd[0].revents & POLLIN))
        accept_client(s);
    expire(s, cs_now_us());
    return 0;
}

int cs_rtmpserv_read(struct cs_rtmpserv *s, uint8_t *buf, int size)
{
    for (;;) {
        int ret;

        if (s->ts && cs_flvts_ready(s->ts))
            return (int)cs_flvts_take(s->ts, buf, (size_t)size);
        if (s->ended) {
            s->ended = 0;
            cs_flvts_free(&s->ts);
            return 0;
        }
        if (!s->pub && cs_now_us() - s->quiet_since >
                       (int64_t)(s->c->timeout * 1e6)) {
            s->quiet_since = cs_now_us();
            return cs_endpoint_fail(s->ep, AVERROR(ETIMEDOUT),
                                    "no publisher for %g s", s->c->timeout);
        }
        ret = serve(s);
        if (ret < 0)
            return ret;
    }
}

int cs_rtmpserv_serve(struct cs_rtmpserv *s, struct cs_streams *streams)
{
    int ret = 0;

    s->streams = streams;
    while (ret >= 0)
        ret = serve(s);
    for (int i = 0; i < s->max; i++)
        drop(s, &s->conns[i]);
    s->streams = NULL;
    return ret;
}

void cs_rtmpserv_next(struct cs_rtmpserv *s)
{
    if (s->pub)
        drop(s, s->pub);
    s->ended = 0;
    cs_flvts_free(&s->ts);
}

void cs_rtmpserv_stats(struct cs_rtmpserv *s, cJSON *o)
{
    int64_t packets = 0, bytes = 0;
    int open = 0;

    for (int i = 0; i < s->max; i++)
        open += s->conns[i].fd >= 0;
    if (s->ts)
        cs_flvts_counts(s->ts, &packets, &bytes);
    cJSON_AddNumberToObject(o, "rtmp_clients", (double)s->clients);
    cJSON_AddNumberToObject(o, "rtmp_connections", open);
    cJSON_AddNumberToObject(o, "rtmp_rejected", (double)s->rejected);
    cJSON_AddNumberToObject(o, "rtmp_publishers", (double)s->publishers);
    cJSON_AddNumberToObject(o, "av_packets_received",
                            (double)(s->packets + packets));
    cJSON_AddNumberToObject(o, "av_bytes_received",
                            (double)(s->bytes + bytes));
}

/* /APP or /APP/KEY from the URL's path. */
static int split_path(struct cs_rtmpserv *s, const char *path)
{
    const char *app = path[0] == '/' ? path + 1 : path;
    size_t alen = strcspn(app, "/");

    if (alen >= sizeof(s->app) || strlen(app + alen) >= sizeof(s->key))
        return -1;
    snprintf(s->app, sizeof(s->app), "%.*s", (int)alen, app);
    if (app[alen] == '/')
        snprintf(s->key, sizeof(s->key), "%s", app + alen + 1);
    return strchr(s->key, '/') ? -1 : 0;
}

static int listen_on(struct cs_rtmpserv *s)
{
    struct cs_endpoint *ep = s->ep;
    struct addrinfo *ai = NULL;
    int ret = cs_net_resolve(ep, SOCK_STREAM, 1, &ai);

    if (ret < 0)
        return ret;
    s->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
                    SOCK_NONBLOCK, 0);
    if (s->lfd < 0)
        ret = cs_endpoint_fail(ep, AVERROR(errno), "%s",
                               CS_ERRSTR(AVERROR(errno)));
    else
        ret = cs_net_sockopt(ep, s->lfd, SOL_SOCKET, SO_REUSEADDR, 1,
                             "SO_REUSEADDR");
    if (ret >= 0 && (bind(s->lfd, ai->ai_addr, ai->ai_addrlen) < 0 ||
                     listen(s->lfd, 64) < 0))
        ret = cs_endpoint_fail(ep, CS_ENET, "cannot listen: %s",
                               CS_ERRSTR(AVERROR(errno)));
    freeaddrinfo(ai);
    return ret;
}

int cs_rtmpserv_open(struct cs_rtmpserv **out, struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    struct cs_rtmpserv *s = av_mallocz(sizeof(*s));
    int ret;

    *out = s;
    if (!s)
        return AVERROR(ENOMEM);
    s->ep = ep;
    s->c = c;
    s->lfd = -1;
    s->max = c->max_conn > 0 ? c->max_conn : 100;
    s->quiet_since = cs_now_us();
    s->conns = av_calloc((size_t)s->max, sizeof(*s->conns));
    s->pfd = av_calloc((size_t)s->max + 2, sizeof(*s->pfd));
    s->slot = av_calloc((size_t)s->max + 2, sizeof(*s->slot));
    if (!s->conns || !s->pfd || !s->slot)
        return AVERROR(ENOMEM);
    for (int i = 0; i < s->max; i++)
        s->conns[i].fd = -1;
    if (split_path(s, c->path) < 0)
        return cs_endpoint_fail(ep, CS_EUSAGE, "expected rtmp://HOST:PORT"
                                "[/APP[/STREAMKEY]]");
    if (!s->key[0] && !c->access)
        return cs_endpoint_fail(ep, CS_EUSAGE, "a listener needs a stream "
                                "key in the URL or --access");
    if (!strcmp(c->scheme, "rtmps")) {
        ret = cs_tls_open(&s->tls, c->cert ? c->cert : "", c->key ?
                          c->key : "", ep->why, sizeof(ep->why));
        if (ret < 0)
            return ret;
    }
    if (c->access) {
        ret = cs_access_load(&s->access, c->access);
        if (ret < 0)
            return cs_endpoint_fail(ep, CS_EUSAGE, "cannot read access "
                                    "file '%s': %s", c->access,
                                    CS_ERRSTR(ret));
    }
    return listen_on(s);
}

void cs_rtmpserv_close(struct cs_rtmpserv **ps)
{
    struct cs_rtmpserv *s = *ps;

    if (!s)
        return;
    for (int i = 0; s->conns && i < s->max; i++)
        drop(s, &s->conns[i]);
    cs_flvts_free(&s->ts);
    cs_access_free(&s->access);
    cs_tls_free(&s->tls);
    if (s->lfd >= 0)
        close(s->lfd);
    memset(s->key, 0, sizeof(s->key));
    av_free(s->conns);
    av_free(s->pfd);
    av_free(s->slot);
    av_freep(ps);
}
