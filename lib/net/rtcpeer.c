/* rtcpeer.c: one send peer: a webrtcbin fed by a leaky queue from each
 * tee, the peer's payload types written into the shared RTP, and nothing
 * sent before the peer's first keyframe. */
#include "net/rtcsend_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GST_USE_UNSTABLE_API
#include <gst/rtp/rtp.h>
#include <gst/webrtc/webrtc.h>

#include "err.h"
#include "log.h"
#include "net/rtc.h"

/* A viewer's queue holds this much before it drops its oldest: a slow
 * viewer never holds up the others. */
#define QUEUE_NS (500 * GST_MSECOND)
/* The queue of the one peer a WHIP push has (the one making the offer):
 * the TS held while connecting goes in at once, and more than QUEUE_NS of
 * it waited there while webrtcbin took its first packets, the oldest
 * dropped (the first frames of the push). */
#define PUSH_QUEUE_NS (3 * GST_SECOND)
/* A peer's queue dropping packets is said on stderr at most this often. */
#define DROP_SAY_US (10 * G_USEC_PER_SEC)
/* Bound on each wait for webrtcbin (offer, answer, gathering). */
#define WAIT_S 5.0

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

/* The caps event, with every field of the peer's negotiated caps (its
 * payload type, and for our own offer the profile it names) set over the
 * stream's: what webrtcbin's pad was told to expect. */
static void caps_peer(GstPadProbeInfo *info, const GstCaps *want)
{
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    const GstStructure *w = gst_caps_get_structure(want, 0);
    GstCaps *caps;
    GstStructure *st;

    if (GST_EVENT_TYPE(ev) != GST_EVENT_CAPS)
        return;
    gst_event_parse_caps(ev, &caps);
    caps = gst_caps_copy(caps);
    st = gst_caps_get_structure(caps, 0);
    /* the stream's own profile is not the one the peer asked for: its
     * decoder takes what the SPS says */
    gst_structure_remove_fields(st, "profile-level-id", "profile", NULL);
    for (int i = 0; i < gst_structure_n_fields(w); i++) {
        const char *name = gst_structure_nth_field_name(w, (guint)i);

        gst_structure_set_value(st, name, gst_structure_get_value(w, name));
    }
    info->data = gst_event_new_caps(caps);
    gst_caps_unref(caps);
    gst_event_unref(ev);
}

/* The shared payloader must not negotiate with each peer: its caps and
 * accept-caps queries are answered here (every peer takes the stream as
 * it is, relabelled by caps_peer). */
static int answer_query(GstPadProbeInfo *info)
{
    GstQuery *q = GST_PAD_PROBE_INFO_QUERY(info);
    GstCaps *filter = NULL;

    if (GST_QUERY_TYPE(q) == GST_QUERY_ACCEPT_CAPS) {
        gst_query_set_accept_caps_result(q, TRUE);
        return 1;
    }
    if (GST_QUERY_TYPE(q) != GST_QUERY_CAPS)
        return 0;
    gst_query_parse_caps(q, &filter);
    if (filter)
        gst_query_set_caps_result(q, filter);
    else {
        GstCaps *any = gst_caps_new_any();

        gst_query_set_caps_result(q, any);
        gst_caps_unref(any);
    }
    return 1;
}

static GstPadProbeReturn on_rtp(GstPad *pad, GstPadProbeInfo *info,
                                gpointer data)
{
    struct rtcbranch *b = data;

    if (info->type & GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM) {
        return answer_query(info) ? GST_PAD_PROBE_HANDLED
                                  : GST_PAD_PROBE_OK;
    } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
        caps_peer(info, b->caps);
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

/* GAP more packets the queue let go (its peer was QUEUE_NS behind):
 * counted for --stats, and said, at most every DROP_SAY_US. */
static void dropped(struct rtcbranch *b, guint16 gap)
{
    gint64 now = g_get_monotonic_time();
    gint64 all = __atomic_add_fetch(&b->dropped, gap, __ATOMIC_RELAXED);

    if (b->said_us && now - b->said_us < DROP_SAY_US)
        return;
    b->said_us = now;
    if (b->peer->offer)
        cs_warn("the WHIP push fell over %d s behind: %lld %s packets "
                "dropped so far", (int)(PUSH_QUEUE_NS / GST_SECOND),
                (long long)all, b->video ? "video" : "audio");
    else
        cs_warn("viewer %d fell over %d ms behind: %lld %s packets dropped "
                "so far", b->peer->id, (int)(QUEUE_NS / GST_MSECOND),
                (long long)all, b->video ? "video" : "audio");
}

/* What leaves a branch's queue: packets enter it with no gap in their
 * sequence numbers and it drops whole items (a buffer or a list), so a
 * gap in what leaves is what it let go. */
static GstPadProbeReturn on_out(GstPad *pad, GstPadProbeInfo *info,
                                gpointer data)
{
    struct rtcbranch *b = data;
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    GstBuffer *first;
    guint n = 1;
    guint16 seq;

    if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList *l = GST_PAD_PROBE_INFO_BUFFER_LIST(info);

        n = gst_buffer_list_length(l);
        first = n ? gst_buffer_list_get(l, 0) : NULL;
    } else {
        first = GST_PAD_PROBE_INFO_BUFFER(info);
    }
    if (!first || !gst_rtp_buffer_map(first, GST_MAP_READ, &rtp))
        return GST_PAD_PROBE_OK;
    seq = gst_rtp_buffer_get_seq(&rtp);
    gst_rtp_buffer_unmap(&rtp);
    if (b->seq_known && seq != b->next_seq)
        dropped(b, (guint16)(seq - b->next_seq));
    b->seq_known = 1;
    b->next_seq = (guint16)(seq + n);
    return GST_PAD_PROBE_OK;
}

/* The codec preferences of a peer's transceiver: for an answer, only
 * what picks the offer's payload (the offer says the rest); for our own
 * offer, what OBS and browsers offer. */
static GstCaps *rtp_caps(int video, int pt, int offer, guint ssrc)
{
    GstCaps *c = gst_caps_new_simple("application/x-rtp",
        "media", G_TYPE_STRING, video ? "video" : "audio",
        "encoding-name", G_TYPE_STRING, video ? "H264" : "OPUS",
        "clock-rate", G_TYPE_INT, video ? 90000 : 48000,
        "payload", G_TYPE_INT, pt, NULL);

    if (ssrc)
        gst_caps_set_simple(c, "ssrc", G_TYPE_UINT, ssrc, NULL);

    if (offer && video)
        gst_caps_set_simple(c, "packetization-mode", G_TYPE_STRING, "1",
            "profile-level-id", G_TYPE_STRING, "42e01f",
            "level-asymmetry-allowed", G_TYPE_STRING, "1",
            "rtcp-fb-nack", G_TYPE_BOOLEAN, TRUE,
            "rtcp-fb-nack-pli", G_TYPE_BOOLEAN, TRUE, NULL);
    else if (offer)
        gst_caps_set_simple(c, "encoding-params", G_TYPE_STRING, "2", NULL);
    return c;
}

/* queue ! webrtcbin.sink_N, the transceiver sendonly with NACK/RTX. */
static int branch_new(const struct rtcfeed *f, struct rtcpeer *p,
                      struct rtcbranch *b, int video, int pt)
{
    GstPadTemplate *t = gst_element_get_pad_template(p->webrtc, "sink_%u");
    GstCaps *caps = rtp_caps(video, pt, p->offer,
                             video ? f->vssrc : f->assrc);
    GstPad *sink, *src;
    GstWebRTCRTPTransceiver *trans = NULL;
    int ok;

    b->peer = p;
    b->video = video;
    b->pt = pt;
    b->queue = gst_element_factory_make("queue", NULL);
    g_object_set(b->queue, "leaky", 2, "max-size-buffers", 0,
                 "max-size-bytes", 0, "max-size-time",
                 p->offer ? PUSH_QUEUE_NS : QUEUE_NS, NULL);
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
                      GST_PAD_PROBE_TYPE_BUFFER_LIST, on_out, b, NULL);
    ok = sink && trans && gst_pad_link(src, sink) == GST_PAD_LINK_OK;
    gst_object_unref(src);
    if (sink)
        gst_object_unref(sink);
    b->caps = caps;
    return ok ? 0 : -1;
}

static int branch_feed(struct rtcbranch *b, GstElement *tee)
{
    GstPad *qsink = gst_element_get_static_pad(b->queue, "sink");
    int ok;

    gst_element_sync_state_with_parent(b->queue);
    b->teepad = gst_element_request_pad_simple(tee, "src_%u");
    if (b->teepad)
        gst_pad_add_probe(b->teepad, GST_PAD_PROBE_TYPE_BUFFER |
                          GST_PAD_PROBE_TYPE_BUFFER_LIST |
                          GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM |
                          GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, on_rtp, b,
                          NULL);
    ok = b->teepad && gst_pad_link(b->teepad, qsink) == GST_PAD_LINK_OK;
    gst_object_unref(qsink);
    return ok ? 0 : -1;
}

/* A peer we answer (a viewer) takes media once it is connected: its first
 * keyframe is the next one. Before, one could come between the answer and
 * the end of the DTLS handshake: webrtcbin held its first packet until the
 * handshake was done, the rest waited in the queue, and when that was
 * longer than QUEUE_NS (20 viewers at once on a loaded machine) the queue
 * let them go: the viewer began on pictures it could not decode. */
static void on_connection(GObject *webrtc, GParamSpec *spec, gpointer data)
{
    struct rtcpeer *p = data;
    GstWebRTCPeerConnectionState st = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;

    g_object_get(webrtc, "connection-state", &st, NULL);
    if (st == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
        g_atomic_int_set(&p->ready, 1);
}

struct rtcpeer *cs_rtcpeer_new(const struct rtcfeed *f, int vpt, int apt,
                               int offer, char *why, int whylen)
{
    struct rtcpeer *p = g_new0(struct rtcpeer, 1);
    int ret;

    p->offer = offer;
    p->webrtc = gst_element_factory_make("webrtcbin", NULL);
    if (!p->webrtc) {
        g_free(p);
        fail(why, whylen, 0, "gstreamer has no webrtcbin element");
        return NULL;
    }
    g_object_set(p->webrtc, "bundle-policy",
                 GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    cs_rtc_ice_bind(p->webrtc, f->ice_addr);
    cs_rtc_ice_ports(p->webrtc, f->ice_min, f->ice_max);
    gst_bin_add(GST_BIN(f->pipe), p->webrtc);
    if (!offer)
        p->on_state = g_signal_connect(p->webrtc,
            "notify::connection-state", G_CALLBACK(on_connection), p);
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

/* The RTP sessions exist once a description is set: have their sender
 * reports map RTP time to the buffers' own running time (their capture
 * time), not to a send time that GStreamer 1.22 cannot know here (no sink
 * latency yet) and would report wrong, breaking a receiver's lip-sync. */
static void sync_by_capture(struct rtcpeer *p)
{
    GstIterator *it = gst_bin_iterate_recurse(GST_BIN(p->webrtc));
    GValue v = G_VALUE_INIT;

    while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
        GstElement *e = g_value_get_object(&v);
        GstElementFactory *f = gst_element_get_factory(e);

        if (f && !strcmp(GST_OBJECT_NAME(f), "rtpsession"))
            g_object_set(e, "rtcp-sync-send-time", FALSE, NULL);
        g_value_reset(&v);
    }
    g_value_unset(&v);
    gst_iterator_free(it);
}

/* Emit SIGNAL with ARG on the peer's webrtcbin and wait for the reply
 * (bounded). Returns 0 with *OUT (may be NULL: unref it after use) or
 * CS_ENET with WHY. */
static int call(struct rtcpeer *p, const char *signal, gpointer arg,
                GstPromise **out, char *why, int whylen)
{
    GstPromise *pr = cs_rtc_promise_new();
    const GstStructure *r;

    g_signal_emit_by_name(p->webrtc, signal, arg, pr);
    r = cs_rtc_promise_wait(pr, WAIT_S);
    if (!r && gst_promise_wait(pr) != GST_PROMISE_RESULT_REPLIED) {
        gst_promise_unref(pr);
        snprintf(why, (size_t)whylen, "webrtcbin: no reply to %s", signal);
        return CS_ENET;
    }
    if (r && gst_structure_has_field(r, "error")) {
        gst_promise_unref(pr);
        snprintf(why, (size_t)whylen, "webrtcbin refused %s", signal);
        return CS_ENET;
    }
    if (out)
        *out = pr;
    else
        gst_promise_unref(pr);
    return 0;
}

/* Wait for every candidate, then the local description as text
 * (malloc()ed). */
static int local_sdp(struct rtcpeer *p, char **text, char *why, int whylen)
{
    gint64 until = g_get_monotonic_time() + (gint64)(WAIT_S * 1e6);
    GstWebRTCICEGatheringState st = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
    GstWebRTCSessionDescription *d = NULL;
    gchar *t;

    while (g_get_monotonic_time() < until) {
        g_object_get(p->webrtc, "ice-gathering-state", &st, NULL);
        if (st == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
            break;
        g_usleep(5000);
    }
    g_object_get(p->webrtc, "local-description", &d, NULL);
    if (!d)
        return fail(why, whylen, CS_ENET, "webrtcbin has no description");
    t = gst_sdp_message_as_text(d->sdp);
    gst_webrtc_session_description_free(d);
    *text = t ? strdup(t) : NULL;
    g_free(t);
    return *text ? 0 : AVERROR(ENOMEM);
}

int cs_rtcpeer_answer(struct rtcpeer *p, GstSDPMessage *offer,
                      char **answer, char *why, int whylen)
{
    int ret = cs_rtc_answer(p->webrtc, offer, WAIT_S, answer, why,
                            (size_t)whylen);

    if (ret >= 0)
        sync_by_capture(p);
    return ret;
}

int cs_rtcpeer_offer(struct rtcpeer *p, char **offer, char *why, int whylen)
{
    GstWebRTCSessionDescription *d = NULL;
    const GstStructure *r;
    GstPromise *pr = NULL;
    int ret = call(p, "create-offer", NULL, &pr, why, whylen);

    if (ret < 0)
        return ret;
    r = gst_promise_get_reply(pr);
    if (r)
        gst_structure_get(r, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                          &d, NULL);
    gst_promise_unref(pr);
    if (!d)
        return fail(why, whylen, CS_ENET, "webrtcbin made no offer");
    ret = call(p, "set-local-description", d, NULL, why, whylen);
    gst_webrtc_session_description_free(d);
    if (ret >= 0)
        ret = local_sdp(p, offer, why, whylen);
    return ret;
}

int cs_rtcpeer_accept(struct rtcpeer *p, const char *answer, char *why,
                      int whylen)
{
    GstWebRTCSessionDescription *d;
    GstSDPMessage *sdp = NULL;
    int ret;

    if (gst_sdp_message_new_from_text(answer, &sdp) != GST_SDP_OK)
        return fail(why, whylen, CS_ENET, "the answer is not sdp");
    d = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    ret = call(p, "set-remote-description", d, NULL, why, whylen);
    gst_webrtc_session_description_free(d);
    if (ret >= 0)
        sync_by_capture(p);
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

/* Stop feeding the branch: its tee pad goes. */
static void branch_unhook(struct rtcbranch *b, GstElement *tee)
{
    if (b->teepad) {
        gst_element_release_request_pad(tee, b->teepad);
        gst_object_unref(b->teepad);
        b->teepad = NULL;
    }
}

static void branch_free(const struct rtcfeed *f, struct rtcbranch *b)
{
    if (b->caps)
        gst_caps_unref(b->caps);
    b->caps = NULL;
    if (b->queue) {
        gst_element_set_state(b->queue, GST_STATE_NULL);
        gst_bin_remove(GST_BIN(f->pipe), b->queue);
        b->queue = NULL;
    }
}

/* The tee pads first, then webrtcbin (which may hold a queue's push in a
 * blocked pad until it flushes), then the queues. */
void cs_rtcpeer_free(const struct rtcfeed *f, struct rtcpeer *p)
{
    if (!p)
        return;
    branch_unhook(&p->v, f->vtee);
    if (f->atee)
        branch_unhook(&p->a, f->atee);
    if (p->webrtc) {
        /* (a handler running now ends before the state change does: it
         * stops the thread webrtcbin emits from) */
        if (p->on_state)
            g_signal_handler_disconnect(p->webrtc, p->on_state);
        gst_element_set_state(p->webrtc, GST_STATE_NULL);
        gst_bin_remove(GST_BIN(f->pipe), p->webrtc);
    }
    branch_free(f, &p->v);
    branch_free(f, &p->a);
    g_free(p);
}

void cs_rtcpeer_stats(struct rtcpeer *p, cJSON *obj)
{
    gint64 drops = __atomic_load_n(&p->v.dropped, __ATOMIC_RELAXED) +
                   __atomic_load_n(&p->a.dropped, __ATOMIC_RELAXED);

    cs_rtc_stats(p->webrtc, obj, 1.0, &p->rate);
    cJSON_AddNumberToObject(obj, "packets_dropped", (double)drops);
}
