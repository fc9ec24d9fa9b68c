/* whep-view: N WHEP viewers in one process, for the tests: each POSTs a
 * recvonly offer (H.264 and Opus) to URL, takes the answer, and counts the
 * video frames it receives (depayloaded and parsed, not decoded).
 *
 *   whep-view URL [--count N] [--seconds S] [--drop-one-at T]
 *             [--token T] [--relay PORT]
 *
 * --drop-one-at T: viewer 0 DELETEs its session at T seconds, and keeps
 * its end open: frames that still reach it more than 0.5 s after the
 * DELETE was answered (its frames_after_drop) were sent to a viewer gone.
 * For the others, frames_after_drop counts the frames from T + 0.5 s on.
 * --relay PORT: the answer's candidates are rewritten to 127.0.0.1:PORT
 * (a lossy relay in front of the server's ICE port), and the offer goes
 * without ours, so the server learns our address from the checks that
 * come through the relay and every packet both ways crosses it.
 * Prints one JSON object: the POST statuses, and per viewer the frames,
 * frames after the drop, whether the first frame was a keyframe, the picture
 * size, the longest gap between frames and webrtcbin's counters.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "net/rtc.h"

#define MAXV 64

struct viewer {
    GstElement *webrtc;
    char location[1024];
    long status;
    int frames, after, first_key, width, height, audio;
    gint64 last_us, gap_us;
    int dropped;
    GMutex lock;
};

struct opts {
    const char *url, *token;
    int count, relay;
    double seconds, drop_at;
};

static gint64 t_drop;
static gint64 t_count;          /* frames after this are "after the drop" */

static GstFlowReturn on_sample(GstAppSink *sink, gpointer data)
{
    struct viewer *v = data;
    GstSample *s = gst_app_sink_pull_sample(sink);
    GstBuffer *b = gst_sample_get_buffer(s);
    GstStructure *st = gst_caps_get_structure(gst_sample_get_caps(s), 0);
    gint64 now = g_get_monotonic_time(), tc;

    g_mutex_lock(&v->lock);
    if (!v->frames)
        v->first_key = !GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
    else if (now - v->last_us > v->gap_us)
        v->gap_us = now - v->last_us;
    v->frames++;
    tc = __atomic_load_n(&t_count, __ATOMIC_RELAXED);
    if (tc && now > tc)
        v->after++;
    v->last_us = now;
    gst_structure_get_int(st, "width", &v->width);
    gst_structure_get_int(st, "height", &v->height);
    g_mutex_unlock(&v->lock);
    gst_sample_unref(s);
    return GST_FLOW_OK;
}

static GstPadProbeReturn on_audio(GstPad *pad, GstPadProbeInfo *info,
                                  gpointer data)
{
    struct viewer *v = data;

    g_atomic_int_inc(&v->audio);
    return GST_PAD_PROBE_OK;
}

static void on_pad(GstElement *webrtc, GstPad *pad, gpointer data)
{
    struct viewer *v = data;
    GstCaps *caps = gst_pad_get_current_caps(pad);
    const char *media = caps ? gst_structure_get_string(
        gst_caps_get_structure(caps, 0), "media") : NULL;
    GstElement *bin, *pipe = GST_ELEMENT(gst_element_get_parent(webrtc));
    GstPad *sink;

    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        goto out;
    /* The sinks join a playing pipeline with async=false: an async one
     * prerolled on its first buffer and held it there until the pipeline
     * was PLAYING again, which with viewers joining at once could wait on
     * another viewer's sink: a viewer then saw no frame for the whole run,
     * its depayloader's thread stopped in the push of the first picture
     * (1 run in 6 or 7 under load; the sender had sent every packet). */
    if (media && !strcmp(media, "video")) {
        GstElement *snk;

        bin = gst_parse_bin_from_description("rtph264depay ! h264parse ! "
            "video/x-h264,alignment=au ! appsink name=s sync=false "
            "async=false emit-signals=true", TRUE, NULL);
        snk = gst_bin_get_by_name(GST_BIN(bin), "s");
        g_signal_connect(snk, "new-sample", G_CALLBACK(on_sample), v);
        gst_object_unref(snk);
    } else {
        bin = gst_parse_bin_from_description("fakesink sync=false "
                                             "async=false", TRUE, NULL);
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_audio, v, NULL);
    }
    gst_bin_add(GST_BIN(pipe), bin);
    gst_element_sync_state_with_parent(bin);
    sink = gst_element_get_static_pad(bin, "sink");
    gst_pad_link(pad, sink);
    gst_object_unref(sink);
out:
    if (caps)
        gst_caps_unref(caps);
    gst_object_unref(pipe);
}

static size_t on_body(char *d, size_t size, size_t n, void *opaque)
{
    g_string_append_len(opaque, d, (gssize)(size * n));
    return size * n;
}

static size_t on_header(char *d, size_t size, size_t n, void *opaque)
{
    struct viewer *v = opaque;

    if (size * n > 9 && !g_ascii_strncasecmp(d, "location:", 9)) {
        gchar *l = g_strstrip(g_strndup(d + 9, size * n - 9));

        snprintf(v->location, sizeof(v->location), "%s", l);
        g_free(l);
    }
    return size * n;
}

/* METHOD URL with BODY; the status, and the reply body in OUT. */
static long http(struct viewer *v, const struct opts *o, const char *method,
                 const char *url, const char *body, GString *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL,
                                             "Content-Type: application/sdp");
    char auth[600];
    long status = 0;

    if (o->token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, v);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return status;
}

static void add_trans(GstElement *webrtc, const char *caps_str)
{
    GstCaps *caps = gst_caps_from_string(caps_str);
    GstWebRTCRTPTransceiver *t = NULL;

    g_signal_emit_by_name(webrtc, "add-transceiver",
                          GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps,
                          &t);
    if (t) {
        g_object_set(t, "do-nack", TRUE, NULL);
        gst_object_unref(t);
    }
    gst_caps_unref(caps);
}

/* Our offer with every candidate, as text (g_free). */
static gchar *make_offer(GstElement *webrtc)
{
    GstPromise *p = cs_rtc_promise_new();
    const GstStructure *r;
    GstWebRTCSessionDescription *d = NULL;
    gchar *text;

    g_signal_emit_by_name(webrtc, "create-offer", NULL, p);
    r = cs_rtc_promise_wait(p, 5);
    if (r)
        gst_structure_get(r, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                          &d, NULL);
    gst_promise_unref(p);
    if (!d)
        return NULL;
    p = cs_rtc_promise_new();
    g_signal_emit_by_name(webrtc, "set-local-description", d, p);
    cs_rtc_promise_wait(p, 5);
    gst_promise_unref(p);
    gst_webrtc_session_description_free(d);
    for (int i = 0; i < 500; i++) {
        GstWebRTCICEGatheringState st;

        g_object_get(webrtc, "ice-gathering-state", &st, NULL);
        if (st == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
            break;
        g_usleep(10000);
    }
    g_object_get(webrtc, "local-description", &d, NULL);
    text = gst_sdp_message_as_text(d->sdp);
    gst_webrtc_session_description_free(d);
    return text;
}

static void set_answer(GstElement *webrtc, const char *text, int relay)
{
    GstSDPMessage *sdp = NULL;
    GstWebRTCSessionDescription *d;
    GstPromise *p = cs_rtc_promise_new();
    gchar *t = g_strdup(text);

    if (relay) {
        GRegex *re = g_regex_new("(a=candidate:\\S+ \\d+ UDP \\d+ "
                                 "127\\.0\\.0\\.1 )\\d+", 0, 0, NULL);
        gchar *rep = g_strdup_printf("\\g<1>%d", relay);

        g_free(t);
        t = g_regex_replace(re, text, -1, 0, rep, 0, NULL);
        g_free(rep);
        g_regex_unref(re);
    }
    gst_sdp_message_new_from_text(t, &sdp);
    d = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    g_signal_emit_by_name(webrtc, "set-remote-description", d, p);
    cs_rtc_promise_wait(p, 5);
    gst_promise_unref(p);
    gst_webrtc_session_description_free(d);
    g_free(t);
}

/* TEXT without its candidate lines (in place). */
static void strip_candidates(gchar *text)
{
    GRegex *re = g_regex_new("^a=(candidate|end-of-candidates).*\\r?\\n",
                             G_REGEX_MULTILINE, 0, NULL);
    gchar *t = g_regex_replace(re, text, -1, 0, "", 0, NULL);

    strcpy(text, t);            /* never longer */
    g_free(t);
    g_regex_unref(re);
}

/* Every UDP socket of this process (libnice's, made while gathering)
 * gets a receive buffer of RCVBUF: with 20 viewers in one process and
 * another test file on the two cores, a viewer's thread waited long enough
 * for the kernel's default (208 KiB) to fill, and it dropped packets
 * (3,000 in one run). NACKs repaired those in the middle, but the first
 * packets of a viewer's first keyframe cannot be asked for again (the
 * viewer does not know they were sent), and the viewer began on a picture
 * that was not one. That loss is the test viewer's, not the sender's.
 * SO_RCVBUFFORCE passes net.core.rmem_max where we may (root). */
#define RCVBUF (4 << 20)
static void widen_udp_buffers(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    while (d && (e = readdir(d))) {
        int fd = atoi(e->d_name), type = 0, size = RCVBUF;
        socklen_t len = sizeof(type);

        if (fd <= 2 || fd == dirfd(d) ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
            type != SOCK_DGRAM)
            continue;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
                       sizeof(size)) < 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    if (d)
        closedir(d);
}

static void viewer_start(struct viewer *v, GstElement *pipe,
                         const struct opts *o)
{
    GString *body = g_string_new(NULL);
    gchar *offer;

    g_mutex_init(&v->lock);
    v->webrtc = gst_element_factory_make("webrtcbin", NULL);
    g_object_set(v->webrtc, "bundle-policy",
                 GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
    cs_rtc_ice_bind(v->webrtc, "127.0.0.1");
    /* NACKs and PLIs at once, as a browser sends them */
    cs_rtc_feedback_fast(v->webrtc);
    g_signal_connect(v->webrtc, "pad-added", G_CALLBACK(on_pad), v);
    gst_bin_add(GST_BIN(pipe), v->webrtc);
    gst_element_sync_state_with_parent(v->webrtc);
    add_trans(v->webrtc, "application/x-rtp,media=video,encoding-name=H264,"
              "clock-rate=90000,payload=102,packetization-mode=(string)1,"
              "profile-level-id=(string)42e01f");
    add_trans(v->webrtc, "application/x-rtp,media=audio,encoding-name=OPUS,"
              "clock-rate=48000,payload=111,encoding-params=(string)2");
    offer = make_offer(v->webrtc);
    widen_udp_buffers();
    if (offer && o->relay)
        strip_candidates(offer);
    v->status = offer ? http(v, o, "POST", o->url, offer, body) : 0;
    if (v->status == 201)
        set_answer(v->webrtc, body->str, o->relay);
    else
        fprintf(stderr, "whep-view: POST %ld: %s\n", v->status, body->str);
    g_free(offer);
    g_string_free(body, TRUE);
}

static void viewer_stop(struct viewer *v, const struct opts *o)
{
    GString *body = g_string_new(NULL);
    char url[2048];

    if (v->status == 201 && v->location[0] && !v->dropped) {
        if (v->location[0] == '/') {
            const char *p = strstr(o->url, "://");

            p = p ? strchr(p + 3, '/') : NULL;
            snprintf(url, sizeof(url), "%.*s%s",
                     p ? (int)(p - o->url) : 0, o->url, v->location);
        } else {
            snprintf(url, sizeof(url), "%s", v->location);
        }
        http(v, o, "DELETE", url, NULL, body);
        v->dropped = 1;
    }
    g_string_free(body, TRUE);
}

static cJSON *report(struct viewer *v)
{
    cJSON *o = cJSON_CreateObject();

    g_mutex_lock(&v->lock);
    cJSON_AddNumberToObject(o, "status", (double)v->status);
    cJSON_AddNumberToObject(o, "frames", v->frames);
    cJSON_AddNumberToObject(o, "frames_after_drop", v->after);
    cJSON_AddBoolToObject(o, "first_keyframe", v->first_key);
    cJSON_AddNumberToObject(o, "width", v->width);
    cJSON_AddNumberToObject(o, "height", v->height);
    cJSON_AddNumberToObject(o, "audio_packets", g_atomic_int_get(&v->audio));
    cJSON_AddNumberToObject(o, "max_gap_ms", (double)v->gap_us / 1000);
    g_mutex_unlock(&v->lock);
    if (v->webrtc) {
        GstWebRTCICEConnectionState ice;
        GstWebRTCPeerConnectionState pc;

        /* where a viewer that got nothing stopped: ICE, or DTLS after it */
        g_object_get(v->webrtc, "ice-connection-state", &ice,
                     "connection-state", &pc, NULL);
        cJSON_AddNumberToObject(o, "ice_state", ice);
        cJSON_AddNumberToObject(o, "connection_state", pc);
        cs_rtc_stats(v->webrtc, o, 2, NULL);
    }
    return o;
}

static void parse(int argc, char **argv, struct opts *o)
{
    o->count = 1;
    o->seconds = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : "0";

        if (!strcmp(a, "--count") && ++i)
            o->count = atoi(val);
        else if (!strcmp(a, "--seconds") && ++i)
            o->seconds = atof(val);
        else if (!strcmp(a, "--drop-one-at") && ++i)
            o->drop_at = atof(val);
        else if (!strcmp(a, "--token") && ++i)
            o->token = val;
        else if (!strcmp(a, "--relay") && ++i)
            o->relay = atoi(val);
        else
            o->url = a;
    }
    if (o->count < 1 || o->count > MAXV)
        o->count = 1;
}

int main(int argc, char **argv)
{
    static struct viewer v[MAXV];
    struct opts o = { 0 };
    GstElement *pipe;
    gint64 t0, end;
    cJSON *out = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    char why[256], *text;

    parse(argc, argv, &o);
    if (!o.url || cs_rtc_init(why, sizeof(why)) < 0) {
        fprintf(stderr, "usage: whep-view URL [--count N] [--seconds S] "
                "[--drop-one-at T] [--token T] [--relay PORT]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pipe = gst_pipeline_new(NULL);
    gst_element_set_state(pipe, GST_STATE_PLAYING);
    for (int i = 0; i < o.count; i++)
        viewer_start(&v[i], pipe, &o);
    t0 = g_get_monotonic_time();
    end = t0 + (gint64)(o.seconds * 1e6);
    if (o.drop_at > 0)
        t_drop = t0 + (gint64)(o.drop_at * 1e6);
    while (g_get_monotonic_time() < end) {
        g_usleep(50000);
        if (t_drop && g_get_monotonic_time() > t_drop && !v[0].dropped) {
            viewer_stop(&v[0], &o);
            __atomic_store_n(&t_count, g_get_monotonic_time() + 500000,
                             __ATOMIC_RELAXED);
        }
    }
    for (int i = 0; i < o.count; i++)
        cJSON_AddItemToArray(arr, report(&v[i]));
    for (int i = 0; i < o.count; i++)
        viewer_stop(&v[i], &o);
    cJSON_AddItemToObject(out, "viewers", arr);
    text = cJSON_PrintUnformatted(out);
    printf("%s\n", text);
    free(text);
    cJSON_Delete(out);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
    return 0;
}
