/* rtcpeer.c: one send peer: a webrtcbin fed by a leaky queue from each
 * tee, the peer's payload types written into the shared RTP, and nothing
 * sent before the peer's first keyframe. */
#include "net/rtcsend_internal.h"

#include <stdio.h>
#include <string.h>

#define GST_USE_UNSTABLE_API
#include <gst/rtp/rtp.h>
#include <gst/webrtc/webrtc.h>

#include "err.h"

/* A peer's queue holds this much before it drops its oldest. */
#define QUEUE_NS (500 * GST_MSECOND)
/* ICE gathering bound (host candidates only: quick). */
#define GATHER_US (5 * G_USEC_PER_SEC)

static int fail(char *why, int whylen, int code, const char *what)
{
    snprintf(why, (size_t)whylen, "%s", what);
    return code;
}

static void rewrite_pt(GstBuffer *buf, int pt)
{
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;

    if (gst_rtp_buffer_map(buf, GST_MAP_READWRITE, &rtp)) {
        gst_rtp_buffer_set_payload_type(&rtp, (guint8)pt);
        gst_rtp_buffer_unmap(&rtp);
    }
}

/* Video passes from a buffer that starts a keyframe on; audio once the
 * video has started. */
static int gate(struct rtcbranch *b, GstBuffer *first)
{
    struct rtcpeer *p = b->peer;

    if (g_atomic_int_get(&p->started))
        return 1;
    if (!b->video || !g_atomic_int_get(&p->ready) || !first ||
        GST_BUFFER_FLAG_IS_SET(first, GST_BUFFER_FLAG_DELTA_UNIT))
        return 0;
    g_atomic_int_set(&p->started, 1);
    return 1;
}

static void caps_pt(GstPadProbeInfo *info, int pt)
{
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    GstCaps *caps;

    if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS)
        return;
    gst_event_parse_caps(ev, &caps);
    caps = gst_caps_copy(caps);
    gst_caps_set_simple(caps, "payload", G_TYPE_INT, pt, NULL);
    info->data = gst_event_new_caps(caps);
    gst_caps_unref(caps);
    gst_event_unref(ev);
}

static GstPadProbeReturn on_rtp(GstPad *pad, GstPadProbeInfo *info,
                                gpointer data)
{
    struct rtcbranch *b = data;

    if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
        caps_pt(info, b->pt);
    } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);

        if (!gate(b, buf))
            return GST_PAD_PROBE_DROP;
        buf = gst_buffer_make_writable(buf);
        rewrite_pt(buf, b->pt);
        info->data = buf;
    } else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList *l = GST_PAD_PROBE_INFO_BUFFER_LIST(info);

        if (!gate(b, gst_buffer_list_length(l) ?
                  gst_buffer_list_get(l, 0) : NULL))
            return GST_PAD_PROBE_DROP;
        l = gst_buffer_list_make_writable(l);
        for (guint i = 0; i < gst_buffer_list_length(l); i++)
            rewrite_pt(gst_buffer_list_get_writable(l, i), b->pt);
        info->data = l;
    }
    return GST_PAD_PROBE_OK;
}

/* What each side of the SDP says about our media. */
static GstCaps *rtp_caps(int video, int pt)
{
    if (video)
        return gst_caps_new_simple("application/x-rtp",
            "media", G_TYPE_STRING, "video",
            "encoding-name", G_TYPE_STRING, "H264",
            "clock-rate", G_TYPE_INT, 90000, "payload", G_TYPE_INT, pt,
            "packetization-mode", G_TYPE_STRING, "1",
            "profile-level-id", G_TYPE_STRING, "42e01f",
            "level-asymmetry-allowed", G_TYPE_STRING, "1",
            "rtcp-fb-nack", G_TYPE_BOOLEAN, TRUE,
            "rtcp-fb-nack-pli", G_TYPE_BOOLEAN, TRUE, NULL);
    return gst_caps_new_simple("application/x-rtp",
        "media", G_TYPE_STRING, "audio",
        "encoding-name", G_TYPE_STRING, "OPUS",
        "clock-rate", G_TYPE_INT, 48000, "payload", G_TYPE_INT, pt,
        "encoding-params", G_TYPE_STRING, "2", NULL);
}

/* queue ! webrtcbin.sink_N, the transceiver sendonly with NACK/RTX. */
static int branch_new(const struct rtcfeed *f, struct rtcpeer *p,
                      struct rtcbranch *b, int video, int pt)
{
    GstPadTemplate *t = gst_element_get_pad_template(p->webrtc, "sink_%u");
    GstCaps *caps = rtp_caps(video, pt);
    GstPad *sink, *src;
    GstWebRTCRTPTransceiver *trans = NULL;
    int ok;

    b->peer = p;
    b->video = video;
    b->pt = pt;
    b->queue = gst_element_factory_make("queue", NULL);
    g_object_set(b->queue, "leaky", 2, "max-size-buffers", 0,
                 "max-size-bytes", 0, "max-size-time", QUEUE_NS, NULL);
    gst_bin_add(GST_BIN(f->pipe), b->queue);
    sink = gst_element_request_pad(p->webrtc, t, NULL, caps);
    if (sink)
        g_object_get(sink, "transceiver", &trans, NULL);
    if (trans) {
        g_object_set(trans, "direction",
                     GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                     "do-nack", TRUE, "codec-preferences", caps, NULL);
        gst_object_unref(trans);
    }
    src = gst_element_get_static_pad(b->queue, "src");
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER |
                      GST_PAD_PROBE_TYPE_BUFFER_LIST |
                      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_rtp, b, NULL);
    ok = sink && trans && gst_pad_link(src, sink) == GST_PAD_LINK_OK;
    gst_object_unref(src);
    if (sink)
        gst_object_unref(sink);
    gst_caps_unref(caps);
    return ok ? 0 : -1;
}

static int branch_feed(struct rtcbranch *b, GstElement *tee)
{
    GstPad *qsink = gst_element_get_static_pad(b->queue, "sink");
    int ok;

    gst_element_sync_state_with_parent(b->queue);
    b->teepad = gst_element_request_pad_simple(tee, "src_%u");
    ok = b->teepad && gst_pad_link(b->teepad, qsink) == GST_PAD_LINK_OK;
    gst_object_unref(qsink);
    return ok ? 0 : -1;
}

/* ICE on one local address only (a loopback service stays on it). */
static void ice_only(GstElement *webrtc, const char *addr)
{
    GObject *ice = NULL;
    gboolean ok = FALSE;

    g_object_get(webrtc, "ice-agent", &ice, NULL);
    if (!ice)
        return;
    g_object_set(ice, "ice-tcp", FALSE, NULL);
    g_signal_emit_by_name(ice, "add-local-ip-address", addr, &ok);
    g_object_unref(ice);
}

struct rtcpeer *cs_rtcpeer_new(const struct rtcfeed *f, int vpt, int apt,
                               char *why, int whylen)
{
    struct rtcpeer *p = g_new0(struct rtcpeer, 1);
    int ret;

    p->webrtc = gst_element_factory_make("webrtcbin", NULL);
    if (!p->webrtc) {
        g_free(p);
        fail(why, whylen, 0, "gstreamer has no webrtcbin element");
        return NULL;
    }
    g_object_set(p->webrtc, "bundle-policy",
                 GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    if (f->ice_addr)
        ice_only(p->webrtc, f->ice_addr);
    gst_bin_add(GST_BIN(f->pipe), p->webrtc);
    p->has_audio = apt >= 0 && f->atee;
    ret = branch_new(f, p, &p->v, 1, vpt);
    if (ret >= 0 && p->has_audio)
        ret = branch_new(f, p, &p->a, 0, apt);
    gst_element_sync_state_with_parent(p->webrtc);
    if (ret >= 0)
        ret = branch_feed(&p->v, f->vtee);
    if (ret >= 0 && p->has_audio)
        ret = branch_feed(&p->a, f->atee);
    if (ret < 0) {
        cs_rtcpeer_free(f, p);
        fail(why, whylen, 0, "cannot link a webrtc peer");
        return NULL;
    }
    return p;
}

/* Emit SIGNAL on the peer's webrtcbin with ARG and wait for the reply.
 * Returns 0 with *REPLY (may be NULL; the promise's, unref the promise
 * after use) or -1 with WHY. */
static int call(struct rtcpeer *p, const char *signal, gpointer arg,
                GstPromise **out, char *why, int whylen)
{
    GstPromise *pr = gst_promise_new();
    const GstStructure *r;
    GError *e = NULL;

    g_signal_emit_by_name(p->webrtc, signal, arg, pr);
    if (gst_promise_wait(pr) != GST_PROMISE_RESULT_REPLIED) {
        gst_promise_unref(pr);
        snprintf(why, (size_t)whylen, "webrtc %s: no reply", signal);
        return CS_EDATA;
    }
    r = gst_promise_get_reply(pr);
    if (r && gst_structure_get(r, "error", G_TYPE_ERROR, &e, NULL)) {
        snprintf(why, (size_t)whylen, "%s", e->message);
        g_error_free(e);
        gst_promise_unref(pr);
        return CS_EDATA;
    }
    if (out)
        *out = pr;
    else
        gst_promise_unref(pr);
    return 0;
}

static int set_desc(struct rtcpeer *p, const char *signal,
                    GstWebRTCSDPType type, GstSDPMessage *sdp, char *why,
                    int whylen)
{
    GstWebRTCSessionDescription *d =
        gst_webrtc_session_description_new(type, sdp);
    int ret = call(p, signal, d, NULL, why, whylen);

    gst_webrtc_session_description_free(d);
    return ret;
}

/* Wait for the host candidates, then the local description as text. */
static int local_sdp(struct rtcpeer *p, char **text, char *why, int whylen)
{
    gint64 until = g_get_monotonic_time() + GATHER_US;
    GstWebRTCICEGatheringState st = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
    GstWebRTCSessionDescription *d = NULL;

    while (g_get_monotonic_time() < until) {
        g_object_get(p->webrtc, "ice-gathering-state", &st, NULL);
        if (st == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
            break;
        g_usleep(5000);
    }
    g_object_get(p->webrtc, "local-description", &d, NULL);
    if (!d)
        return fail(why, whylen, CS_EDATA, "no local description");
    *text = gst_sdp_message_as_text(d->sdp);
    gst_webrtc_session_description_free(d);
    return 0;
}

/* Take the description named FIELD out of the reply of PR and set it as
 * the local one. */
static int take_local(struct rtcpeer *p, GstPromise *pr, const char *field,
                      char *why, int whylen)
{
    GstWebRTCSessionDescription *d = NULL;
    const GstStructure *r = gst_promise_get_reply(pr);
    int ret;

    if (r)
        gst_structure_get(r, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &d,
                          NULL);
    gst_promise_unref(pr);
    if (!d)
        return fail(why, whylen, CS_EDATA, "webrtc made no description");
    ret = call(p, "set-local-description", d, NULL, why, whylen);
    gst_webrtc_session_description_free(d);
    return ret;
}

int cs_rtcpeer_answer(struct rtcpeer *p, GstSDPMessage *offer,
                      char **answer, char *why, int whylen)
{
    GstPromise *pr = NULL;
    int ret;

    ret = set_desc(p, "set-remote-description", GST_WEBRTC_SDP_TYPE_OFFER,
                   offer, why, whylen);
    if (ret >= 0)
        ret = call(p, "create-answer", NULL, &pr, why, whylen);
    if (ret >= 0)
        ret = take_local(p, pr, "answer", why, whylen);
    if (ret >= 0)
        ret = local_sdp(p, answer, why, whylen);
    if (ret >= 0)
        g_atomic_int_set(&p->ready, 1);
    return ret;
}

int cs_rtcpeer_offer(struct rtcpeer *p, char **offer, char *why, int whylen)
{
    GstPromise *pr = NULL;
    int ret = call(p, "create-offer", NULL, &pr, why, whylen);

    if (ret >= 0)
        ret = take_local(p, pr, "offer", why, whylen);
    if (ret >= 0)
        ret = local_sdp(p, offer, why, whylen);
    return ret;
}

int cs_rtcpeer_accept(struct rtcpeer *p, const char *answer, char *why,
                      int whylen)
{
    GstSDPMessage *sdp = NULL;
    int ret;

    if (gst_sdp_message_new_from_text(answer, &sdp) != GST_SDP_OK)
        return fail(why, whylen, CS_EDATA, "the answer is not sdp");
    ret = set_desc(p, "set-remote-description", GST_WEBRTC_SDP_TYPE_ANSWER,
                   sdp, why, whylen);
    if (ret >= 0)
        g_atomic_int_set(&p->ready, 1);
    return ret;
}

int cs_rtcpeer_state(struct rtcpeer *p)
{
    GstWebRTCPeerConnectionState st = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;

    g_object_get(p->webrtc, "connection-state", &st, NULL);
    if (st == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
        return 1;
    if (st == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED ||
        st == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
        return CS_ENET;
    return 0;
}

static void branch_free(const struct rtcfeed *f, struct rtcbranch *b,
                        GstElement *tee)
{
    if (b->teepad) {
        gst_element_release_request_pad(tee, b->teepad);
        gst_object_unref(b->teepad);
        b->teepad = NULL;
    }
    if (b->queue) {
        gst_element_set_state(b->queue, GST_STATE_NULL);
        gst_bin_remove(GST_BIN(f->pipe), b->queue);
        b->queue = NULL;
    }
}

void cs_rtcpeer_free(const struct rtcfeed *f, struct rtcpeer *p)
{
    if (!p)
        return;
    branch_free(f, &p->v, f->vtee);
    if (f->atee)
        branch_free(f, &p->a, f->atee);
    if (p->webrtc) {
        gst_element_set_state(p->webrtc, GST_STATE_NULL);
        gst_bin_remove(GST_BIN(f->pipe), p->webrtc);
    }
    g_free(p);
}

/* A numeric field of a statistics structure, whatever its integer type. */
static double number(const GstStructure *s, const char *name)
{
    const GValue *v = gst_structure_get_value(s, name);
    GValue d = G_VALUE_INIT;
    double n = 0;

    if (!v)
        return 0;
    g_value_init(&d, G_TYPE_DOUBLE);
    if (g_value_transform(v, &d))
        n = g_value_get_double(&d);
    g_value_unset(&d);
    return n;
}

static void add(cJSON *obj, const char *key, double n)
{
    cJSON *it = cJSON_GetObjectItem(obj, key);

    if (it)
        cJSON_SetNumberValue(it, it->valuedouble + n);
    else
        cJSON_AddNumberToObject(obj, key, n);
}

static gboolean stat_one(GQuark field, const GValue *v, gpointer data)
{
    GstWebRTCStatsType type = 0;
    const GstStructure *s;

    if (!GST_VALUE_HOLDS_STRUCTURE(v))
        return TRUE;
    s = gst_value_get_structure(v);
    if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type,
                           NULL))
        return TRUE;
    if (type == GST_WEBRTC_STATS_OUTBOUND_RTP) {
        add(data, "packets_sent", number(s, "packets-sent"));
        add(data, "bytes_sent", number(s, "bytes-sent"));
        add(data, "nacks_received", number(s, "nack-count"));
        add(data, "plis_received", number(s, "pli-count"));
        add(data, "retransmitted_packets",
            number(s, "retransmitted-packets-sent"));
    } else if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP) {
        add(data, "packets_lost", number(s, "packets-lost"));
        if (gst_structure_has_field(s, "round-trip-time") &&
            !cJSON_GetObjectItem(data, "rtt_ms"))
            cJSON_AddNumberToObject(data, "rtt_ms",
                                    number(s, "round-trip-time") * 1000);
    }
    return TRUE;
}

void cs_rtcpeer_stats(struct rtcpeer *p, cJSON *obj)
{
    GstPromise *pr = NULL;
    const GstStructure *r;
    char why[64];

    if (call(p, "get-stats", NULL, &pr, why, sizeof(why)) < 0)
        return;
    r = gst_promise_get_reply(pr);
    if (r)
        gst_structure_foreach(r, stat_one, obj);
    gst_promise_unref(pr);
}
