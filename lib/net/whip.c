/* whip.c: cs-recv whip://HOST:PORT/PATH, a WHIP endpoint (RFC 9725).
 *
 * The HTTP side is net/whttp; each publisher's offer gets a pipeline of its
 * own: webrtcbin (net/rtc) answering with all its candidates (no trickle,
 * as OBS wants), its RTP pads bridged to MPEG-TS (net/rtpts). One publisher
 * at a time: a second POST gets 409 with Retry-After until the first one
 * leaves (DELETE, a failed connection, or conf->timeout of silence).
 */
#include "net/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "net/access.h"
#include "net/rtc.h"
#include "net/rtpts.h"
#include "net/whttp.h"
#include "sig.h"

/* One publisher. */
struct session {
    char id[CS_WHTTP_ID_LEN + 1];
    GstElement *pipe, *webrtc;
    struct cs_rtpts *ts;
    int ready;          /* answered: the reader may take it */
    int ended;          /* DELETE or a failed connection */
    int64_t draining;   /* when the reader sent the EOS after it; 0: not */
};

/* How long the reader waits for the EOS to come through. */
#define DRAIN_US 2000000

struct whip_priv {
    struct cs_whttp *http;
    GMutex lock;        /* cur, and its ready and ended */
    struct session *cur;    /* the publisher, or the one being answered */
    int efd;            /* eventfd: a publisher was answered */
    int taken;          /* the reader holds cur */
    char ice_addr[64];  /* where ICE gathers; empty: every address */
    int ice_port;       /* the one port ICE uses; 0: any */
    int latency_ms;     /* the jitter buffer's; -1: webrtcbin's */
    double timeout;
    const char *shown;  /* the URL for messages (conf's) */
    struct cs_rtc_rate rate;
    int64_t last_us;    /* when TS last came */
};

static void session_free(struct session *s)
{
    if (!s)
        return;
    if (s->pipe) {
        gst_element_set_state(s->pipe, GST_STATE_NULL);
        gst_object_unref(s->pipe);
    }
    cs_rtpts_free(&s->ts);
    g_free(s);
}

static void on_pad(GstElement *webrtc, GstPad *pad, gpointer data)
{
    struct session *s = data;

    if (GST_PAD_DIRECTION(pad) == GST_PAD_SRC)
        cs_rtpts_link(s->ts, pad);
}

static void on_transceiver(GstElement *webrtc, GstWebRTCRTPTransceiver *t,
                           gpointer data)
{
    g_object_set(t, "do-nack", TRUE, NULL);
}

/* The connection failed or closed: the publisher is gone. */
static void on_state(GObject *webrtc, GParamSpec *ps, gpointer data)
{
    struct whip_priv *p = data;
    GstWebRTCPeerConnectionState st;

    g_object_get(webrtc, "connection-state", &st, NULL);
    if (st != GST_WEBRTC_PEER_CONNECTION_STATE_FAILED &&
        st != GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
        return;
    g_mutex_lock(&p->lock);
    if (p->cur && p->cur->webrtc == (GstElement *)webrtc)
        p->cur->ended = 1;
    g_mutex_unlock(&p->lock);
}

static int build(struct whip_priv *p, struct session *s, unsigned media)
{
    int ret;

    s->pipe = gst_pipeline_new(NULL);
    s->webrtc = gst_element_factory_make("webrtcbin", NULL);
    if (!s->pipe || !s->webrtc)
        return CS_EUSAGE;
    /* The jitter buffer waits this long for a packet (and its RTX):
     * latency= in the URL, else webrtcbin's 200 ms. */
    g_object_set(s->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE,
                 "latency", p->latency_ms >= 0 ? p->latency_ms : 200, NULL);
    gst_bin_add(GST_BIN(s->pipe), s->webrtc);
    ret = cs_rtpts_new(&s->ts, s->pipe, s->webrtc, media);
    if (ret < 0)
        return ret;
    cs_rtc_ice_bind(s->webrtc, p->ice_addr);
    cs_rtc_feedback_fast(s->webrtc);
    cs_rtc_ice_ports(s->webrtc, (unsigned)p->ice_port,
                     (unsigned)p->ice_port);
    g_signal_connect(s->webrtc, "pad-added", G_CALLBACK(on_pad), s);
    g_signal_connect(s->webrtc, "on-new-transceiver",
                     G_CALLBACK(on_transceiver), s);
    g_signal_connect(s->webrtc, "notify::connection-state",
                     G_CALLBACK(on_state), p);
    if (gst_element_set_state(s->pipe, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE)
        return CS_EUSAGE;
    return 0;
}

/* Take the slot for a new publisher: NULL with R filled when busy. */
static struct session *reserve(struct whip_priv *p, const char *id,
                               struct cs_whttp_reply *r)
{
    struct session *s = NULL;

    g_mutex_lock(&p->lock);
    if (p->cur) {
        r->status = 409;
        r->retry_after = (int)p->timeout + 1;
        snprintf(r->reason, sizeof(r->reason),
                 "this path already has a publisher");
    } else {
        s = g_new0(struct session, 1);
        snprintf(s->id, sizeof(s->id), "%s", id);
        p->cur = s;
    }
    g_mutex_unlock(&p->lock);
    return s;
}

static void release(struct whip_priv *p, struct session *s)
{
    g_mutex_lock(&p->lock);
    if (p->cur == s)
        p->cur = NULL;
    g_mutex_unlock(&p->lock);
    session_free(s);
}

static void on_offer(void *opaque, const char *id, const char *sdp,
                     size_t len, struct cs_whttp_reply *r)
{
    struct whip_priv *p = opaque;
    GstSDPMessage *offer = NULL;
    struct session *s;
    unsigned media = 0;
    uint64_t one = 1;
    int ret;

    ret = cs_rtc_offer_parse(sdp, len, &offer, &media, r->reason,
                             sizeof(r->reason));
    if (ret < 0) {
        r->status = 400;
        return;
    }
    s = reserve(p, id, r);
    if (!s) {
        gst_sdp_message_free(offer);
        return;
    }
    ret = build(p, s, media);
    if (ret < 0) {
        gst_sdp_message_free(offer);
        snprintf(r->reason, sizeof(r->reason), "cannot start a peer");
    } else {
        ret = cs_rtc_answer(s->webrtc, offer, MAX(p->timeout, 10.0),
                            &r->sdp, r->reason, sizeof(r->reason));
    }
    if (ret < 0) {
        r->status = 503;
        release(p, s);
        return;
    }
    g_mutex_lock(&p->lock);
    s->ready = 1;
    g_mutex_unlock(&p->lock);
    if (write(p->efd, &one, sizeof(one)) < 0)
        r->status = 500;
}

static int on_remove(void *opaque, const char *id)
{
    struct whip_priv *p = opaque;
    int ret = -1;

    g_mutex_lock(&p->lock);
    if (p->cur && !strcmp(p->cur->id, id)) {
        p->cur->ended = 1;
        ret = 0;
    }
    g_mutex_unlock(&p->lock);
    return ret;
}

static void on_refused(void *opaque, const char *method, int status,
                       const char *reason)
{
    struct whip_priv *p = opaque;

    cs_warn("'%s': refused a %s (%d): %s", p->shown,
            strcmp(method, "POST") ? "DELETE" : "publisher", status, reason);
}

/* Wait (without a bound, waking up for a stop) until a publisher was
 * answered. */
static int wait_publisher(struct cs_endpoint *ep)
{
    struct whip_priv *p = ep->priv;

    for (;;) {
        uint64_t n;
        int ret = cs_net_wait(ep, p->efd, POLLIN, 0);

        if (ret < 0)
            return ret;
        if (read(p->efd, &n, sizeof(n)) < 0)
            continue;
        g_mutex_lock(&p->lock);
        p->taken = p->cur && p->cur->ready;
        g_mutex_unlock(&p->lock);
        if (p->taken)
            break;
    }
    p->last_us = cs_now_us();
    memset(&p->rate, 0, sizeof(p->rate));
    return 0;
}

/* ICE gathers on HOST when it is an IP address (not a wildcard such as
 * 0.0.0.0 or ::), else on every address. */
static void ice_addr(struct whip_priv *p, const char *host)
{
    static const unsigned char any[16] = { 0 };
    unsigned char a[16] = { 0 };

    if ((inet_pton(AF_INET, host, a) == 1 ||
         inet_pton(AF_INET6, host, a) == 1) && memcmp(a, any, sizeof(a)))
        snprintf(p->ice_addr, sizeof(p->ice_addr), "%.63s", host);
}

static void whip_close(struct cs_endpoint *ep);

static int whip_open(struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    struct cs_whttp_sink sink = { .offer = on_offer, .remove = on_remove,
                                  .refused = on_refused };
    struct cs_whttp_conf hc = {
        .host = c->host, .port = c->port, .path = c->path,
        .token = c->token, .access = c->access,
        .access_mode = CS_ACCESS_PUBLISH, .cert = c->cert, .key = c->key,
    };
    struct whip_priv *p = g_new0(struct whip_priv, 1);
    int ret;

    ep->priv = p;
    g_mutex_init(&p->lock);
    p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    p->timeout = c->timeout;
    p->ice_port = c->ice_port;
    p->latency_ms = c->latency_ms;
    p->shown = c->shown;
    ice_addr(p, c->host);
    ret = p->efd < 0 ? cs_endpoint_fail(ep, AVERROR(errno), "no eventfd")
                     : cs_rtc_init(ep->why, sizeof(ep->why));
    sink.opaque = p;
    if (ret >= 0)
        ret = cs_whttp_start(&p->http, &hc, &sink, ep->why, sizeof(ep->why));
    if (ret < 0) {
        /* Not listening: nothing to wait on (the failure is final). */
        whip_close(ep);
        return ret;
    }
    return wait_publisher(ep);
}

/* Drop the current publisher, if any, so that another may come. */
static void drop(struct whip_priv *p)
{
    struct session *s;

    g_mutex_lock(&p->lock);
    s = p->taken ? p->cur : NULL;
    if (s)
        p->cur = NULL;
    p->taken = 0;
    g_mutex_unlock(&p->lock);
    session_free(s);
}

static int whip_accept(struct cs_endpoint *ep)
{
    drop(ep->priv);
    return wait_publisher(ep);
}

static int whip_read(struct cs_endpoint *ep, uint8_t *buf, int size)
{
    struct whip_priv *p = ep->priv;
    struct session *s = p->cur;     /* ours while taken */

    for (;;) {
        int ended, n = cs_rtpts_read(s->ts, buf, size, 0.1);

        if (n > 0) {
            p->last_us = cs_now_us();
            return n;
        }
        if (n == CS_EEMPTY)
            return 0;
        g_mutex_lock(&p->lock);
        ended = s->ended;
        g_mutex_unlock(&p->lock);
        /* The publisher left: what the jitter buffer and the muxer still
         * hold (the last ~latency of the stream) comes out with the EOS. */
        if (ended && !s->draining) {
            s->draining = cs_now_us();
            gst_element_send_event(s->pipe, gst_event_new_eos());
        } else if (ended && cs_now_us() - s->draining > DRAIN_US) {
            return 0;
        }
        if (ended)
            continue;
        if (cs_stopping())
            return CS_ESTOP;
        if (cs_now_us() - p->last_us <= (int64_t)(p->timeout * 1e6))
            continue;
        if (!cs_rtpts_bytes(s->ts))
            return 0;       /* answered, never connected: gone */
        return cs_endpoint_fail(ep, AVERROR(ETIMEDOUT), "nothing for %g s",
                                p->timeout);
    }
}

static void whip_stats(struct cs_endpoint *ep, cJSON *o)
{
    struct whip_priv *p = ep->priv;

    if (p->taken && p->cur)
        cs_rtc_stats(p->cur->webrtc, o, 0.5, &p->rate);
}

static void whip_close(struct cs_endpoint *ep)
{
    struct whip_priv *p = ep->priv;

    cs_whttp_stop(&p->http);    /* no callback runs after this */
    p->taken = 1;
    drop(p);
    if (p->efd >= 0)
        close(p->efd);
    g_mutex_clear(&p->lock);
    g_free(p);
    ep->priv = NULL;
}

const struct cs_endpoint_ops cs_net_whip = {
    .scheme = "whip",
    .dirs = 1 << CS_NET_RECV,
    .modes = 1 << CS_NET_LISTENER,
    .open = whip_open,
    .accept = whip_accept,
    .read = whip_read,
    .stats = whip_stats,
    .close = whip_close,
};
