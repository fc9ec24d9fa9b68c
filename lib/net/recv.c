/* recv.c: endpoint -> stdout as one MPEG-TS stream, publisher after
 * publisher. */
#include "net/transfer.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/mem.h>

#include "err.h"
#include "log.h"
#include "net/tsbuf.h"
#include "sig.h"

struct recv_state {
    struct cs_endpoint ep;
    struct cs_tsout out;
    int attempt;
    int sessions;
    int64_t session_bytes;
    int64_t told_skipped;   /* of out.skipped, what stderr has said */
    int64_t told_untimed;   /* likewise of out.untimed */
    int64_t told_cut;       /* likewise of out.hold.cut_pes */
};

static cJSON *recv_obj(const struct recv_state *s)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "ts_packets", (double)s->out.packets);
    cJSON_AddNumberToObject(o, "bytes", (double)s->out.bytes);
    cJSON_AddNumberToObject(o, "skipped_bytes", (double)s->out.skipped);
    cJSON_AddNumberToObject(o, "ts_packets_dropped",
                            (double)s->out.untimed);
    cJSON_AddNumberToObject(o, "pes_cut", (double)s->out.hold.cut_pes);
    cJSON_AddNumberToObject(o, "publishers", s->sessions);
    cJSON_AddNumberToObject(o, "reconnects",
                            s->sessions > 1 ? s->sessions - 1 : 0);
    return o;
}

/* One line for each stretch of input dropped, once it is over: the sync
 * came back, the publisher's PAT and PMT came, or (ENDED) it left. */
static void tell_dropped(const struct cs_net_conf *c, struct recv_state *s,
                         int ended)
{
    const struct cs_tsout *o = &s->out;

    if (o->skipped > s->told_skipped && (ended || !o->junk)) {
        cs_warn("'%s': skipped %lld bytes that are not MPEG-TS", c->shown,
                (long long)(o->skipped - s->told_skipped));
        s->told_skipped = o->skipped;
    }
    if (o->untimed > s->told_untimed && (ended || o->timed)) {
        cs_warn("'%s': dropped %lld TS packets that the publisher sent "
                "before its PAT and PMT", c->shown,
                (long long)(o->untimed - s->told_untimed));
        s->told_untimed = o->untimed;
    }
    if (o->hold.cut_pes > s->told_cut) {
        cs_warn("'%s': dropped %lld unfinished PES (%lld TS packets) that "
                "the last publisher left cut short", c->shown,
                (long long)(o->hold.cut_pes - s->told_cut),
                (long long)o->hold.cut_packets);
        s->told_cut = o->hold.cut_pes;
    }
}

/* Open (or, for a listener, wait for the next publisher). */
static int next_peer(const struct cs_net_conf *c, struct cs_transfer *t,
                     struct recv_state *s)
{
    int ret;

    for (;;) {
        s->ep.why[0] = 0;
        if (s->ep.priv && s->ep.ops->accept)
            ret = s->ep.ops->accept(&s->ep);
        else if (s->ep.priv && c->ops == &cs_net_udp)
            ret = 0;            /* no connection: keep the socket */
        else {
            cs_endpoint_close(&s->ep);
            ret = cs_endpoint_open(&s->ep, c);
        }
        if (ret >= 0 || ret == CS_ESTOP)
            break;
        snprintf(t->err, sizeof(t->err), "cannot %s '%s': %s",
                 c->mode == CS_NET_LISTENER ? "listen on" : "connect to",
                 c->shown, s->ep.why[0] ? s->ep.why : CS_ERRSTR(ret));
        if (c->mode == CS_NET_LISTENER && ret != CS_EUSAGE &&
            s->ep.priv)
            continue;           /* a failed handshake: wait for another */
        ret = cs_transfer_retry(c, t, &s->ep, &s->attempt, ret);
        if (ret < 0)
            return ret;
    }
    if (ret >= 0) {
        s->attempt = 0;
        s->session_bytes = 0;
    }
    return ret;
}

/* The peer left (N == 0), fell silent or failed (N < 0): go on with the
 * next one (1), end the stream (0), or fail (N). */
static int peer_gone(const struct cs_net_conf *c, struct cs_transfer *t,
                     struct recv_state *s, int n)
{
    int listener = c->mode == CS_NET_LISTENER;
    int silent = n == AVERROR(ETIMEDOUT);

    if (n == CS_ESTOP || n == CS_EUSAGE)
        return n;
    if (listener && silent && !s->session_bytes)
        return 1;               /* nobody sent yet: keep waiting */
    if (listener && (!t->once || !s->session_bytes)) {
        if (n < 0 && !silent)
            cs_warn("'%s': a publisher failed: %s", c->shown,
                    s->ep.why[0] ? s->ep.why : CS_ERRSTR(n));
        else if (!t->once)
            cs_info("'%s': the publisher %s; waiting for the next one",
                    c->shown, n ? "fell silent" : "left");
        n = next_peer(c, t, s);
        return n < 0 ? n : 1;
    }
    if (n == 0 || (listener && silent))
        return 0;               /* the stream ended */
    return n;
}

int cs_transfer_recv(const struct cs_net_conf *c, struct cs_transfer *t)
{
    struct recv_state *s = av_mallocz(sizeof(*s));
    /* room for several SRT messages that are due at once */
    uint8_t buf[16384];
    int ret, n;

    if (!s)
        return AVERROR(ENOMEM);
    cs_tsout_init(&s->out, t->fd);
    ret = next_peer(c, t, s);
    while (ret >= 0) {
        n = s->ep.ops->read(&s->ep, buf, sizeof(buf));

        if (n > 0) {
            if (!s->session_bytes) {
                if (s->sessions++ && c->ops != &cs_net_udp)
                    cs_info("'%s': a new publisher; the stream goes on",
                            c->shown);
                cs_tsout_new_session(&s->out);
            }
            s->session_bytes += n;
            ret = cs_tsout_write(&s->out, buf, n);
            if (ret == CS_EDATA && c->mode == CS_NET_LISTENER && !t->once) {
                cs_warn("'%s': the publisher sends something that is not "
                        "MPEG-TS; dropped it after %lld bytes", c->shown,
                        (long long)(s->out.skipped - s->told_skipped));
                s->told_skipped = s->out.skipped;
                ret = next_peer(c, t, s);
            }
            tell_dropped(c, s, 0);
        } else {
            tell_dropped(c, s, 1);
            ret = peer_gone(c, t, s, n);
            if (ret == 0 && n <= 0)
                break;
        }
        if (cs_stats_due(t->stats))
            cs_transfer_stats(t, &s->ep, recv_obj(s), 0);
    }
    n = cs_tsout_flush(&s->out);       /* the stream ends here */
    if (n < 0 && ret >= 0)
        ret = n;
    tell_dropped(c, s, 1);
    if (ret == CS_EDATA)
        snprintf(t->err, sizeof(t->err), "invalid data from '%s': not an "
                 "MPEG-TS stream", c->shown);
    else if (ret < 0 && ret != CS_ESTOP && s->ep.why[0])
        snprintf(t->err, sizeof(t->err), "'%s': %s", c->shown, s->ep.why);
    if (t->stats)
        cs_transfer_stats(t, &s->ep, recv_obj(s), 1);
    cs_endpoint_close(&s->ep);
    cs_tsout_free(&s->out);
    av_free(s);
    return ret;
}
