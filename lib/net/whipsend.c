/* whipsend.c: cs-send whip://HOST:PORT/PATH, a WHIP client (RFC 9725).
 *
 * The TS written first is held while net/rtcprobe checks that WebRTC can
 * carry it; then one send peer (net/rtcsend) makes its offer with every
 * candidate, POSTs it over libcurl (a bearer token from token=), takes the
 * 201's answer and Location, waits until the connection is up and only
 * then lets the TS go, from its start. The session is DELETEd when the
 * endpoint closes.
 */
#include "net/endpoint.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gst/gst.h>

#include "clock.h"
#include "err.h"
#include "net/rtcprobe.h"
#include "net/rtcsend.h"
#include "sig.h"

#define HOLD_MAX (8 << 20)
/* After the input ends: how long the last packet has to leave and be
 * repaired, and the most the DELETE waits. */
#define FINISH_S 0.3
#define FINISH_MAX_S 5.0

struct whipc {
    struct cs_rtcprobe probe;
    int decided;
    struct cs_rtcsend *rtc;
    int peer;
    GByteArray *hold;
    char url[1400];         /* the endpoint, without the token */
    char *location;         /* the session's URL (201's Location) */
    char ice_addr[64];
    int64_t checked_us;
};

/* What one HTTP exchange brought back. */
struct reply {
    long status;
    GByteArray *body;
    char location[1024];
};

static size_t on_body(char *d, size_t size, size_t n, void *opaque)
{
    struct reply *r = opaque;

    if (r->body->len + size * n > (1 << 20))
        return 0;
    g_byte_array_append(r->body, (guint8 *)d, (guint)(size * n));
    return size * n;
}

static size_t on_header(char *d, size_t size, size_t n, void *opaque)
{
    struct reply *r = opaque;
    size_t len = size * n;

    if (len > 9 && !g_ascii_strncasecmp(d, "location:", 9)) {
        char *v = g_strstrip(g_strndup(d + 9, len - 9));

        snprintf(r->location, sizeof(r->location), "%s", v);
        g_free(v);
    }
    return len;
}

/* METHOD URL with BODY (may be NULL) as application/sdp. 0 with R filled,
 * or CS_ENET with ep->why (curl's cause; the token never appears). */
static int http(struct cs_endpoint *ep, const char *method, const char *url,
                const char *body, struct reply *r)
{
    const struct cs_net_conf *c = ep->conf;
    struct curl_slist *h = NULL;
    CURL *curl = curl_easy_init();
    char auth[600];
    CURLcode cc;

    if (!curl)
        return cs_endpoint_fail(ep, AVERROR(ENOMEM), "no curl handle");
    h = curl_slist_append(h, "Content-Type: application/sdp");
    if (c->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(c->timeout * 1000));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(h);
    memset(auth, 0, sizeof(auth));
    if (cc != CURLE_OK)
        return cs_endpoint_fail(ep, CS_ENET, "%s", curl_easy_strerror(cc));
    return 0;
}

/* The Location of a 201, made absolute against the endpoint's URL. */
static char *session_url(const char *base, const char *loc)
{
    CURLU *u = curl_url();
    char *full = NULL, *ret = NULL;

    if (u && !curl_url_set(u, CURLUPART_URL, base, 0) &&
        !curl_url_set(u, CURLUPART_URL, loc, 0) &&
        !curl_url_get(u, CURLUPART_URL, &full, 0))
        ret = strdup(full);
    curl_free(full);
    curl_url_cleanup(u);
    return ret;
}

/* A refused POST: the status and the server's one line. Settings that
 * will not change (401, 403, 404, 400) are not worth another attempt. */
static int refused(struct cs_endpoint *ep, const struct reply *r)
{
    int code = r->status == 401 || r->status == 403 || r->status == 404 ||
               r->status == 400 ? CS_EUSAGE : CS_ENET;
    int len = (int)MIN(r->body->len, 160u);
    const char *body = (const char *)r->body->data;

    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
        len--;
    return cs_endpoint_fail(ep, code, "the server answered %ld%s%.*s",
                            r->status, len ? ": " : "",
                            memchr(body, '\n', (size_t)len) ? 0 : len, body);
}

/* POST the offer; on 201 set the answer and keep the session's URL. */
static int post_offer(struct cs_endpoint *ep, struct whipc *w,
                      const char *offer)
{
    struct reply r = { .body = g_byte_array_new() };
    int ret = http(ep, "POST", w->url, offer, &r);

    if (ret >= 0 && r.status != 201)
        ret = refused(ep, &r);
    if (ret >= 0) {
        g_byte_array_append(r.body, (const guint8 *)"", 1);
        w->location = session_url(w->url, r.location[0] ? r.location
                                                        : w->url);
        ret = cs_rtcsend_accept(w->rtc, w->peer, (char *)r.body->data,
                                ep->why, sizeof(ep->why));
    }
    g_byte_array_unref(r.body);
    return ret;
}

/* Wait until the peer is connected (ICE and DTLS), at most conf->timeout. */
static int wait_connected(struct cs_endpoint *ep, struct whipc *w)
{
    int64_t until = cs_now_us() + (int64_t)(ep->conf->timeout * 1e6);

    for (;;) {
        int st = cs_rtcsend_state(w->rtc, w->peer);

        if (st > 0)
            return 0;
        if (st < 0)
            return cs_endpoint_fail(ep, CS_ENET, "the webrtc connection "
                                    "failed (ice or dtls)");
        if (cs_now_us() > until)
            return cs_endpoint_fail(ep, CS_ENET, "no webrtc connection "
                                    "after %g s", ep->conf->timeout);
        if (cs_sleep_until_us(cs_now_us() + 10000))
            return CS_ESTOP;
    }
}

/* The probe said yes: a pipeline, an offer, the POST, the connection,
 * then the TS held so far. */
static int start(struct cs_endpoint *ep, struct whipc *w)
{
    const struct cs_rtcprobe_prog *g = &w->probe.prog[w->probe.chosen];
    char *offer = NULL;
    int ret;

    ret = cs_rtcsend_new(&w->rtc, g->number, g->audio_pid >= 0,
                         w->ice_addr[0] ? w->ice_addr : NULL, ep->why,
                         sizeof(ep->why));
    if (ret >= 0)
        ret = w->peer = cs_rtcsend_offer(w->rtc, &offer, ep->why,
                                         sizeof(ep->why));
    if (ret >= 0)
        ret = post_offer(ep, w, offer);
    free(offer);
    if (ret >= 0)
        ret = wait_connected(ep, w);
    if (ret < 0)
        return ret;
    w->decided = 1;
    ret = cs_rtcsend_push(w->rtc, w->hold->data, (int)w->hold->len, ep->why,
                          sizeof(ep->why));
    g_byte_array_set_size(w->hold, 0);
    return ret;
}

static int probe(struct cs_endpoint *ep, struct whipc *w, const uint8_t *buf,
                 int size)
{
    int ret = cs_rtcprobe_feed(&w->probe, buf, size);

    if (ret < 0)
        return cs_endpoint_fail(ep, ret, "%s", w->probe.why);
    g_byte_array_append(w->hold, buf, (guint)size);
    if (ret > 0)
        return start(ep, w);
    if (w->hold->len > HOLD_MAX)
        return cs_endpoint_fail(ep, CS_EDATA, "no h.264 program found "
                                "in the first %d MiB", HOLD_MAX >> 20);
    return 0;
}

static int whipc_write(struct cs_endpoint *ep, const uint8_t *buf, int size)
{
    struct whipc *w = ep->priv;

    if (!w->decided)
        return probe(ep, w, buf, size);
    if (cs_now_us() - w->checked_us > 500000) {
        w->checked_us = cs_now_us();
        if (cs_rtcsend_state(w->rtc, w->peer) < 0)
            return cs_endpoint_fail(ep, CS_ENET, "the webrtc connection "
                                    "was lost");
    }
    return cs_rtcsend_push(w->rtc, buf, size, ep->why, sizeof(ep->why));
}

/* The end of the input: let the last packets leave before the DELETE
 * (the demuxer passes its last frames on at the EOS; they leave at their
 * time), then FINISH_S more for the peer's queue and a retransmission. */
static void whipc_finish(struct cs_endpoint *ep)
{
    struct whipc *w = ep->priv;
    int64_t end = cs_now_us() + (int64_t)(FINISH_MAX_S * 1e6);
    int64_t quiet = 0;

    if (!w->rtc)
        return;
    cs_rtcsend_eos(w->rtc);
    while (cs_now_us() < end && !cs_stopping()) {
        double left = cs_rtcsend_pending(w->rtc);

        if (left > 0)
            quiet = 0;
        else if (!quiet)
            quiet = cs_now_us();
        else if (cs_now_us() - quiet >= (int64_t)(FINISH_S * 1e6))
            break;
        cs_sleep_until_us(cs_now_us() + 20000);
    }
}

static void whipc_stats(struct cs_endpoint *ep, cJSON *obj)
{
    struct whipc *w = ep->priv;

    if (w->rtc)
        cs_rtcsend_stats(w->rtc, obj);
}

static void whipc_close(struct cs_endpoint *ep)
{
    struct whipc *w = ep->priv;

    if (w->location) {
        struct reply r = { .body = g_byte_array_new() };

        http(ep, "DELETE", w->location, NULL, &r);
        g_byte_array_unref(r.body);
        free(w->location);
    }
    cs_rtcsend_free(&w->rtc);
    g_byte_array_unref(w->hold);
    g_free(w);
    ep->priv = NULL;
}

/* ICE gathers on the address that reaches HOST when HOST is a loopback
 * address (a test on one machine), else everywhere. */
static void ice_addr(struct whipc *w, const char *host)
{
    if (!strncmp(host, "127.", 4) || !strcmp(host, "localhost"))
        snprintf(w->ice_addr, sizeof(w->ice_addr), "127.0.0.1");
    else if (!strcmp(host, "::1"))
        snprintf(w->ice_addr, sizeof(w->ice_addr), "::1");
}

static int whipc_open(struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    struct whipc *w = g_new0(struct whipc, 1);
    int v6 = strchr(c->host, ':') != NULL;

    ep->priv = w;
    w->hold = g_byte_array_new();
    cs_rtcprobe_init(&w->probe, c->rendition);
    ice_addr(w, c->host);
    snprintf(w->url, sizeof(w->url), "http://%s%s%s:%d%s", v6 ? "[" : "",
             c->host, v6 ? "]" : "", c->port, c->path[0] ? c->path : "/");
    return 0;
}

const struct cs_endpoint_ops cs_net_whip_send = {
    .scheme = "whip",
    .dirs = 1 << CS_NET_SEND,
    .modes = 1 << CS_NET_CALLER,
    .open = whipc_open,
    .write = whipc_write,
    .finish = whipc_finish,
    .stats = whipc_stats,
    .close = whipc_close,
};
