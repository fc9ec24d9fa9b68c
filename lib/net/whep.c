/* whep.c: cs-send whep://HOST:PORT/PATH?mode=listener, a WHEP endpoint
 * (draft-ietf-wish-whep) serving the TS written to it to every viewer.
 *
 * The HTTP side is net/whttp; the media is net/rtcsend: payloaded once,
 * one webrtcbin per viewer. Before the stream was checked (net/rtcprobe)
 * and its first video payloaded, a viewer gets 409 with Retry-After; past
 * conf->max_viewers, 503. Viewers whose connection failed or closed are
 * dropped once a second.
 */
#include "net/endpoint.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>

#include "clock.h"
#include "err.h"
#include "net/access.h"
#include "net/rtcprobe.h"
#include "net/rtcsend.h"
#include "net/whttp.h"

/* TS held while the probe decides (a few seconds at most). */
#define HOLD_MAX (8 << 20)

struct viewer {
    char id[CS_WHTTP_ID_LEN + 1];
    int peer;           /* cs_rtcsend id; 0: free slot */
};

struct whep_priv {
    struct cs_rtcprobe probe;
    int decided;
    struct cs_rtcsend *rtc;     /* set once, under lock */
    struct cs_whttp *http;
    GMutex lock;                /* rtc, viewers */
    struct viewer *viewers;
    int max;
    GByteArray *hold;           /* TS before the probe decided */
    char ice_addr[64];
    int64_t reaped_us;
};

static struct cs_rtcsend *rtc_get(struct whep_priv *p)
{
    struct cs_rtcsend *s;

    g_mutex_lock(&p->lock);
    s = p->rtc && cs_rtcsend_live(p->rtc) ? p->rtc : NULL;
    g_mutex_unlock(&p->lock);
    return s;
}

/* A free viewer slot, or NULL; under the lock. */
static struct viewer *slot(struct whep_priv *p)
{
    for (int i = 0; i < p->max; i++)
        if (!p->viewers[i].peer)
            return &p->viewers[i];
    return NULL;
}

static void reply_error(struct cs_whttp_reply *r, int status, int retry,
                        const char *why)
{
    r->status = status;
    r->retry_after = retry;
    snprintf(r->reason, sizeof(r->reason), "%s", why);
}

/* Take a slot for ID now, so that viewers answered at once stay within
 * the bound; its peer is -1 until the answer is made. */
static struct viewer *reserve(struct whep_priv *p, const char *id)
{
    struct viewer *v;

    g_mutex_lock(&p->lock);
    v = slot(p);
    if (v) {
        snprintf(v->id, sizeof(v->id), "%s", id);
        v->peer = -1;
    }
    g_mutex_unlock(&p->lock);
    return v;
}

static void on_offer(void *opaque, const char *id, const char *sdp,
                     size_t len, struct cs_whttp_reply *r)
{
    struct whep_priv *p = opaque;
    struct cs_rtcsend *s = rtc_get(p);
    struct viewer *v;
    char *answer = NULL;
    int peer;

    if (!s)
        return reply_error(r, 409, 1, "no media yet");
    v = reserve(p, id);
    if (!v)
        return reply_error(r, 503, 5, "too many viewers");
    peer = cs_rtcsend_answer(s, sdp, len, &answer, r->reason,
                             sizeof(r->reason));
    g_mutex_lock(&p->lock);
    v->peer = peer > 0 ? peer : 0;
    g_mutex_unlock(&p->lock);
    if (peer <= 0) {
        r->status = peer == CS_EDATA ? 400 : 500;
        return;
    }
    r->sdp = answer;
}

static int on_remove(void *opaque, const char *id)
{
    struct whep_priv *p = opaque;
    int peer = 0;

    g_mutex_lock(&p->lock);
    for (int i = 0; i < p->max && !peer; i++)
        if (p->viewers[i].peer > 0 && !strcmp(p->viewers[i].id, id)) {
            peer = p->viewers[i].peer;
            p->viewers[i].peer = 0;
        }
    g_mutex_unlock(&p->lock);
    if (!peer)
        return -1;
    cs_rtcsend_drop(p->rtc, peer);
    return 0;
}

static int on_probe(void *opaque)
{
    return rtc_get(opaque) ? 200 : 409;
}

/* ICE gathers on HOST when it is an IP address, else everywhere. */
static void ice_addr(struct whep_priv *p, const char *host)
{
    unsigned char a[16];

    if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1)
        snprintf(p->ice_addr, sizeof(p->ice_addr), "%.63s", host);
}

static int whep_open(struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    struct cs_whttp_sink sink = { .offer = on_offer, .remove = on_remove,
                                  .probe = on_probe };
    struct cs_whttp_conf hc = {
        .host = c->host, .port = c->port, .path = c->path,
        .token = c->token, .access = c->access,
        .access_mode = CS_ACCESS_PLAY,
    };
    struct whep_priv *p = g_new0(struct whep_priv, 1);

    ep->priv = p;
    g_mutex_init(&p->lock);
    p->max = c->max_viewers > 0 ? c->max_viewers : 1;
    p->viewers = g_new0(struct viewer, (gsize)p->max);
    p->hold = g_byte_array_new();
    cs_rtcprobe_init(&p->probe, c->rendition);
    ice_addr(p, c->host);
    sink.opaque = p;
    return cs_whttp_start(&p->http, &hc, &sink, ep->why, sizeof(ep->why));
}

/* The probe said yes: build the pipeline and give it what was held. */
static int start(struct cs_endpoint *ep, struct whep_priv *p)
{
    const struct cs_rtcprobe_prog *g = &p->probe.prog[p->probe.chosen];
    const struct cs_net_conf *c = ep->conf;
    struct cs_rtcsend *s = NULL;
    int ret;

    ret = cs_rtcsend_new(&s, g->number, g->audio_pid >= 0,
                         p->ice_addr[0] ? p->ice_addr : NULL, ep->why,
                         sizeof(ep->why));
    if (ret < 0)
        return ret;
    /* ice_port=P: viewers take ports P to P + max_viewers - 1 */
    if (c->ice_port)
        cs_rtcsend_ice_ports(s, (unsigned)c->ice_port,
                             (unsigned)(c->ice_port + p->max - 1));
    g_mutex_lock(&p->lock);
    p->rtc = s;
    g_mutex_unlock(&p->lock);
    p->decided = 1;
    ret = cs_rtcsend_push(s, p->hold->data, (int)p->hold->len, ep->why,
                          sizeof(ep->why));
    g_byte_array_set_size(p->hold, 0);
    return ret;
}

static int probe(struct cs_endpoint *ep, struct whep_priv *p,
                 const uint8_t *buf, int size)
{
    int ret = cs_rtcprobe_feed(&p->probe, buf, size);

    if (ret < 0)
        return cs_endpoint_fail(ep, ret, "%s", p->probe.why);
    g_byte_array_append(p->hold, buf, (guint)size);
    if (ret > 0)
        return start(ep, p);
    if (p->hold->len > HOLD_MAX)
        return cs_endpoint_fail(ep, CS_EDATA, "no h.264 keyframes found "
                                "in the first %d MiB", HOLD_MAX >> 20);
    return 0;
}

/* Once a second: forget the viewers whose connection failed or closed. */
static void reap(struct whep_priv *p)
{
    int gone[16], n = 0;

    if (cs_now_us() - p->reaped_us < 1000000)
        return;
    p->reaped_us = cs_now_us();
    g_mutex_lock(&p->lock);
    for (int i = 0; i < p->max && n < 16; i++)
        if (p->viewers[i].peer > 0 &&
            cs_rtcsend_state(p->rtc, p->viewers[i].peer) < 0) {
            gone[n++] = p->viewers[i].peer;
            p->viewers[i].peer = 0;
        }
    g_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++)
        cs_rtcsend_drop(p->rtc, gone[i]);
}

static int whep_write(struct cs_endpoint *ep, const uint8_t *buf, int size)
{
    struct whep_priv *p = ep->priv;

    if (!p->decided)
        return probe(ep, p, buf, size);
    reap(p);
    return cs_rtcsend_push(p->rtc, buf, size, ep->why, sizeof(ep->why));
}

static void whep_stats(struct cs_endpoint *ep, cJSON *obj)
{
    struct whep_priv *p = ep->priv;

    if (p->rtc)
        cs_rtcsend_stats(p->rtc, obj);
}

static void whep_close(struct cs_endpoint *ep)
{
    struct whep_priv *p = ep->priv;

    cs_whttp_stop(&p->http);
    cs_rtcsend_free(&p->rtc);
    g_byte_array_unref(p->hold);
    g_free(p->viewers);
    g_mutex_clear(&p->lock);
    g_free(p);
    ep->priv = NULL;
}

const struct cs_endpoint_ops cs_net_whep = {
    .scheme = "whep",
    .dirs = 1 << CS_NET_SEND,
    .modes = 1 << CS_NET_LISTENER,
    .open = whep_open,
    .write = whep_write,
    .stats = whep_stats,
    .close = whep_close,
};
