/* rtpts.c: webrtcbin's RTP pads -> depayloaders -> mpegtsmux -> appsink
 * (see rtpts.h). */
#include "net/rtpts.h"

#include <string.h>

#include <gst/app/gstappsink.h>

#include "err.h"
#include "net/rtc.h"

struct cs_rtpts {
    GstElement *bin;        /* not owned */
    GstElement *mux, *sink; /* owned by bin */
    GMutex lock;            /* pads come on several streaming threads */
    GstPad *vpad, *apad;    /* the muxer's sink pads (requested), or NULL */
    GstSample *sample;      /* being read, or NULL */
    GstMapInfo map;
    gsize off;
    int64_t bytes;
};

int cs_rtpts_new(struct cs_rtpts **out, GstElement *pipe, unsigned media)
{
    struct cs_rtpts *b = g_new0(struct cs_rtpts, 1);
    GstCaps *caps;

    *out = b;
    g_mutex_init(&b->lock);
    b->bin = pipe;
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
 * timestamps rising: rtpbin moves a stream back a little
 * when the first RTCP sender report syncs it to the other (lip-sync), and
 * the muxer would write a frame earlier than the one before it. The frame
 * goes right after the last one instead (its duration later, or 1 ms). */
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

int cs_rtpts_link(struct cs_rtpts *b, GstPad *pad)
{
    GstCaps *caps = gst_pad_get_current_caps(pad);
    const GstStructure *s;
    const char *enc;
    int ret = 0;

    if (!caps)
        caps = gst_pad_query_caps(pad, NULL);
    s = gst_caps_get_structure(caps, 0);
    enc = s ? gst_structure_get_string(s, "encoding-name") : NULL;
    g_mutex_lock(&b->lock);
    if (enc && !g_ascii_strcasecmp(enc, "H264") && b->vpad) {
        ret = chain(b, pad, "rtph264depay", "h264parse", b->vpad, 1);
        gst_object_unref(b->vpad);
        b->vpad = NULL;
    } else if (enc && !g_ascii_strcasecmp(enc, "OPUS") && b->apad) {
        ret = chain(b, pad, "rtpopusdepay", "opusparse", b->apad, 0);
        gst_object_unref(b->apad);
        b->apad = NULL;
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
    if (b->vpad)
        gst_object_unref(b->vpad);      /* the muxer keeps it */
    if (b->apad)
        gst_object_unref(b->apad);
    g_mutex_clear(&b->lock);
    g_free(b);
    *pb = NULL;
}
