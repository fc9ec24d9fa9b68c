/* rtc.c: GStreamer's start, offers narrowed to our codecs, answers with
 * their candidates, bounded waits (see rtc.h). */
#include "net/rtc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "err.h"

static GOnce init_once = G_ONCE_INIT;

static gpointer init_gst(gpointer data)
{
    static const char *const need[] = {
        "webrtcbin", "rtph264depay", "rtpopusdepay", "h264parse",
        "opusparse", "mpegtsmux", "appsink", "appsrc", NULL,
    };
    GstElement *warm;
    GError *e = NULL;

    if (!gst_init_check(NULL, NULL, &e)) {
        g_clear_error(&e);
        return (gpointer)"gstreamer";
    }
    for (int i = 0; need[i]; i++) {
        GstElementFactory *f = gst_element_factory_find(need[i]);

        if (!f)
            return (gpointer)need[i];
        gst_object_unref(f);
    }
    /* GStreamer's DTLS makes its certificate once per process, when the
     * first DTLS element is made: now, rather than in the first answer. */
    warm = gst_element_factory_make("dtlsdec", NULL);
    if (warm)
        gst_object_unref(gst_object_ref_sink(warm));
    return (gpointer)"";
}

int cs_rtc_init(char *why, size_t n)
{
    const char *missing = g_once(&init_once, init_gst, NULL);

    if (!*missing)
        return 0;
    snprintf(why, n, "GStreamer has no '%s' (install gstreamer1.0-plugins-"
             "bad, -good, -base and gstreamer1.0-nice)", missing);
    return CS_EUSAGE;
}

/* The payload type of an "a=rtpmap:PT NAME/..." or "a=fmtp:PT ..." value,
 * or -1. */
static int attr_pt(const char *v)
{
    char *end;
    long pt = strtol(v, &end, 10);

    return end != v && pt >= 0 && pt < 128 ? (int)pt : -1;
}

/* The value of attribute KEY for payload PT ("fmtp", "rtpmap"), or NULL. */
static const char *pt_attr(const GstSDPMedia *m, const char *key, int pt)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);

        if (!strcmp(a->key, key) && a->value && attr_pt(a->value) == pt)
            return a->value;
    }
    return NULL;
}

/* How well payload PT of M fits: 0 not at all; H.264 with
 * packetization-mode 1 scores 2, 3 with profile-level-id 42e01f; Opus 3. */
static int pt_score(const GstSDPMedia *m, int pt, int video)
{
    const char *map = pt_attr(m, "rtpmap", pt), *fmtp;
    const char *name = map ? strchr(map, ' ') : NULL;

    if (!name)
        return 0;
    name++;
    if (!video)
        return !g_ascii_strncasecmp(name, "opus/48000", 10) ? 3 : 0;
    if (g_ascii_strncasecmp(name, "H264/90000", 10))
        return 0;
    fmtp = pt_attr(m, "fmtp", pt);
    if (!fmtp || !strstr(fmtp, "packetization-mode=1"))
        return 0;
    return strstr(fmtp, "profile-level-id=42e01f") ? 3 : 2;
}

/* The RTX payload whose apt= is PT, or -1. */
static int rtx_for(const GstSDPMedia *m, int pt)
{
    char want[32];

    snprintf(want, sizeof(want), "apt=%d", pt);
    for (guint i = 0; i < gst_sdp_media_attributes_len(m); i++) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        const char *apt = a->value ? strstr(a->value, want) : NULL;

        if (!strcmp(a->key, "fmtp") && apt &&
            (apt[strlen(want)] == 0 || apt[strlen(want)] == ';'))
            return attr_pt(a->value);
    }
    return -1;
}

/* Keep payloads KEEP and RTX (may be -1) of M, with their attributes. */
static void keep_only(GstSDPMedia *m, int keep, int rtx)
{
    for (guint i = gst_sdp_media_formats_len(m); i-- > 0;) {
        int pt = atoi(gst_sdp_media_get_format(m, i));

        if (pt != keep && pt != rtx)
            gst_sdp_media_remove_format(m, i);
    }
    for (guint i = gst_sdp_media_attributes_len(m); i-- > 0;) {
        const GstSDPAttribute *a = gst_sdp_media_get_attribute(m, i);
        int pt;

        if (strcmp(a->key, "rtpmap") && strcmp(a->key, "fmtp") &&
            strcmp(a->key, "rtcp-fb"))
            continue;
        pt = a->value ? attr_pt(a->value) : -1;
        if (pt >= 0 && pt != keep && pt != rtx)
            gst_sdp_media_remove_attribute(m, i);
    }
}

/* Narrow media line M; returns the CS_RTC_* kept, or 0 with WHY set. */
static unsigned narrow(GstSDPMedia *m, char *why, size_t n)
{
    int video = !g_strcmp0(gst_sdp_media_get_media(m), "video");
    int best = -1, score = 0;

    if (!video && g_strcmp0(gst_sdp_media_get_media(m), "audio")) {
        snprintf(why, n, "unsupported media '%s' (only audio and video)",
                 gst_sdp_media_get_media(m));
        return 0;
    }
    for (guint i = 0; i < gst_sdp_media_formats_len(m); i++) {
        int pt = atoi(gst_sdp_media_get_format(m, i));
        int s = pt_score(m, pt, video);

        if (s > score) {
            score = s;
            best = pt;
        }
    }
    if (best < 0) {
        snprintf(why, n, video ? "the offer's video has no H.264 with "
                 "packetization-mode 1" : "the offer's audio has no Opus");
        return 0;
    }
    keep_only(m, best, rtx_for(m, best));
    return video ? CS_RTC_VIDEO : CS_RTC_AUDIO;
}

/* Session- or media-level attribute KEY somewhere in MSG. */
static int has_attr(const GstSDPMessage *msg, const char *key)
{
    if (gst_sdp_message_get_attribute_val(msg, key))
        return 1;
    for (guint i = 0; i < gst_sdp_message_medias_len(msg); i++)
        if (gst_sdp_media_get_attribute_val(
                gst_sdp_message_get_media(msg, i), key))
            return 1;
    return 0;
}

static int check_offer(GstSDPMessage *msg, unsigned *media, char *why,
                       size_t n)
{
    *media = 0;
    if (!gst_sdp_message_medias_len(msg)) {
        snprintf(why, n, "the offer has no media line");
        return CS_EDATA;
    }
    if (!has_attr(msg, "ice-ufrag") || !has_attr(msg, "ice-pwd")) {
        snprintf(why, n, "the offer has no ICE credentials");
        return CS_EDATA;
    }
    if (!has_attr(msg, "fingerprint")) {
        snprintf(why, n, "the offer has no DTLS fingerprint");
        return CS_EDATA;
    }
    for (guint i = 0; i < gst_sdp_message_medias_len(msg); i++) {
        GstSDPMedia *m = (GstSDPMedia *)gst_sdp_message_get_media(msg, i);
        unsigned kept = narrow(m, why, n);

        if (!kept)
            return CS_EDATA;
        *media |= kept;
    }
    return 0;
}

int cs_rtc_offer_parse(const char *sdp, size_t len, GstSDPMessage **out,
                       unsigned *media, char *why, size_t n)
{
    GstSDPMessage *msg = NULL;
    int ret;

    *out = NULL;
    if (len < 4 || strncmp(sdp, "v=0", 3)) {
        snprintf(why, n, "the offer is not SDP (no 'v=0' line first)");
        return CS_EDATA;
    }
    if (gst_sdp_message_new(&msg) != GST_SDP_OK)
        return AVERROR(ENOMEM);
    if (gst_sdp_message_parse_buffer((const guint8 *)sdp, (guint)len, msg)
        != GST_SDP_OK) {
        snprintf(why, n, "the offer is not valid SDP");
        gst_sdp_message_free(msg);
        return CS_EDATA;
    }
    ret = check_offer(msg, media, why, n);
    if (ret < 0) {
        gst_sdp_message_free(msg);
        return ret;
    }
    *out = msg;
    return 0;
}

/* libnice asks the LAN's router over UPnP to forward every host
 * candidate's port, by default: an HTTP server and SSDP searches per
 * agent, that is per viewer ("gupnp-context-WARNING: Unable to listen" when
 * two pick one port). A server opens no ports on anybody's router. */
static void no_upnp(GstWebRTCICE *ice)
{
    GObject *agent = NULL;

    if (!g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent"))
        return;
    g_object_get(ice, "agent", &agent, NULL);
    if (agent && g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "upnp"))
        g_object_set(agent, "upnp", FALSE, NULL);
    if (agent)
        g_object_unref(agent);
}

void cs_rtc_ice_bind(GstElement *webrtc, const char *addr)
{
    GstWebRTCICE *ice = NULL;
    gboolean ok = FALSE;

    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (!ice)
        return;
    no_upnp(ice);
    g_object_set(ice, "ice-tcp", FALSE, NULL);
    if (addr && addr[0])
        g_signal_emit_by_name(ice, "add-local-ip-address", addr, &ok);
    gst_object_unref(ice);
}

void cs_rtc_ice_ports(GstElement *webrtc, unsigned min, unsigned max)
{
    GstWebRTCICE *ice = NULL;

    if (!min)
        return;
    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (!ice)
        return;
    /* max first: min may not go above the current max */
    g_object_set(ice, "max-rtp-port", max, "min-rtp-port", min, NULL);
    gst_object_unref(ice);
}

/* The session bandwidth, in bits a second, that the RTP sessions of a
 * receiving peer assume. RTCP may take 5% of it (RFC 3550), and early
 * feedback (RFC 4585: a NACK, a PLI) waits for RTCP's turn. A session
 * that only receives cannot measure its bandwidth (GStreamer 1.22 counts
 * its own senders' bitrate only) and took 64 kb/s: a turn every half
 * second. A NACK then went once or twice before the jitter buffer gave
 * the packet up, and the PLI after it waited again: at 5% loss, 3 to 16
 * packets lost for good in 10 s with a 500 ms jitter buffer (none now
 * with 200 ms), and a picture lost that way could freeze the video
 * for over a second (nothing decodes until the keyframe the PLI asks
 * for). With this figure a NACK or a PLI goes within 6 ms of being
 * asked for, a NACK is sent again until its packet comes, and the regular
 * reports stay one in about 5 s (rtpsession's minimum interval). */
#define FEEDBACK_BW 10e6

static void on_deep_added(GstBin *bin, GstBin *sub, GstElement *e,
                          gpointer data)
{
    GstElementFactory *f = gst_element_get_factory(e);

    (void)bin;
    (void)sub;
    (void)data;
    if (f && !strcmp(GST_OBJECT_NAME(f), "rtpsession"))
        g_object_set(e, "bandwidth", FEEDBACK_BW, NULL);
}

void cs_rtc_feedback_fast(GstElement *webrtc)
{
    g_signal_connect(webrtc, "deep-element-added", G_CALLBACK(on_deep_added),
                     NULL);
}

/* What a promise's change function wakes up. */
struct waiter {
    GMutex lock;
    GCond cond;
    int done;
};

static GQuark waiter_quark(void)
{
    return g_quark_from_static_string("cs-rtc-waiter");
}

static void on_promise(GstPromise *p, gpointer data)
{
    struct waiter *w = data;

    g_mutex_lock(&w->lock);
    w->done = 1;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

static void free_waiter(gpointer data)
{
    struct waiter *w = data;

    g_mutex_clear(&w->lock);
    g_cond_clear(&w->cond);
    g_free(w);
}

GstPromise *cs_rtc_promise_new(void)
{
    struct waiter *w = g_new0(struct waiter, 1);
    GstPromise *p;

    g_mutex_init(&w->lock);
    g_cond_init(&w->cond);
    p = gst_promise_new_with_change_func(on_promise, w, free_waiter);
    gst_mini_object_set_qdata(GST_MINI_OBJECT(p), waiter_quark(), w, NULL);
    return p;
}

const GstStructure *cs_rtc_promise_wait(GstPromise *p, double timeout)
{
    struct waiter *w = gst_mini_object_get_qdata(GST_MINI_OBJECT(p),
                                                 waiter_quark());
    gint64 until = g_get_monotonic_time() + (gint64)(timeout * 1e6);
    int done;

    if (!w)
        return NULL;
    g_mutex_lock(&w->lock);
    while (!w->done && g_cond_wait_until(&w->cond, &w->lock, until))
        ;
    done = w->done;
    g_mutex_unlock(&w->lock);
    if (!done) {
        gst_promise_interrupt(p);
        return NULL;
    }
    if (gst_promise_wait(p) != GST_PROMISE_RESULT_REPLIED)
        return NULL;
    return gst_promise_get_reply(p);
}

/* Emit SIGNAL with DESC on WEBRTC and wait for it until UNTIL (monotonic
 * microseconds). 0 or CS_ENET. */
static int set_desc(GstElement *webrtc, const char *signal,
                    GstWebRTCSessionDescription *desc, gint64 until)
{
    GstPromise *p = cs_rtc_promise_new();
    double left = (double)(until - g_get_monotonic_time()) / 1e6;
    const GstStructure *r;
    int ret = 0;

    g_signal_emit_by_name(webrtc, signal, desc, p);
    r = cs_rtc_promise_wait(p, left > 0 ? left : 0.001);
    if (!r || gst_structure_has_field(r, "error"))
        ret = CS_ENET;
    /* A reply-less promise of set-*-description is a success: only an
     * expired wait is told apart, by the waiter. */
    if (!r && gst_promise_wait(p) == GST_PROMISE_RESULT_REPLIED)
        ret = 0;
    gst_promise_unref(p);
    return ret;
}

/* Wait until WEBRTC has gathered all its candidates, or UNTIL. */
static int wait_gathered(GstElement *webrtc, gint64 until)
{
    for (;;) {
        GstWebRTCICEGatheringState st;

        g_object_get(webrtc, "ice-gathering-state", &st, NULL);
        if (st == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
            return 0;
        if (g_get_monotonic_time() >= until)
            return CS_ENET;
        g_usleep(5000);
    }
}

static int create_answer(GstElement *webrtc, gint64 until,
                         GstWebRTCSessionDescription **answer)
{
    GstPromise *p = cs_rtc_promise_new();
    double left = (double)(until - g_get_monotonic_time()) / 1e6;
    const GstStructure *r;

    *answer = NULL;
    g_signal_emit_by_name(webrtc, "create-answer", NULL, p);
    r = cs_rtc_promise_wait(p, left > 0 ? left : 0.001);
    if (r)
        gst_structure_get(r, "answer",
                          GST_TYPE_WEBRTC_SESSION_DESCRIPTION, answer, NULL);
    gst_promise_unref(p);
    return *answer ? 0 : CS_ENET;
}

static int fail(char *why, size_t n, const char *what)
{
    snprintf(why, n, "%s", what);
    return CS_ENET;
}

int cs_rtc_answer(GstElement *webrtc, GstSDPMessage *offer, double timeout,
                  char **answer, char *why, size_t n)
{
    gint64 until = g_get_monotonic_time() + (gint64)(timeout * 1e6);
    GstWebRTCSessionDescription *o, *a = NULL, *local = NULL;
    gchar *text;
    int ret;

    *answer = NULL;
    o = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, offer);
    ret = set_desc(webrtc, "set-remote-description", o, until);
    gst_webrtc_session_description_free(o);
    if (ret < 0)
        return fail(why, n, "webrtcbin refused the offer");
    if (create_answer(webrtc, until, &a) < 0)
        return fail(why, n, "webrtcbin made no answer");
    ret = set_desc(webrtc, "set-local-description", a, until);
    gst_webrtc_session_description_free(a);
    if (ret < 0)
        return fail(why, n, "webrtcbin refused its own answer");
    if (wait_gathered(webrtc, until) < 0)
        return fail(why, n, "ICE gathering did not complete in time");
    g_object_get(webrtc, "local-description", &local, NULL);
    if (!local)
        return fail(why, n, "webrtcbin has no local description");
    text = gst_sdp_message_as_text(local->sdp);
    gst_webrtc_session_description_free(local);
    *answer = text ? strdup(text) : NULL;
    g_free(text);
    return *answer ? 0 : AVERROR(ENOMEM);
}

/* Field NAME of S as a number, whatever its integer or float type; 0 when
 * absent. */
static double num(const GstStructure *s, const char *name)
{
    const GValue *v = gst_structure_get_value(s, name);

    if (!v)
        return 0;
    if (G_VALUE_HOLDS_UINT64(v))
        return (double)g_value_get_uint64(v);
    if (G_VALUE_HOLDS_INT64(v))
        return (double)g_value_get_int64(v);
    if (G_VALUE_HOLDS_UINT(v))
        return g_value_get_uint(v);
    if (G_VALUE_HOLDS_INT(v))
        return g_value_get_int(v);
    if (G_VALUE_HOLDS_DOUBLE(v))
        return g_value_get_double(v);
    return 0;
}

/* The sums cs_rtc_stats() reports. */
struct sums {
    double rx_pkts, rx_bytes, lost, nack_tx, pli_tx, fir_tx, rtx_rx;
    double tx_pkts, tx_bytes, nack_rx, pli_rx, rtx_tx;
    double rtt, jb_rtt, jitter;
    int in, out;
};

/* The jitter buffer's own counters in an inbound-rtp entry: the packets
 * that came back by RTX, and the round trip those requests took (the RTT
 * a receiver can know without RTCP XR). GStreamer 1.22 may give every
 * entry the same jitter buffer's counters, so the largest is kept. */
static void add_jitterbuffer(struct sums *m, const GstStructure *s)
{
    const GValue *v = gst_structure_get_value(s, "gst-rtpjitterbuffer-stats");
    const GstStructure *jb;

    if (!v || !GST_VALUE_HOLDS_STRUCTURE(v))
        return;
    jb = gst_value_get_structure(v);
    m->rtx_rx = MAX(m->rtx_rx, num(jb, "rtx-success-count"));
    m->jb_rtt = MAX(m->jb_rtt, num(jb, "rtx-rtt") / 1e9);
}

static gboolean add_one(GQuark field, const GValue *v, gpointer data)
{
    struct sums *m = data;
    GstWebRTCStatsType t = 0;
    const GstStructure *s;

    if (!GST_VALUE_HOLDS_STRUCTURE(v))
        return TRUE;
    s = gst_value_get_structure(v);
    if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &t, NULL))
        return TRUE;
    if (t == GST_WEBRTC_STATS_INBOUND_RTP) {
        m->in = 1;
        m->rx_pkts += num(s, "packets-received");
        m->rx_bytes += num(s, "bytes-received");
        m->lost += num(s, "packets-lost");
        m->nack_tx += num(s, "nack-count");
        m->pli_tx += num(s, "pli-count");
        m->fir_tx += num(s, "fir-count");
        m->jitter = MAX(m->jitter, num(s, "jitter"));
        add_jitterbuffer(m, s);
    } else if (t == GST_WEBRTC_STATS_OUTBOUND_RTP) {
        m->out = 1;
        m->tx_pkts += num(s, "packets-sent");
        m->tx_bytes += num(s, "bytes-sent");
        m->nack_rx += num(s, "nack-count");
        m->pli_rx += num(s, "pli-count");
        m->rtx_tx += num(s, "retransmitted-packets-sent");
    } else if (t == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP ||
               t == GST_WEBRTC_STATS_REMOTE_OUTBOUND_RTP) {
        m->rtt = MAX(m->rtt, num(s, "round-trip-time"));
    }
    return TRUE;
}

static void put(cJSON *o, const char *key, double v)
{
    cJSON_AddNumberToObject(o, key, v);
}

/* Retransmissions sent, or received: GStreamer 1.22's RTP stats count
 * neither, rtprtxsend and rtprtxreceive (inside webrtcbin's rtpbin) do.
 * (The jitter buffer's rtx-success-count leaves out a retransmission that
 * came after it stopped waiting: 0 of 41 on a busy machine.) */
static double rtx_count(GstElement *webrtc, const char *factory)
{
    GstIterator *it = gst_bin_iterate_recurse(GST_BIN(webrtc));
    GValue v = G_VALUE_INIT;
    double n = 0;

    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElement *e = g_value_get_object(&v);
        GstElementFactory *f = gst_element_get_factory(e);
        guint k = 0;

        if (f && !strcmp(GST_OBJECT_NAME(f), factory)) {
            g_object_get(e, "num-rtx-packets", &k, NULL);
            n += k;
        }
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
    return n;
}

void cs_rtc_stats(GstElement *webrtc, cJSON *obj, double timeout,
                  struct cs_rtc_rate *prev)
{
    GstPromise *p = cs_rtc_promise_new();
    const GstStructure *r;
    struct sums m = { 0 };

    g_signal_emit_by_name(webrtc, "get-stats", NULL, p);
    r = cs_rtc_promise_wait(p, timeout);
    if (r)
        gst_structure_foreach(r, add_one, &m);
    gst_promise_unref(p);
    if (!r || !obj)
        return;
    if (m.in) {
        m.rtx_rx = MAX(m.rtx_rx, rtx_count(webrtc, "rtprtxreceive"));
        put(obj, "packets_received", m.rx_pkts);
        put(obj, "packets_lost", m.lost);
        put(obj, "bytes_received", m.rx_bytes);
        put(obj, "nacks_sent", m.nack_tx);
        put(obj, "plis_sent", m.pli_tx);
        put(obj, "firs_sent", m.fir_tx);
    }
    /* A receiver has an outbound entry too (its RTCP), with nothing sent. */
    if (m.out && (!m.in || m.tx_pkts > 0)) {
        put(obj, "packets_sent", m.tx_pkts);
        put(obj, "bytes_sent", m.tx_bytes);
        put(obj, "nacks_received", m.nack_rx);
        put(obj, "plis_received", m.pli_rx);
        m.rtx_tx = MAX(m.rtx_tx, rtx_count(webrtc, "rtprtxsend"));
    }
    put(obj, "packets_retransmitted", m.rtx_rx + m.rtx_tx);
    if (m.rtt > 0 || m.jb_rtt > 0)
        put(obj, "rtt_ms", (m.rtt > 0 ? m.rtt : m.jb_rtt) * 1000);
    put(obj, "jitter_ms", m.jitter * 1000);
    if (prev) {
        gint64 now = g_get_monotonic_time();
        double bytes = m.in ? m.rx_bytes : m.tx_bytes;

        if (prev->us && now > prev->us && bytes >= prev->bytes)
            put(obj, "bitrate_bps",
                (bytes - prev->bytes) * 8e6 / (double)(now - prev->us));
        prev->bytes = bytes;
        prev->us = now;
    }
}
