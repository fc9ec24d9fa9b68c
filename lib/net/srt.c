/* srt.c: SRT through libsrt: caller, listener (with access control in the
 * listen callback) and rendezvous; live mode, 1316-byte messages. */
#include "net/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syslog.h>

#include <libavutil/mem.h>
#include <srt/access_control.h>
#include <srt/srt.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "net/access.h"
#include "net/streams.h"
#include "sig.h"

#define POLL_MS 200

struct srt_priv {
    SRTSOCKET lsn;
    SRTSOCKET sock;
    int eid;                /* epoll of the listener */
    int rid;                /* epoll of the peer read from (in_open) */
    struct cs_access *acl;
    SRT_TRACEBSTATS now;    /* the current peer's counters */
    SRT_TRACEBSTATS done;   /* summed over peers that left */
    int finished;           /* sending: the queue was drained */
};

static const char *srt_why(void)
{
    return srt_getlasterror_str();
}

static int setopt(SRTSOCKET s, SRT_SOCKOPT o, const void *v, int len)
{
    return srt_setsockflag(s, o, v, len) < 0 ? -1 : 0;
}

/* Options set before connecting or listening. */
static int set_pre(struct cs_endpoint *ep, SRTSOCKET s)
{
    const struct cs_net_conf *c = ep->conf;
    SRT_TRANSTYPE tt = SRTT_LIVE;
    int yes = 1, ms = (int)(c->timeout * 1000), pl = c->payload;
    int fail = 0;

    fail |= setopt(s, SRTO_TRANSTYPE, &tt, sizeof(tt));
    fail |= setopt(s, SRTO_PAYLOADSIZE, &pl, sizeof(pl));
    fail |= setopt(s, SRTO_RCVSYN, &yes, sizeof(yes));
    /* Retransmit on every loss report, not once per NAK period: on a lossy
     * link the retransmissions are lost too, and latency is short. */
    fail |= setopt(s, SRTO_RETRANSMITALGO, &(int){ 0 }, sizeof(int));
    fail |= setopt(s, SRTO_SNDSYN, &yes, sizeof(yes));
    /* Receiving: no periodic NAK reports, so that the sender retransmits
     * what stays unacknowledged (libsrt's live mode does so only without
     * them). Otherwise a lost last message is never recovered: no later
     * packet shows the gap, and the stream's end is silently short. */
    if (c->dir == CS_NET_RECV)
        fail |= setopt(s, SRTO_NAKREPORT, &(int){ 0 }, sizeof(int));
    /* Not SRTO_TLPKTDROP 0, though it recovers the first messages lost at
     * 5-10% loss (libsrt's first retransmission timer is 330 ms, from its
     * 100 ms RTT guess, longer than a 120 ms latency): with it, libsrt
     * 1.5.1's TSBPD thread was seen spinning with the receive lock held
     * after a sender left, and cs-recv hung (issue 14, open). */
    if (ms > 0) {
        fail |= setopt(s, SRTO_CONNTIMEO, &ms, sizeof(ms));
        fail |= setopt(s, SRTO_PEERIDLETIMEO, &ms, sizeof(ms));
    }
    if (c->latency_ms >= 0)
        fail |= setopt(s, SRTO_LATENCY, &c->latency_ms, sizeof(int));
    if (c->passphrase && !c->access)
        fail |= setopt(s, SRTO_PASSPHRASE, c->passphrase,
                       (int)strlen(c->passphrase));
    if (c->pbkeylen)
        fail |= setopt(s, SRTO_PBKEYLEN, &c->pbkeylen, sizeof(int));
    if (c->streamid && c->mode != CS_NET_LISTENER)
        fail |= setopt(s, SRTO_STREAMID, c->streamid,
                       (int)strlen(c->streamid));
    if (c->maxbw)
        fail |= setopt(s, SRTO_MAXBW, &c->maxbw, sizeof(int64_t));
    if (c->mode == CS_NET_RENDEZVOUS)
        fail |= setopt(s, SRTO_RENDEZVOUS, &yes, sizeof(yes));
    if (fail)
        return cs_endpoint_fail(ep, CS_EUSAGE, "%s", srt_why());
    return 0;
}

/* Options that make reads and writes wake up to check for a stop. */
static void set_post(SRTSOCKET s)
{
    int ms = POLL_MS;

    srt_setsockflag(s, SRTO_RCVTIMEO, &ms, sizeof(ms));
    srt_setsockflag(s, SRTO_SNDTIMEO, &ms, sizeof(ms));
}

/* Reads do not block in libsrt: its blocking read (1.5.1 to 1.5.3,
 * receiveMessage) takes the message out of the receive buffer and then,
 * if the connection broke meanwhile, returns an error instead of it, so
 * that a publisher's tail lost one message in its middle (seen on every
 * SRT publisher that stopped, at loopback: half a picture). A read waits
 * on an epoll of its own instead. The epoll id, or -1 on failure. */
static int in_open(SRTSOCKET s)
{
    int no = 0, eid, events = SRT_EPOLL_IN | SRT_EPOLL_ERR;

    if (srt_setsockflag(s, SRTO_RCVSYN, &no, sizeof(no)) < 0)
        return -1;
    eid = srt_epoll_create();
    if (eid >= 0 && srt_epoll_add_usock(eid, s, &events) < 0) {
        srt_epoll_release(eid);
        eid = -1;
    }
    return eid;
}

/* Has S a message to read, or an error to tell? A read that finds nothing
 * is not free: libsrt wakes its TSBPD thread for each, which then works
 * out again when the next message is due (libsrt 1.5.1, receiveMessage).
 * Reading on until a read failed woke it 2,760 times in 8 s of an 8 Mb/s
 * stream; reading only what is ready, 1,200 times. */
static int readable(SRTSOCKET s)
{
    int ev = 0, len = sizeof(ev);

    if (srt_getsockflag(s, SRTO_EVENT, &ev, &len) < 0)
        return 1;                       /* the read will say what is wrong */
    return ev & (SRT_EPOLL_IN | SRT_EPOLL_ERR);
}

/* One message from S (its in_open epoll EID), waiting up to POLL_MS for
 * it: what srt_recvmsg returns (SRT_EASYNCRCV if none came). */
static int in_read(SRTSOCKET s, int eid, uint8_t *buf, int size)
{
    if (!readable(s)) {
        SRT_EPOLL_EVENT ev[1];

        srt_epoll_uwait(eid, ev, 1, POLL_MS);
    }
    return srt_recvmsg(s, (char *)buf, size);
}

/* The peer just connected or accepted as P->sock: reads ready. */
static int peer_ready(struct cs_endpoint *ep, struct srt_priv *p)
{
    set_post(p->sock);
    if (ep->conf->dir != CS_NET_RECV)
        return 0;
    p->rid = in_open(p->sock);
    return p->rid < 0 ? cs_endpoint_fail(ep, CS_ENET, "%s", srt_why()) : 0;
}

/* Take the current peer's totals. A failed srt_bstats (libsrt may have
 * freed a broken socket already) keeps the last ones taken. */
static void snapshot(struct srt_priv *p)
{
    SRT_TRACEBSTATS st;

    if (p->sock != SRT_INVALID_SOCK && srt_bstats(p->sock, &st, 0) == 0)
        p->now = st;
}

/* The current peer is done: add its totals to those of earlier peers,
 * once (its socket goes, so that nothing counts it again), and close. */
static void retire_peer(struct srt_priv *p)
{
    if (p->sock == SRT_INVALID_SOCK)
        return;
    snapshot(p);
    p->done.pktSentTotal += p->now.pktSentTotal;
    p->done.pktRecvTotal += p->now.pktRecvTotal;
    p->done.pktRetransTotal += p->now.pktRetransTotal;
    p->done.pktRcvRetrans += p->now.pktRcvRetrans;
    p->done.pktRcvLossTotal += p->now.pktRcvLossTotal;
    p->done.pktSndLossTotal += p->now.pktSndLossTotal;
    p->done.pktRcvDropTotal += p->now.pktRcvDropTotal;
    p->done.pktSndDropTotal += p->now.pktSndDropTotal;
    memset(&p->now, 0, sizeof(p->now));
    if (p->rid >= 0)
        srt_epoll_release(p->rid);
    p->rid = -1;
    srt_close(p->sock);
    p->sock = SRT_INVALID_SOCK;
}

static int listen_cb(void *opaque, SRTSOCKET ns, int hsversion,
                     const struct sockaddr *peer, const char *streamid)
{
    struct cs_endpoint *ep = opaque;
    struct srt_priv *p = ep->priv;
    unsigned want = 0, need;
    const struct cs_access_entry *e;
    char host[NI_MAXHOST] = "?";

    getnameinfo(peer, sizeof(struct sockaddr_in6), host, sizeof(host), NULL,
                0, NI_NUMERICHOST);
    e = cs_access_find(p->acl, streamid, &want);
    need = ep->conf->dir == CS_NET_RECV ? CS_ACCESS_PUBLISH : CS_ACCESS_PLAY;
    if (!e) {
        cs_warn("rejected %s: unknown stream id '%s'", host, streamid);
        srt_setrejectreason(ns, SRT_REJX_NOTFOUND);
        return -1;
    }
    if (!(e->modes & need) || (want && want != need)) {
        cs_warn("rejected %s: stream id '%s' may not %s here", host,
                streamid, need == CS_ACCESS_PUBLISH ? "publish" : "play");
        srt_setrejectreason(ns, SRT_REJX_FORBIDDEN);
        return -1;
    }
    if (e->passphrase &&
        srt_setsockflag(ns, SRTO_PASSPHRASE, e->passphrase,
                        (int)strlen(e->passphrase)) < 0) {
        srt_setrejectreason(ns, SRT_REJX_ISE);
        return -1;
    }
    cs_verbose("stream id '%s' from %s admitted", streamid, host);
    return 0;
}

static int do_listen(struct cs_endpoint *ep, struct srt_priv *p,
                     const struct addrinfo *ai)
{
    int events = SRT_EPOLL_IN, ret;

    if (ep->conf->access) {
        ret = cs_access_load(&p->acl, ep->conf->access);
        if (ret < 0)
            return cs_endpoint_fail(ep, ret == CS_EUSAGE ? ret : CS_EUSAGE,
                                    "cannot read access file '%s': %s",
                                    ep->conf->access, CS_ERRSTR(ret));
        srt_listen_callback(p->lsn, listen_cb, ep);
    }
    /* a backlog for publishers that connect in the same instant (with 1,
     * the third of three was refused: "backlog exceeded") */
    if (srt_bind(p->lsn, ai->ai_addr, (int)ai->ai_addrlen) < 0 ||
        srt_listen(p->lsn, 16) < 0)
        return cs_endpoint_fail(ep, CS_ENET, "%s", srt_why());
    p->eid = srt_epoll_create();
    if (p->eid < 0 || srt_epoll_add_usock(p->eid, p->lsn, &events) < 0)
        return cs_endpoint_fail(ep, AVERROR(ENOMEM), "%s", srt_why());
    return 0;
}

/* ep->stream and ep->remote for the publisher just accepted: the access
 * file's name for its stream id (or the stream id itself), its address. */
static void name_peer(struct cs_endpoint *ep, struct srt_priv *p,
                      const struct sockaddr_storage *sa, int len)
{
    const struct cs_access_entry *e;
    char sid[513] = "";
    int slen = sizeof(sid) - 1;
    unsigned mode;

    if (getnameinfo((const struct sockaddr *)sa, (socklen_t)len, ep->remote,
                    sizeof(ep->remote), NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(ep->remote, sizeof(ep->remote), "?");
    if (srt_getsockflag(p->sock, SRTO_STREAMID, sid, &slen) < 0)
        slen = 0;
    sid[slen < 0 ? 0 : slen] = 0;
    e = cs_access_find(p->acl, sid, &mode);
    /* a stream name is at most 127 bytes (ep->stream) */
    snprintf(ep->stream, sizeof(ep->stream), "%.127s", e ? e->streamid : sid);
}

static int srt_accept_next(struct cs_endpoint *ep)
{
    struct srt_priv *p = ep->priv;
    struct sockaddr_storage sa;
    int len = sizeof(sa);

    retire_peer(p);
    for (;;) {
        SRT_EPOLL_EVENT ev[1];
        int n = srt_epoll_uwait(p->eid, ev, 1, POLL_MS);

        if (cs_stopping())
            return CS_ESTOP;
        if (n < 0)
            return cs_endpoint_fail(ep, CS_ENET, "%s", srt_why());
        if (n > 0)
            break;
    }
    p->sock = srt_accept(p->lsn, (struct sockaddr *)&sa, &len);
    if (p->sock == SRT_INVALID_SOCK)
        return cs_endpoint_fail(ep, CS_ENET, "%s", srt_why());
    name_peer(ep, p, &sa, len);
    return peer_ready(ep, p);
}

/* The listener's reason, for the codes an access table uses. */
static const char *reject_text(int reason)
{
    switch (reason - SRT_REJC_PREDEFINED) {
    case 400: return "bad request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "unknown stream id";
    default: return "refused by the listener";
    }
}

/* Connect S to AI without blocking in libsrt: its blocking connect waits
 * out the whole connect timeout, and a stop (SIGTERM) went unheard for as
 * long. 0 when connected, CS_ESTOP on a stop, -1 when refused or timed
 * out (the socket's reject reason tells why). */
static int connect_async(SRTSOCKET s, const struct addrinfo *ai)
{
    int no = 0, yes = 1, ret = -1;
    int eid, events = SRT_EPOLL_OUT | SRT_EPOLL_ERR;

    if (srt_setsockflag(s, SRTO_RCVSYN, &no, sizeof(no)) < 0)
        return -1;
    eid = srt_epoll_create();
    if (eid >= 0 && srt_epoll_add_usock(eid, s, &events) == 0 &&
        srt_connect(s, ai->ai_addr, (int)ai->ai_addrlen) != SRT_ERROR) {
        for (;;) {
            SRT_SOCKSTATUS st = srt_getsockstate(s);
            SRT_EPOLL_EVENT ev[1];

            if (st == SRTS_CONNECTED) {
                ret = 0;
                break;
            }
            if (st != SRTS_CONNECTING && st != SRTS_OPENED)
                break;
            if (cs_stopping()) {
                ret = CS_ESTOP;
                break;
            }
            if (srt_epoll_uwait(eid, ev, 1, POLL_MS) > 0 &&
                (ev[0].events & SRT_EPOLL_ERR))
                break;
        }
    }
    if (eid >= 0)
        srt_epoll_release(eid);
    srt_setsockflag(s, SRTO_RCVSYN, &yes, sizeof(yes));
    return ret;
}

static int do_connect(struct cs_endpoint *ep, struct srt_priv *p,
                      const struct addrinfo *ai)
{
    int ret;

    if (ep->conf->mode == CS_NET_RENDEZVOUS) {
        struct sockaddr_storage local;

        memset(&local, 0, sizeof(local));
        local.ss_family = (sa_family_t)ai->ai_family;
        /* The same port on both sides unless port= says otherwise, as
         * srt-live-transmit does. */
        memcpy(&((struct sockaddr_in *)&local)->sin_port,
               &((struct sockaddr_in *)ai->ai_addr)->sin_port, 2);
        if (ep->conf->localport)
            ((struct sockaddr_in *)&local)->sin_port =
                htons((uint16_t)ep->conf->localport);
        if (srt_bind(p->sock, (struct sockaddr *)&local,
                     (int)ai->ai_addrlen) < 0)
            return cs_endpoint_fail(ep, CS_ENET, "%s", srt_why());
    }
    ret = connect_async(p->sock, ai);
    if (ret == CS_ESTOP)
        return ret;
    if (ret < 0) {
        int reason = srt_getrejectreason(p->sock);

        if (reason == SRT_REJ_TIMEOUT)
            return cs_endpoint_fail(ep, AVERROR(ETIMEDOUT),
                                    "no answer (timed out)");
        if (reason >= SRT_REJC_PREDEFINED)
            return cs_endpoint_fail(ep, CS_ENET, "connection rejected: %s "
                                    "(%d)", reject_text(reason), reason);
        if (reason == SRT_REJ_BADSECRET || reason == SRT_REJ_UNSECURE)
            return cs_endpoint_fail(ep, CS_ENET, "connection rejected: "
                                    "wrong or missing passphrase");
        return cs_endpoint_fail(ep, AVERROR(ECONNREFUSED),
                                "connection refused (%s)",
                                srt_rejectreason_str(reason));
    }
    return peer_ready(ep, p);
}

/* libsrt's own messages are for -vv only. */
static void srt_log(void *opaque, int level, const char *file, int line,
                    const char *area, const char *msg)
{
    cs_debug("srt: %s", msg);
}

static int srt_open(struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    struct srt_priv *p;
    struct addrinfo *ai = NULL;
    int listener = c->mode == CS_NET_LISTENER, ret;

    srt_startup();
    srt_setloghandler(NULL, srt_log);
    srt_setloglevel(cs_log_enabled(CS_LOG_DEBUG) ? LOG_NOTICE : LOG_ERR);
    p = av_mallocz(sizeof(*p));
    if (!p)
        return AVERROR(ENOMEM);
    ep->priv = p;
    p->lsn = p->sock = SRT_INVALID_SOCK;
    p->eid = p->rid = -1;
    ret = cs_net_resolve(ep, SOCK_DGRAM, listener, &ai);
    if (ret < 0)
        goto out;
    if (listener)
        p->lsn = srt_create_socket();
    else
        p->sock = srt_create_socket();
    ret = set_pre(ep, listener ? p->lsn : p->sock);
    if (ret < 0)
        goto out;
    ret = listener ? do_listen(ep, p, ai) : do_connect(ep, p, ai);
    if (ret >= 0 && listener)
        ret = srt_accept_next(ep);
out:
    if (ai)
        freeaddrinfo(ai);
    return ret;
}

static int would_block(void)
{
    int e = srt_getlasterror(NULL);

    /* The 200 ms SRTO_RCVTIMEO/SNDTIMEO ran out: nothing is wrong. */
    return e == SRT_ETIMEOUT || e == SRT_EASYNCRCV || e == SRT_EASYNCSND;
}

/* After the peer closed, what it sent last may still wait in the receive
 * buffer for its TSBPD time: read it out before calling the peer gone. */
static int read_tail(SRTSOCKET s, uint8_t *buf, int size)
{
    int lat = 120, len = sizeof(lat);
    int64_t until;

    srt_getsockflag(s, SRTO_RCVLATENCY, &lat, &len);
    until = cs_now_us() + (lat + 100) * INT64_C(1000);
    while (cs_now_us() < until && !cs_stopping()) {
        int n = srt_recvmsg(s, (char *)buf, size);

        if (n > 0)
            return n;
        cs_sleep_until_us(cs_now_us() + 5000);
    }
    return 0;
}

/* The messages that are due already, after the one just read: taken with
 * it, so that the caller writes them out in one call, not one each (a
 * receiver that fell behind catches up with fewer syscalls). Nothing
 * waits here (reads do not block): a message not yet due stays for the
 * next read. */
static int read_ready(struct srt_priv *p, uint8_t *buf, int size)
{
    int n = 0;

    while (size - n >= SRT_LIVE_MAX_PLSIZE && readable(p->sock)) {
        int m = srt_recvmsg(p->sock, (char *)buf + n, size - n);

        if (m <= 0)
            break;              /* the next read sees what is wrong */
        n += m;
    }
    return n;
}

static int srt_read_ep(struct cs_endpoint *ep, uint8_t *buf, int size)
{
    struct srt_priv *p = ep->priv;
    int64_t until = cs_now_us() + (int64_t)(ep->conf->timeout * 1e6);

    if (p->sock == SRT_INVALID_SOCK)
        return 0;                       /* the peer left before */
    for (;;) {
        int n = in_read(p->sock, p->rid, buf, size);

        if (n > 0) {
            n += read_ready(p, buf + n, size - n);
            /* Now: once the peer has gone, libsrt may have freed the
             * socket and its counters before we ask. */
            snapshot(p);
            return n;
        }
        if (cs_stopping())
            return CS_ESTOP;
        if (n == SRT_ERROR && !would_block()) {
            snapshot(p);                /* while libsrt still has it */
            n = read_tail(p->sock, buf, size);
            if (n > 0)
                return n;
            retire_peer(p);
            return 0;                   /* the peer left */
        }
        if (ep->conf->timeout > 0 && cs_now_us() > until) {
            retire_peer(p);
            return cs_endpoint_fail(ep, AVERROR(ETIMEDOUT),
                                    "no data for %g s", ep->conf->timeout);
        }
    }
}

static int srt_write_ep(struct cs_endpoint *ep, const uint8_t *buf, int size)
{
    struct srt_priv *p = ep->priv;
    int64_t until = cs_now_us() + (int64_t)(ep->conf->timeout * 1e6);

    for (;;) {
        if (srt_sendmsg2(p->sock, (const char *)buf, size, NULL) >= 0)
            return 0;
        if (cs_stopping())
            return CS_ESTOP;
        if (!would_block())
            return cs_endpoint_fail(ep, AVERROR(ECONNRESET),
                                    "connection lost");
        if (cs_now_us() > until)
            return cs_endpoint_fail(ep, AVERROR(ETIMEDOUT),
                                    "the peer stopped reading");
    }
}

static void put(cJSON *o, const char *k, double v)
{
    cJSON_AddNumberToObject(o, k, v);
}

static void srt_stats_ep(struct cs_endpoint *ep, cJSON *o)
{
    struct srt_priv *p = ep->priv;
    const SRT_TRACEBSTATS *d = &p->done, *s = &p->now;
    int send = ep->conf->dir == CS_NET_SEND;

    snapshot(p);
    put(o, "bitrate_bps", (send ? s->mbpsSendRate : s->mbpsRecvRate) * 1e6);
    put(o, "rtt_ms", s->msRTT);
    put(o, "packets_sent", (double)(d->pktSentTotal + s->pktSentTotal));
    put(o, "packets_received", (double)(d->pktRecvTotal + s->pktRecvTotal));
    put(o, "retransmitted", send ? d->pktRetransTotal + s->pktRetransTotal
                                 : d->pktRcvRetrans + s->pktRcvRetrans);
    put(o, "lost", send ? d->pktSndLossTotal + s->pktSndLossTotal
                        : d->pktRcvLossTotal + s->pktRcvLossTotal);
    put(o, "dropped", d->pktRcvDropTotal + s->pktRcvDropTotal +
                      d->pktSndDropTotal + s->pktSndDropTotal);
}

/* Let the send buffer drain (bounded) so that the last messages arrive,
 * then hold the connection for the receiver's latency: a receiver drops
 * what it still holds back for TSBPD when the connection closes. */
static void drain(struct cs_endpoint *ep, SRTSOCKET s)
{
    int64_t until = cs_now_us() + (int64_t)(ep->conf->timeout * 1e6);
    size_t blocks = 0, bytes = 0;
    int lat = 0, len = sizeof(lat);

    while (cs_now_us() < until && !cs_stopping() &&
           srt_getsockstate(s) == SRTS_CONNECTED &&
           srt_getsndbuffer(s, &blocks, &bytes) >= 0 && bytes > 0)
        cs_sleep_until_us(cs_now_us() + 10000);
    if (srt_getsockstate(s) != SRTS_CONNECTED ||
        srt_getsockflag(s, SRTO_PEERLATENCY, &lat, &len) < 0)
        return;
    cs_sleep_until_us(cs_now_us() + (lat + 100) * INT64_C(1000));
}

static void srt_finish(struct cs_endpoint *ep)
{
    struct srt_priv *p = ep->priv;

    if (p->sock != SRT_INVALID_SOCK && !p->finished)
        drain(ep, p->sock);
    p->finished = 1;
}

static void srt_close_ep(struct cs_endpoint *ep)
{
    struct srt_priv *p = ep->priv;

    if (p->sock != SRT_INVALID_SOCK) {
        if (ep->conf->dir == CS_NET_SEND)
            srt_finish(ep);
        srt_close(p->sock);
    }
    if (p->rid >= 0)
        srt_epoll_release(p->rid);
    if (p->eid >= 0)
        srt_epoll_release(p->eid);
    if (p->lsn != SRT_INVALID_SOCK)
        srt_close(p->lsn);
    cs_access_free(&p->acl);
    av_freep(&ep->priv);
    srt_cleanup();
}

/* cs-recv --exec: one thread a publisher, each on its own stream. */
struct reader {
    SRTSOCKET sock;
    int rid;                /* its epoll (in_open) */
    struct cs_streams *streams;
    const struct cs_net_conf *conf;
    char stream[128];
    char remote[64];
    pthread_t thread;
    struct reader *next;
};

struct readers {
    struct reader *head;
};

/* Read the publisher R until it leaves, falls silent or a stop. */
static void read_publisher(struct reader *r, struct cs_stream *st)
{
    int64_t last = cs_now_us(), limit = (int64_t)(r->conf->timeout * 1e6);
    uint8_t buf[1500];

    for (;;) {
        int n = in_read(r->sock, r->rid, buf, sizeof(buf));

        /* gone: what it sent last may still wait for its play time */
        if (n == SRT_ERROR && !would_block() && !cs_stopping())
            n = read_tail(r->sock, buf, sizeof(buf));
        if (n > 0) {
            last = cs_now_us();
            if (cs_streams_write(r->streams, st, buf, n) == CS_EDATA) {
                cs_warn("'%s': the publisher of '%s' sends something that "
                        "is not MPEG-TS; dropped it", r->conf->shown,
                        r->stream);
                return;
            }
            continue;
        }
        if (cs_stopping())
            return;
        if (n == 0 || (limit > 0 && cs_now_us() - last > limit)) {
            cs_info("'%s': the publisher of '%s' %s", r->conf->shown,
                    r->stream, n == 0 ? "left" : "fell silent");
            return;
        }
    }
}

/* The stream of R, once its last publisher's tail was read out (that
 * takes up to the latency, and a publisher restarting comes back sooner);
 * NULL if it stays on: another publisher feeds it. */
static struct cs_stream *take_stream(struct reader *r)
{
    int64_t until = cs_now_us() + 1000000;
    struct cs_stream *st;

    while (!(st = cs_streams_start(r->streams, r->stream, "srt",
                                   r->remote)) &&
           cs_now_us() < until && !cs_stopping())
        cs_sleep_until_us(cs_now_us() + 10000);
    return st;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct cs_stream *st = take_stream(r);

    if (!st)
        cs_warn("'%s': turned away a publisher from %s: stream '%s' is on",
                r->conf->shown, r->remote, r->stream);
    else
        read_publisher(r, st);
    if (st)
        cs_streams_end(r->streams, st);
    srt_epoll_release(r->rid);
    srt_close(r->sock);
    return NULL;
}

/* Join the readers whose publisher is gone (all with ALL). */
static void join_readers(struct readers *rs, int all)
{
    struct reader **pr = &rs->head;

    while (*pr) {
        struct reader *r = *pr;

        if (all)
            pthread_join(r->thread, NULL);
        else if (pthread_tryjoin_np(r->thread, NULL) != 0) {
            pr = &r->next;      /* still reading */
            continue;
        }
        *pr = r->next;
        av_free(r);
    }
}

/* Hand the publisher just accepted (p->sock) to a thread of its own. */
static int start_reader(struct cs_endpoint *ep, struct readers *rs,
                        struct cs_streams *streams)
{
    struct srt_priv *p = ep->priv;
    struct reader *r = av_mallocz(sizeof(*r));

    if (!r)
        return AVERROR(ENOMEM);
    r->sock = p->sock;
    r->rid = p->rid;
    r->streams = streams;
    r->conf = ep->conf;
    snprintf(r->stream, sizeof(r->stream), "%s",
             ep->stream[0] ? ep->stream : "srt");
    snprintf(r->remote, sizeof(r->remote), "%s", ep->remote);
    if (pthread_create(&r->thread, NULL, reader_main, r)) {
        av_free(r);
        return AVERROR(ENOMEM);
    }
    p->sock = SRT_INVALID_SOCK;     /* the reader's now */
    p->rid = -1;
    r->next = rs->head;
    rs->head = r;
    return 0;
}

/* Every publisher at once: the one open() accepted, then each next. */
static int srt_serve(struct cs_endpoint *ep, struct cs_streams *streams)
{
    struct srt_priv *p = ep->priv;
    struct readers rs = { .head = NULL };
    int ret = 0;

    if (p->lsn == SRT_INVALID_SOCK)
        return cs_endpoint_fail(ep, CS_EUSAGE, "not a listener");
    while (ret >= 0) {
        if (p->sock != SRT_INVALID_SOCK)
            ret = start_reader(ep, &rs, streams);
        if (ret >= 0)
            ret = srt_accept_next(ep);
        join_readers(&rs, 0);
    }
    join_readers(&rs, 1);
    return ret;
}

const struct cs_endpoint_ops cs_net_srt = {
    .scheme = "srt",
    .dirs = 1 << CS_NET_SEND | 1 << CS_NET_RECV,
    .modes = 1 << CS_NET_CALLER | 1 << CS_NET_LISTENER |
             1 << CS_NET_RENDEZVOUS,
    .open = srt_open,
    .accept = srt_accept_next,
    .read = srt_read_ep,
    .write = srt_write_ep,
    .finish = srt_finish,
    .stats = srt_stats_ep,
    .serve = srt_serve,
    .close = srt_close_ep,
};
