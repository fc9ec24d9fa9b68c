/* rtpts.c: webrtcbin's RTP pads -> depayloaders -> mpegtsmux -> appsink
 * (see rtpts.h). */
#include "net/rtpts.h"

#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/rtp/gstrtpbuffer.h>

#include "err.h"
#include "net/rtc.h"

/* How long the first packets are held for the sender reports (below). */
#define HOLD_NS (2 * GST_SECOND)
/* A sender report that moves a stream by more than this is a new start. */
#define RESYNC_NS (20 * GST_MSECOND)

/* One received stream, timed by its sender's clock (see on_rtp). Only
 * its own streaming thread touches held and passing. */
struct track {
    struct cs_rtpts *b;
    int rate;               /* the RTP clock rate */
    int anchored;           /* a sender report mapped its RTP time */
    guint32 a_rtp;          /* the anchor: an RTP time */
    GstClockTime a_ntp;     /* and its time on the sender's clock */
    GstClockTime first_pts; /* webrtcbin's timestamp of the first packet */
    guint32 first_rtp;
    GQueue held;            /* packets that came before the ready point */
    int passing;            /* on_rtp is pushing a held packet */
};

struct cs_rtpts {
    GstElement *bin;        /* not owned */
    GstElement *mux, *sink; /* owned by bin */
    GMutex lock;            /* pads come on several streaming threads */
    GstPad *vpad, *apad;    /* the muxer's sink pads (requested), or NULL */
    struct track tracks[2]; /* video, audio */
    int ntracks;            /* the streams the session carries */
    int nanchored;
    int ready;              /* held packets may go */
    GstClockTime t0;        /* the earliest first_pts */
    gint64 origin;          /* sender clock - origin = our timestamps */
    int has_origin;
    GstSample *sample;      /* being read, or NULL */
    GstMapInfo map;
    gsize off;
    int64_t bytes;
};

int cs_rtpts_new(struct cs_rtpts **out, GstElement *pipe, GstElement *webrtc,
                 unsigned media)
{
    struct cs_rtpts *b = g_new0(struct cs_rtpts, 1);
    GstElement *rtpbin;
    GstCaps *caps;

    *out = b;
    g_mutex_init(&b->lock);
    b->bin = pipe;
    b->t0 = GST_CLOCK_TIME_NONE;
    b->ntracks = !!(media & CS_RTC_VIDEO) + !!(media & CS_RTC_AUDIO);
    for (int i = 0; i < 2; i++) {
        b->tracks[i].b = b;
        b->tracks[i].first_pts = GST_CLOCK_TIME_NONE;
        g_queue_init(&b->tracks[i].held);
    }
    /* Each packet gets its time on the sender's clock, once a sender
     * report mapped the stream's RTP time to it (on_rtp). */
    rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
    if (!rtpbin)
        return CS_EUSAGE;
    g_object_set(rtpbin, "add-reference-timestamp-meta", TRUE, NULL);
    gst_object_unref(rtpbin);
    b->mux = gst_element_factory_make("mpegtsmux", NULL);
    b->sink = gst_element_factory_make("appsink", NULL);
    if (!b->mux || !b->sink)
        return CS_EUSAGE;
    /* 7 packets a buffer, as an SRT message; the mux waits for late
     * streams no longer than the jitter buffer does. */
    g_object_set(b->mux, "alignment", 7, NULL);
    caps = gst_caps_new_empty_simple("video/mpegts");
    g_object_set(b->sink, "caps", caps, "sync", FALSE, "max-buffers", 2000,
                 "drop", TRUE, NULL);
    gst_caps_unref(caps);
    gst_bin_add_many(GST_BIN(pipe), b->mux, b->sink, NULL);
    if (!gst_element_link(b->mux, b->sink))
        return CS_EUSAGE;
    if (media & CS_RTC_VIDEO)
        b->vpad = gst_element_request_pad_simple(b->mux, "sink_%d");
    if (media & CS_RTC_AUDIO)
        b->apad = gst_element_request_pad_simple(b->mux, "sink_%d");
    return 0;
}

/* Make FACTORY into BIN with PROPS set by the caller; NULL when missing. */
static GstElement *add(GstElement *bin, const char *factory)
{
    GstElement *e = gst_element_factory_make(factory, NULL);

    if (e)
        gst_bin_add(GST_BIN(bin), e);
    return e;
}

/* Ask upstream for a keyframe: rtpsession turns this into a PLI. */
static void want_keyframe(GstElement *depay)
{
    GstStructure *s = gst_structure_new("GstForceKeyUnit",
                                        "all-headers", G_TYPE_BOOLEAN, FALSE,
                                        NULL);
    GstPad *sink = gst_element_get_static_pad(depay, "sink");

    gst_pad_push_event(sink, gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM,
                                                  s));
    gst_object_unref(sink);
}

/* The last timestamps a chain passed on; whether it waits for a
 * keyframe (video, at the start). */
struct mono {
    GstClockTime pts, dts;
    int wait_key;
};

/* Video: drop what comes before the first keyframe. Then keep a chain's
 * timestamps rising: a sender that restarts its clock (on_rtp), or a
 * stream timed by when it came, can go back a little, and the muxer would
 * write a frame earlier than the one before it. The frame goes right after
 * the last one instead (its duration later, or 1 ms). */
static GstPadProbeReturn keep_rising(GstPad *pad, GstPadProbeInfo *info,
                                     gpointer data)
{
    struct mono *m = data;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    GstClockTime pts = GST_BUFFER_PTS(buf), dts = GST_BUFFER_DTS(buf);
    GstClockTime step = GST_BUFFER_DURATION_IS_VALID(buf)
                        ? GST_BUFFER_DURATION(buf) : GST_MSECOND;

    if (m->wait_key && GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
        return GST_PAD_PROBE_DROP;
    m->wait_key = 0;
    if ((GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(m->pts) &&
         pts <= m->pts) ||
        (GST_CLOCK_TIME_IS_VALID(dts) && GST_CLOCK_TIME_IS_VALID(m->dts) &&
         dts <= m->dts)) {
        buf = gst_buffer_make_writable(buf);
        if (GST_CLOCK_TIME_IS_VALID(pts) && pts <= m->pts)
            GST_BUFFER_PTS(buf) = pts = m->pts + step;
        if (GST_CLOCK_TIME_IS_VALID(dts) && dts <= m->dts)
            GST_BUFFER_DTS(buf) = dts = MIN(m->dts + step, pts);
        GST_PAD_PROBE_INFO_DATA(info) = buf;
    }
    if (GST_CLOCK_TIME_IS_VALID(pts))
        m->pts = pts;
    if (GST_CLOCK_TIME_IS_VALID(dts))
        m->dts = dts;
    return GST_PAD_PROBE_OK;
}

static void watch_rising(GstElement *e, int video)
{
    struct mono *m = g_new(struct mono, 1);
    GstPad *src = gst_element_get_static_pad(e, "src");

    m->pts = m->dts = GST_CLOCK_TIME_NONE;
    m->wait_key = video;
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, keep_rising, m,
                      g_free);
    gst_object_unref(src);
}

/* The timestamp of the last slice the depayloader passed on (NONE before
 * one). */
struct slices {
    GstClockTime pts;
};

/* Drop an SPS or PPS that comes between the slices of one picture (the
 * same timestamp as the slice before it). GStreamer 1.22's rtph264pay
 * (config-interval=-1, as simple-whip-client uses it) sends them again
 * before every IDR slice, and x264's zerolatency pictures have several:
 * a parameter set after a slice starts a new access unit, so h264parse
 * cut each keyframe in two with one timestamp. The copies repeat what
 * came before the picture's first slice. */
static GstPadProbeReturn drop_inner_sets(GstPad *pad, GstPadProbeInfo *info,
                                         gpointer data)
{
    struct slices *s = data;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    GstClockTime pts = GST_BUFFER_PTS(buf);
    guint8 head[5];
    int type;

    /* nal alignment: one NAL a buffer, after a 4-byte start code */
    if (gst_buffer_extract(buf, 0, head, sizeof(head)) < sizeof(head))
        return GST_PAD_PROBE_OK;
    type = head[4] & 0x1f;
    if ((type == 7 || type == 8) && GST_CLOCK_TIME_IS_VALID(pts) &&
        pts == s->pts)
        return GST_PAD_PROBE_DROP;
    if (type >= 1 && type <= 5)
        s->pts = pts;
    return GST_PAD_PROBE_OK;
}

static void watch_slices(GstElement *depay)
{
    struct slices *s = g_new(struct slices, 1);
    GstPad *src = gst_element_get_static_pad(depay, "src");

    s->pts = GST_CLOCK_TIME_NONE;
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, drop_inner_sets, s,
                      g_free);
    gst_object_unref(src);
}

/* depay ! parse ! queue ! the muxer's pad MUXPAD, started, linked to PAD. */
static int chain(struct cs_rtpts *b, GstPad *pad, const char *depay_name,
                 const char *parse_name, GstPad *muxpad, int video)
{
    GstElement *depay = add(b->bin, depay_name);
    GstElement *parse = add(b->bin, parse_name);
    GstElement *q = add(b->bin, "queue");
    GstCaps *au = gst_caps_from_string(video ? "video/x-h264,stream-format="
                                       "byte-stream,alignment=au"
                                       : "audio/x-opus");
    GstCaps *nal;
    GstPad *qsrc, *dsink;
    int ok;

    if (!depay || !parse || !q || !muxpad)
        return CS_EUSAGE;
    /* After a loss the damaged pictures go on (a decoder conceals the
     * damage) while a keyframe is asked for: waiting for the keyframe
     * instead would freeze the picture until the sender answers. The
     * stream starts at a keyframe (watch_rising). */
    if (video) {
        g_object_set(depay, "request-keyframe", TRUE, "wait-for-keyframe",
                     FALSE, NULL);
        g_object_set(parse, "config-interval", -1, NULL);
        watch_slices(depay);
    }
    /* Whole access units: the muxer's PES packets are pictures. The
     * parser makes them from NAL units (slice headers), not the depayloader
     * from RTP marker bits: a sender may mark the end of a packet group
     * that is not the end of a picture, and the second half of a picture
     * split that way came with no timestamp, which stalled the muxer. */
    nal = gst_caps_from_string(video ? "video/x-h264,stream-format="
                               "byte-stream,alignment=nal"
                               : "audio/x-opus");
    ok = gst_element_link_filtered(depay, parse, nal) &&
         gst_element_link_filtered(parse, q, au);
    gst_caps_unref(nal);
    gst_caps_unref(au);
    watch_rising(parse, video);
    qsrc = gst_element_get_static_pad(q, "src");
    ok = ok && gst_pad_link(qsrc, muxpad) == GST_PAD_LINK_OK;
    gst_object_unref(qsrc);
    gst_element_sync_state_with_parent(q);
    gst_element_sync_state_with_parent(parse);
    gst_element_sync_state_with_parent(depay);
    dsink = gst_element_get_static_pad(depay, "sink");
    ok = ok && gst_pad_link(pad, dsink) == GST_PAD_LINK_OK;
    gst_object_unref(dsink);
    if (ok && video)
        want_keyframe(depay);
    return ok ? 0 : CS_EDATA;
}

/* The time on the sender's clock at RTP time RTP of track T: its anchor's
 * moved by the RTP time in between. NONE before the first report. */
static GstClockTime sender_time(const struct track *t, guint32 rtp)
{
    gint32 d = (gint32)(rtp - t->a_rtp);
    guint64 ns;

    if (!t->anchored)
        return GST_CLOCK_TIME_NONE;
    ns = gst_util_uint64_scale_int(GST_SECOND, ABS(d), t->rate);
    return d < 0 ? t->a_ntp - ns : t->a_ntp + ns;
}

/* Packet P came at RTP time RTP, marked by rtpbin with the time on the
 * sender's clock M (or NONE). The first mark anchors the track; later
 * ones move the anchor only when they disagree by more than RESYNC_NS
 * (the sender restarted its clock), so that frames keep their exact RTP
 * spacing. The anchor follows the stream in whole seconds, which keeps
 * the RTP difference far from wrapping. Under b->lock. */
static void anchor(struct track *t, guint32 rtp, GstClockTime m)
{
    gint32 d;

    if (GST_CLOCK_TIME_IS_VALID(m)) {
        GstClockTime at = sender_time(t, rtp);

        if (!t->anchored)
            t->b->nanchored++;
        if (!t->anchored || m > at + RESYNC_NS || at > m + RESYNC_NS) {
            t->anchored = 1;
            t->a_rtp = rtp;
            t->a_ntp = m;
        }
    }
    d = (gint32)(rtp - t->a_rtp);
    if (t->anchored && d > 600 * t->rate) {
        t->a_rtp += (guint32)(d / t->rate * t->rate);
        t->a_ntp += (GstClockTime)(d / t->rate) * GST_SECOND;
    }
}

static guint32 rtp_time(GstBuffer *p)
{
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    guint32 ts = 0;

    if (gst_rtp_buffer_map(p, GST_MAP_READ, &rtp)) {
        ts = gst_rtp_buffer_get_timestamp(&rtp);
        gst_rtp_buffer_unmap(&rtp);
    }
    return ts;
}

/* Stamp P (writable, at RTP time RTP) with its time on the sender's clock
 * less the session's origin; a stream with no sender report yet keeps
 * webrtcbin's timestamp (when it came). Under b->lock. */
static GstBuffer *stamp(struct track *t, GstBuffer *p, guint32 rtp)
{
    struct cs_rtpts *b = t->b;
    GstClockTime ntp = sender_time(t, rtp);
    gint64 ts;

    if (!GST_BUFFER_PTS_IS_VALID(p) || !GST_CLOCK_TIME_IS_VALID(ntp))
        return p;
    if (!b->has_origin) {       /* reports came after the hold: from here */
        b->origin = (gint64)ntp - (gint64)GST_BUFFER_PTS(p);
        b->has_origin = 1;
    }
    ts = MAX((gint64)ntp - b->origin, 0);
    p = gst_buffer_make_writable(p);
    GST_BUFFER_PTS(p) = GST_BUFFER_DTS(p) = (GstClockTime)ts;
    return p;
}

/* Let the held packets go once every stream has its anchor, or HOLD_NS
 * after the first packet (P: the packet that came). Under b->lock. */
static void try_ready(struct cs_rtpts *b, GstBuffer *p)
{
    if (!GST_CLOCK_TIME_IS_VALID(b->t0) ||
        (b->nanchored < b->ntracks &&
         (!GST_BUFFER_PTS_IS_VALID(p) ||
          GST_BUFFER_PTS(p) <= b->t0 + HOLD_NS)))
        return;
    /* The origin puts the earliest first packet where webrtcbin put it
     * (when it came, plus the jitter buffer's latency): no timestamp falls
     * below it, and the muxer's wait for a stream that has nothing is
     * timed as before (it waits until the clock passes a timestamp plus
     * its latency). The held packets are late for it: they go at once. */
    for (int i = 0; i < 2; i++) {
        struct track *u = &b->tracks[i];
        GstClockTime f;

        if (!u->anchored)
            continue;
        f = sender_time(u, u->first_rtp);
        if (!b->has_origin || (gint64)f - (gint64)b->t0 < b->origin)
            b->origin = (gint64)f - (gint64)b->t0;
        b->has_origin = 1;
    }
    b->ready = 1;
}

/* The webrtcbin pad's packets, before the depayloader. webrtcbin times
 * each stream by when its packets came, and moves one of them when the
 * first sender reports show how the two line up (lip-sync): that move is
 * a jump in the middle of the stream, and a sender that sends a burst (a
 * WHIP client flushing what it held while connecting) gets timestamps that
 * close up to one instant. So the first packets are held until every
 * stream has had a sender report (or HOLD_NS passed), and each packet is
 * timed by the sender's own clock: frames keep the spacing they were sent
 * with, and audio and video line up from the first one. */
static GstPadProbeReturn on_rtp(GstPad *pad, GstPadProbeInfo *info,
                                gpointer data)
{
    struct track *t = data;
    struct cs_rtpts *b = t->b;
    GstBuffer *p = GST_PAD_PROBE_INFO_BUFFER(info), *h;
    GstReferenceTimestampMeta *m;
    guint32 rtp;

    if (t->passing)
        return GST_PAD_PROBE_OK;
    rtp = rtp_time(p);
    m = gst_buffer_get_reference_timestamp_meta(p, NULL);
    g_mutex_lock(&b->lock);
    if (!GST_CLOCK_TIME_IS_VALID(t->first_pts) &&
        GST_BUFFER_PTS_IS_VALID(p)) {
        t->first_pts = GST_BUFFER_PTS(p);
        t->first_rtp = rtp;
        if (!GST_CLOCK_TIME_IS_VALID(b->t0) || t->first_pts < b->t0)
            b->t0 = t->first_pts;
    }
    anchor(t, rtp, m ? m->timestamp : GST_CLOCK_TIME_NONE);
    if (!b->ready)
        try_ready(b, p);
    if (!b->ready) {
        g_queue_push_tail(&t->held, gst_buffer_ref(p));
        g_mutex_unlock(&b->lock);
        return GST_PAD_PROBE_DROP;
    }
    while ((h = g_queue_pop_head(&t->held))) {
        h = stamp(t, h, rtp_time(h));
        g_mutex_unlock(&b->lock);
        t->passing = 1;
        gst_pad_push(pad, h);
        t->passing = 0;
        g_mutex_lock(&b->lock);
    }
    GST_PAD_PROBE_INFO_DATA(info) = stamp(t, p, rtp);
    g_mutex_unlock(&b->lock);
    return GST_PAD_PROBE_OK;
}

int cs_rtpts_link(struct cs_rtpts *b, GstPad *pad)
{
    GstCaps *caps = gst_pad_get_current_caps(pad);
    const GstStructure *s;
    const char *enc;
    int video, ret = 0;
    struct track *t;
    GstPad **muxpad;

    if (!caps)
        caps = gst_pad_query_caps(pad, NULL);
    s = gst_caps_get_structure(caps, 0);
    enc = s ? gst_structure_get_string(s, "encoding-name") : NULL;
    video = enc && !g_ascii_strcasecmp(enc, "H264");
    g_mutex_lock(&b->lock);
    t = &b->tracks[video ? 0 : 1];
    muxpad = video ? &b->vpad : &b->apad;
    if ((video || (enc && !g_ascii_strcasecmp(enc, "OPUS"))) && *muxpad) {
        /* timed from its first packet on: the probe goes first */
        if (gst_structure_get_int(s, "clock-rate", &t->rate) && t->rate > 0)
            gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_rtp, t,
                              NULL);
        ret = video ? chain(b, pad, "rtph264depay", "h264parse", *muxpad, 1)
                    : chain(b, pad, "rtpopusdepay", "opusparse", *muxpad, 0);
        gst_object_unref(*muxpad);
        *muxpad = NULL;
    }
    g_mutex_unlock(&b->lock);
    gst_caps_unref(caps);
    return ret;
}

static void drop_sample(struct cs_rtpts *b)
{
    if (!b->sample)
        return;
    gst_buffer_unmap(gst_sample_get_buffer(b->sample), &b->map);
    gst_sample_unref(b->sample);
    b->sample = NULL;
}

int cs_rtpts_read(struct cs_rtpts *b, uint8_t *buf, int size, double wait)
{
    gsize n;

    if (!b->sample) {
        GstSample *s = gst_app_sink_try_pull_sample(
            GST_APP_SINK(b->sink), (GstClockTime)(wait * GST_SECOND));

        if (!s)
            return gst_app_sink_is_eos(GST_APP_SINK(b->sink)) ? CS_EEMPTY
                                                             : 0;
        if (!gst_sample_get_buffer(s) ||
            !gst_buffer_map(gst_sample_get_buffer(s), &b->map,
                            GST_MAP_READ)) {
            gst_sample_unref(s);
            return 0;
        }
        b->sample = s;
        b->off = 0;
    }
    n = MIN((gsize)size, b->map.size - b->off);
    memcpy(buf, b->map.data + b->off, n);
    b->off += n;
    b->bytes += (int64_t)n;
    if (b->off >= b->map.size)
        drop_sample(b);
    return (int)n;
}

int64_t cs_rtpts_bytes(const struct cs_rtpts *b)
{
    return b->bytes;
}

void cs_rtpts_free(struct cs_rtpts **pb)
{
    struct cs_rtpts *b = *pb;

    if (!b)
        return;
    drop_sample(b);
    for (int i = 0; i < 2; i++)
        g_queue_clear_full(&b->tracks[i].held,
                           (GDestroyNotify)gst_buffer_unref);
    if (b->vpad)
        gst_object_unref(b->vpad);      /* the muxer keeps it */
    if (b->apad)
        gst_object_unref(b->apad);
    g_mutex_clear(&b->lock);
    g_free(b);
    *pb = NULL;
}
