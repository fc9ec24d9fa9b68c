/* rtcsend.c: the TS to RTP bridge: appsrc ! tsdemux, H.264 and Opus
 * payloaded once into two tees, and the list of peers hanging from them
 * (rtcpeer.c). */
#include "net/rtcsend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsrc.h>
#include <gst/sdp/sdp.h>

#include "err.h"
#include "net/rtcsend_internal.h"

/* Payload types of our own offers (WHIP), as OBS and browsers use. */
#define PT_H264 96
#define PT_OPUS 111

struct cs_rtcsend {
    struct rtcfeed feed;
    GstElement *src, *demux, *vhead, *ahead;
    GMutex lock;            /* peers, next_id */
    struct rtcpeer *peers;
    int next_id;
    gint live;              /* atomic: video RTP was made */
    GMutex tlock;           /* offset, back, last, eos, ended */
    gint64 offset;          /* the clock at the first buffer, less its time */
    int timed;              /* offset is known */
    gint64 back;            /* <= 0: with offset, added after the payloaders */
    gint64 last;            /* the latest running time a packet leaves at */
    int eos;                /* the input ended */
    int ended;              /* streams whose EOS reached their tee */
    GstPad *vpaid, *apaid;  /* the payloaders' source pads (or NULL) */
    char ice_addr[64];
};

static int fail(char *why, int whylen, int code, const char *fmt,
                const char *arg)
{
    snprintf(why, (size_t)whylen, fmt, arg);
    return code;
}

static GstPadProbeReturn on_first(GstPad *pad, GstPadProbeInfo *info,
                                  gpointer data)
{
    struct cs_rtcsend *s = data;

    g_atomic_int_set(&s->live, 1);
    return GST_PAD_PROBE_REMOVE;
}

/* How late the first packet is made to be: what comes early after it (the
 * TS held while a WHIP session connects, which goes at once) up to this
 * much moves nothing (see on_paid). */
#define SLACK_NS (1 * GST_SECOND)

/* The demuxer's running time starts at the first timestamp; the clock's
 * at the start of the pipeline, before the stream was checked and a peer
 * connected. The difference seen on the first buffer of any stream, less
 * SLACK_NS, is added to every stream after its payloader (on_paid), so
 * that each packet's running time is a little before it came: webrtcbin
 * syncs on it and sends a late packet at once, and sender reports map RTP
 * time to it. (A pad offset set here, on the demuxer's pads, reached the
 * Opus stream only at its end: its parser kept the segment it had.) */
static GstPadProbeReturn on_demuxed(GstPad *pad, GstPadProbeInfo *info,
                                    gpointer data)
{
    struct cs_rtcsend *s = data;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    GstEvent *ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
    const GstSegment *seg = NULL;
    GstClockTime now = GST_CLOCK_TIME_NONE, rt = GST_CLOCK_TIME_NONE;
    GstClock *clock = gst_element_get_clock(s->feed.pipe);
    int timed;

    if (ev)
        gst_event_parse_segment(ev, &seg);
    if (seg && GST_BUFFER_PTS_IS_VALID(buf))
        rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME,
                                         GST_BUFFER_PTS(buf));
    if (clock)
        now = gst_clock_get_time(clock) -
              gst_element_get_base_time(s->feed.pipe);
    g_mutex_lock(&s->tlock);
    if (!s->timed && GST_CLOCK_TIME_IS_VALID(rt) &&
        GST_CLOCK_TIME_IS_VALID(now)) {
        s->offset = (gint64)now - (gint64)rt - (gint64)SLACK_NS;
        s->timed = 1;
        /* before the first packet is made: set in on_paid, an offset
         * would reach only the packets after the one passing */
        if (s->vpaid)
            gst_pad_set_offset(s->vpaid, s->offset);
        if (s->apaid)
            gst_pad_set_offset(s->apaid, s->offset);
    }
    timed = s->timed;
    g_mutex_unlock(&s->tlock);
    if (ev)
        gst_event_unref(ev);
    if (clock)
        gst_object_unref(clock);
    return timed ? GST_PAD_PROBE_REMOVE : GST_PAD_PROBE_OK;
}

/* A video frame may run ahead of the clock by this much before the
 * payloaders' offset is moved back: it waits for its time instead. */
#define AHEAD_NS (100 * GST_MSECOND)

/* After the payloaders (the RTP timestamps are made): move the running
 * time back, for every stream alike, whenever a video frame would leave
 * well before its time. The input comes early at the start of a WHIP
 * session (the TS held while connecting goes at once, and the pacer
 * catches up); webrtcbin (1.22) syncs each stream on a clock before
 * sending, so those packets were held up to a second while the peer's
 * leaky queue (QUEUE_NS) dropped most of the video.
 * Sender reports map RTP time to this running time, and a receiver times
 * the streams by them: each move is a jump in that map. So only video
 * moves it (a TS carries audio in PES packets of several frames, the last
 * of which come early by the PES's length, and wait), by more than pacing
 * jitter, and not after the input ended (the demuxer passes its last
 * frames on at once; they wait for their time too, see
 * cs_rtcsend_pending()). */
static GstPadProbeReturn on_paid(GstPad *pad, GstPadProbeInfo *info,
                                 gpointer data)
{
    struct cs_rtcsend *s = data;
    GstBuffer *buf;
    GstEvent *ev;
    const GstSegment *seg = NULL;
    GstClock *clock;
    gint64 now, rt;

    /* The end of a stream stops here: webrtcbin's rtpfunnel (1.22) would
     * end the bundle at the first stream's EOS, and the other stream's
     * last packets, still queued for the peer, would be refused. */
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
        if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS)
            return GST_PAD_PROBE_OK;
        g_mutex_lock(&s->tlock);
        s->ended++;
        g_mutex_unlock(&s->tlock);
        return GST_PAD_PROBE_DROP;
    }
    buf = (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
        ? gst_buffer_list_get(GST_PAD_PROBE_INFO_BUFFER_LIST(info), 0)
        : GST_PAD_PROBE_INFO_BUFFER(info);
    ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
    clock = gst_element_get_clock(s->feed.pipe);
    if (ev)
        gst_event_parse_segment(ev, &seg);
    g_mutex_lock(&s->tlock);
    if (buf && seg && clock && GST_BUFFER_PTS_IS_VALID(buf)) {
        rt = (gint64)gst_segment_to_running_time(seg, GST_FORMAT_TIME,
                                                 GST_BUFFER_PTS(buf)) +
             s->offset;
        now = (gint64)(gst_clock_get_time(clock) -
                       gst_element_get_base_time(s->feed.pipe));
        if (pad == s->vpaid && !s->eos &&
            rt + s->back > now + (gint64)AHEAD_NS)
            s->back = now - rt;
        s->last = MAX(s->last, rt + s->back);
    }
    if (gst_pad_get_offset(pad) != s->offset + s->back)
        gst_pad_set_offset(pad, s->offset + s->back);
    g_mutex_unlock(&s->tlock);
    if (ev)
        gst_event_unref(ev);
    if (clock)
        gst_object_unref(clock);
    return GST_PAD_PROBE_OK;
}

/* on_paid on the pad that feeds TEE. */
static void watch_paid(struct cs_rtcsend *s, GstElement *tee)
{
    GstPad *sink = gst_element_get_static_pad(tee, "sink");
    GstPad *src = gst_pad_get_peer(sink);

    if (src) {
        if (tee == s->feed.vtee)
            s->vpaid = src;     /* the payloader keeps it */
        else
            s->apaid = src;
        gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER |
                          GST_PAD_PROBE_TYPE_BUFFER_LIST |
                          GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_paid, s,
                          NULL);
        gst_object_unref(src);
    }
    gst_object_unref(sink);
}

/* tsdemux's pads: video to the H.264 chain, audio to the Opus one. */
static void on_pad(GstElement *demux, GstPad *pad, gpointer data)
{
    struct cs_rtcsend *s = data;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    const char *name;
    GstElement *to = NULL;
    GstPad *sink;

    if (!caps)
        caps = gst_pad_query_caps(pad, NULL);
    name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    if (!strcmp(name, "video/x-h264"))
        to = s->vhead;
    else if (!strcmp(name, "audio/x-opus"))
        to = s->ahead;
    gst_caps_unref(caps);
    if (!to)
        return;
    sink = gst_element_get_static_pad(to, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_demuxed, s, NULL);
    if (!gst_pad_is_linked(sink))
        gst_pad_link(pad, sink);
    gst_object_unref(sink);
}

/* The elements of CHAIN ("factory prop=value ...", NULL-terminated),
 * added to the pipeline and linked in turn; *HEAD is the first. Returns the
 * last (the tee), or NULL. */
static GstElement *chain(struct cs_rtcsend *s, const char *const *desc,
                         GstElement **head)
{
    GstElement *prev = NULL;

    for (int i = 0; desc[i]; i++) {
        gchar **w = g_strsplit(desc[i], " ", -1);
        GstElement *e = gst_element_factory_make(w[0], NULL);

        for (int k = 1; e && w[k]; k++) {
            gchar **kv = g_strsplit(w[k], "=", 2);

            gst_util_set_object_arg(G_OBJECT(e), kv[0], kv[1]);
            g_strfreev(kv);
        }
        g_strfreev(w);
        if (!e)
            return NULL;
        gst_bin_add(GST_BIN(s->feed.pipe), e);
        if (prev && !gst_element_link(prev, e))
            return NULL;
        if (!prev)
            *head = e;
        prev = e;
    }
    return prev;
}

static const char *const video_chain[] = {
    "h264parse config-interval=-1",
    "rtph264pay config-interval=0 aggregate-mode=zero-latency mtu=1200 "
    "pt=96",
    "tee allow-not-linked=true", NULL,
};
static const char *const audio_chain[] = {
    "opusparse", "rtpopuspay pt=111 mtu=1200", "tee allow-not-linked=true",
    NULL,
};

/* Give the payloader that feeds TEE a random SSRC of its own (not 0),
 * and return it. */
static guint fix_ssrc(GstElement *tee)
{
    GstPad *sink = gst_element_get_static_pad(tee, "sink");
    GstPad *peer = gst_pad_get_peer(sink);
    GstElement *pay = peer ? gst_pad_get_parent_element(peer) : NULL;
    guint ssrc = (guint)g_random_int_range(1, G_MAXINT32);

    if (pay) {
        g_object_set(pay, "ssrc", ssrc, NULL);
        gst_object_unref(pay);
    } else {
        ssrc = 0;
    }
    if (peer)
        gst_object_unref(peer);
    gst_object_unref(sink);
    return ssrc;
}

static int build(struct cs_rtcsend *s, int program, int audio)
{
    GstPad *pad;

    s->feed.pipe = gst_pipeline_new("cs-rtcsend");
    s->src = gst_element_factory_make("appsrc", "src");
    s->demux = gst_element_factory_make("tsdemux", "demux");
    if (!s->src || !s->demux)
        return -1;
    g_object_set(s->src, "is-live", TRUE, "do-timestamp", TRUE,
                 "format", GST_FORMAT_BYTES,
                 "max-bytes", (guint64)(4 << 20), "block", FALSE, NULL);
    g_object_set(s->demux, "program-number", program, NULL);
    gst_bin_add_many(GST_BIN(s->feed.pipe), s->src, s->demux, NULL);
    if (!gst_element_link(s->src, s->demux))
        return -1;
    g_signal_connect(s->demux, "pad-added", G_CALLBACK(on_pad), s);
    s->feed.vtee = chain(s, video_chain, &s->vhead);
    if (!s->feed.vtee)
        return -1;
    if (audio && !(s->feed.atee = chain(s, audio_chain, &s->ahead)))
        return -1;
    s->feed.vssrc = fix_ssrc(s->feed.vtee);
    if (s->feed.atee)
        s->feed.assrc = fix_ssrc(s->feed.atee);
    watch_paid(s, s->feed.vtee);
    if (s->feed.atee)
        watch_paid(s, s->feed.atee);
    pad = gst_element_get_static_pad(s->feed.vtee, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER |
                      GST_PAD_PROBE_TYPE_BUFFER_LIST, on_first, s, NULL);
    gst_object_unref(pad);
    return 0;
}

void cs_rtcsend_ice_ports(struct cs_rtcsend *s, unsigned min, unsigned max)
{
    s->feed.ice_min = min;
    s->feed.ice_max = max;
}

int cs_rtcsend_new(struct cs_rtcsend **out, int program, int audio,
                   const char *ice_addr, char *why, int whylen)
{
    struct cs_rtcsend *s;
    int ret = cs_rtc_init(why, (size_t)whylen);

    if (ret < 0)
        return ret;
    s = g_new0(struct cs_rtcsend, 1);
    *out = NULL;
    g_mutex_init(&s->lock);
    g_mutex_init(&s->tlock);
    if (ice_addr) {
        snprintf(s->ice_addr, sizeof(s->ice_addr), "%s", ice_addr);
        s->feed.ice_addr = s->ice_addr;
    }
    if (build(s, program, audio) < 0) {
        cs_rtcsend_free(&s);
        return fail(why, whylen, CS_EUSAGE, "%s", "gstreamer lacks an "
                    "element webrtc needs (tsdemux, h264parse, rtph264pay, "
                    "opusparse, rtpopuspay, webrtcbin)");
    }
    if (gst_element_set_state(s->feed.pipe, GST_STATE_PLAYING) ==
        GST_STATE_CHANGE_FAILURE) {
        cs_rtcsend_free(&s);
        return fail(why, whylen, AVERROR_EXTERNAL, "%s",
                    "cannot start the webrtc pipeline");
    }
    *out = s;
    return 0;
}

/* The first error on the pipeline's bus, if any. */
static int bus_error(struct cs_rtcsend *s, char *why, int whylen)
{
    GstBus *bus = gst_element_get_bus(s->feed.pipe);
    GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    GError *e = NULL;
    int ret = 0;

    if (m) {
        gst_message_parse_error(m, &e, NULL);
        ret = fail(why, whylen, AVERROR_EXTERNAL, "webrtc pipeline: %s",
                   e ? e->message : "failed");
        g_clear_error(&e);
        gst_message_unref(m);
    }
    gst_object_unref(bus);
    return ret;
}

int cs_rtcsend_push(struct cs_rtcsend *s, const uint8_t *buf, int size,
                    char *why, int whylen)
{
    GstBuffer *b = gst_buffer_new_memdup(buf, (gsize)size);
    GstFlowReturn fr = gst_app_src_push_buffer(GST_APP_SRC(s->src), b);

    if (fr != GST_FLOW_OK)
        return fail(why, whylen, AVERROR_EXTERNAL, "webrtc pipeline: %s",
                    gst_flow_get_name(fr));
    return bus_error(s, why, whylen);
}

int cs_rtcsend_live(struct cs_rtcsend *s)
{
    return g_atomic_int_get(&s->live);
}

void cs_rtcsend_eos(struct cs_rtcsend *s)
{
    g_mutex_lock(&s->tlock);
    s->eos = 1;
    g_mutex_unlock(&s->tlock);
    gst_app_src_end_of_stream(GST_APP_SRC(s->src));
}

double cs_rtcsend_pending(struct cs_rtcsend *s)
{
    GstClock *clock = gst_element_get_clock(s->feed.pipe);
    gint64 now;
    double left;
    int ended;

    if (!clock)
        return 1;
    now = (gint64)(gst_clock_get_time(clock) -
                   gst_element_get_base_time(s->feed.pipe));
    gst_object_unref(clock);
    g_mutex_lock(&s->tlock);
    left = (double)(s->last - now) / GST_SECOND;
    ended = s->ended;
    g_mutex_unlock(&s->tlock);
    if (ended < 1 + !!s->feed.atee)
        return MAX(left, 0.001);    /* the demuxer is still at it */
    return MAX(left, 0);
}

/* The payload types of the (narrowed) offer's H.264 and Opus; -1: none. */
static void offer_pts(const GstSDPMessage *sdp, int *vpt, int *apt)
{
    *vpt = *apt = -1;
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
        const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
        int pt = gst_sdp_media_formats_len(m) ?
                 atoi(gst_sdp_media_get_format(m, 0)) : -1;

        if (!strcmp(gst_sdp_media_get_media(m), "video") && *vpt < 0)
            *vpt = pt;
        else if (!strcmp(gst_sdp_media_get_media(m), "audio") && *apt < 0)
            *apt = pt;
    }
}

static int add_peer(struct cs_rtcsend *s, struct rtcpeer *p)
{
    g_mutex_lock(&s->lock);
    p->id = ++s->next_id;
    p->next = s->peers;
    s->peers = p;
    g_mutex_unlock(&s->lock);
    return p->id;
}

/* Unlink peer ID from the list (the caller frees it), or NULL. */
static struct rtcpeer *take_peer(struct cs_rtcsend *s, int id)
{
    struct rtcpeer **pp, *p = NULL;

    g_mutex_lock(&s->lock);
    for (pp = &s->peers; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            p = *pp;
            *pp = p->next;
            break;
        }
    g_mutex_unlock(&s->lock);
    return p;
}

int cs_rtcsend_answer(struct cs_rtcsend *s, const char *offer, size_t len,
                      char **answer, char *why, int whylen)
{
    GstSDPMessage *sdp = NULL;
    struct rtcpeer *p;
    unsigned media = 0;
    int vpt, apt, ret;

    ret = cs_rtc_offer_parse(offer, len, &sdp, &media, why, (size_t)whylen);
    if (ret < 0)
        return ret;
    offer_pts(sdp, &vpt, &apt);
    if (!(media & CS_RTC_VIDEO) || vpt < 0) {
        gst_sdp_message_free(sdp);
        return fail(why, whylen, CS_EDATA, "%s", "the offer has no h.264 "
                    "video with packetization-mode 1");
    }
    p = cs_rtcpeer_new(&s->feed, vpt, media & CS_RTC_AUDIO ? apt : -1, 0,
                       why, whylen);
    if (!p) {
        gst_sdp_message_free(sdp);
        return AVERROR_EXTERNAL;
    }
    ret = cs_rtcpeer_answer(p, sdp, answer, why, whylen);
    if (ret < 0) {
        cs_rtcpeer_free(&s->feed, p);
        return ret;
    }
    return add_peer(s, p);
}

int cs_rtcsend_offer(struct cs_rtcsend *s, char **offer, char *why,
                     int whylen)
{
    struct rtcpeer *p = cs_rtcpeer_new(&s->feed, PT_H264,
                                       s->feed.atee ? PT_OPUS : -1, 1,
                                       why, whylen);
    int ret;

    if (!p)
        return AVERROR_EXTERNAL;
    ret = cs_rtcpeer_offer(p, offer, why, whylen);
    if (ret < 0) {
        cs_rtcpeer_free(&s->feed, p);
        return ret;
    }
    return add_peer(s, p);
}

/* Run FN on peer ID under the lock; -1 when there is none. */
static struct rtcpeer *find(struct cs_rtcsend *s, int id)
{
    struct rtcpeer *p;

    for (p = s->peers; p && p->id != id; p = p->next)
        ;
    return p;
}

int cs_rtcsend_accept(struct cs_rtcsend *s, int id, const char *answer,
                      char *why, int whylen)
{
    struct rtcpeer *p;
    int ret;

    g_mutex_lock(&s->lock);
    p = find(s, id);
    ret = p ? cs_rtcpeer_accept(p, answer, why, whylen)
            : fail(why, whylen, CS_ENET, "%s", "no such peer");
    g_mutex_unlock(&s->lock);
    return ret;
}

int cs_rtcsend_state(struct cs_rtcsend *s, int id)
{
    struct rtcpeer *p;
    int ret;

    g_mutex_lock(&s->lock);
    p = find(s, id);
    ret = p ? cs_rtcpeer_state(p) : CS_ENET;
    g_mutex_unlock(&s->lock);
    return ret;
}

void cs_rtcsend_drop(struct cs_rtcsend *s, int id)
{
    cs_rtcpeer_free(&s->feed, take_peer(s, id));
}

int cs_rtcsend_reap(struct cs_rtcsend *s)
{
    int gone[64], n = 0, left = 0;
    struct rtcpeer *p;

    g_mutex_lock(&s->lock);
    for (p = s->peers; p; p = p->next) {
        if (cs_rtcpeer_state(p) < 0 && n < 64)
            gone[n++] = p->id;
        else
            left++;
    }
    g_mutex_unlock(&s->lock);
    for (int i = 0; i < n; i++)
        cs_rtcsend_drop(s, gone[i]);
    return left;
}

void cs_rtcsend_stats(struct cs_rtcsend *s, cJSON *obj)
{
    cJSON *arr = cJSON_CreateArray();
    int n = 0;

    g_mutex_lock(&s->lock);
    for (struct rtcpeer *p = s->peers; p; p = p->next, n++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddNumberToObject(o, "id", p->id);
        cs_rtcpeer_stats(p, o);
        cJSON_AddItemToArray(arr, o);
    }
    g_mutex_unlock(&s->lock);
    cJSON_AddNumberToObject(obj, "viewers", n);
    cJSON_AddItemToObject(obj, "peers", arr);
}

void cs_rtcsend_free(struct cs_rtcsend **sp)
{
    struct cs_rtcsend *s = *sp;

    if (!s)
        return;
    while (s->peers)
        cs_rtcsend_drop(s, s->peers->id);
    if (s->feed.pipe) {
        gst_element_set_state(s->feed.pipe, GST_STATE_NULL);
        gst_object_unref(s->feed.pipe);
    }
    g_mutex_clear(&s->lock);
    g_mutex_clear(&s->tlock);
    g_free(s);
    *sp = NULL;
}
