/* net/rtcsend_internal.h: what rtcsend.c (the pipeline) and rtcpeer.c
 * (one webrtcbin per peer) share. Nobody else includes it. */
#ifndef CS_NET_RTCSEND_INTERNAL_H
#define CS_NET_RTCSEND_INTERNAL_H

#include <cjson/cJSON.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include "net/rtc.h"

/* One media of one peer: tee ! queue ! (probe) ! webrtcbin.sink_N. */
struct rtcbranch {
    struct rtcpeer *peer;
    GstElement *queue;
    GstPad *teepad;         /* requested from the tee */
    int pt;                 /* the peer's payload type */
    GstCaps *caps;          /* its transceiver's codec preferences */
    int video;
    /* what left the queue: the next sequence number due (once one has
     * left), the packets it let go (atomic) and when that was last said */
    int seq_known;
    guint16 next_seq;
    gint64 dropped;
    gint64 said_us;
};

struct rtcpeer {
    struct rtcpeer *next;
    int id;
    GstElement *webrtc;
    struct rtcbranch v, a;
    int has_audio;
    int offer;              /* we make the offer (WHIP), else answer */
    gint ready;             /* atomic: media may go: both descriptions
                             * set (our offer), or connected (an answer) */
    gulong on_state;        /* the connection-state handler (an answer) */
    gint started;           /* atomic: a keyframe went to this peer */
    struct cs_rtc_rate rate;
};

/* Where the peers hang: the pipeline and the two tees (atee NULL without
 * audio); ICE_ADDR: the one local address ICE uses, or NULL: all. */
struct rtcfeed {
    GstElement *pipe, *vtee, *atee;
    /* The payloaders' SSRCs, named in every peer's description: without
     * them webrtcbin 1.22 wrote "a=ssrc-group:FID 0 RTX" when a peer's
     * answer came before caps reached its pad, and Chromium decoded the
     * video of the unsignalled SSRC without ever showing it. */
    guint vssrc, assrc;
    const char *ice_addr;
    unsigned ice_min, ice_max;   /* UDP ports ICE may use; 0: any */
};

/* A new peer with payload types VPT and APT (APT < 0: no audio) added
 * to the feed and playing; OFFER: it will make the offer. NULL with WHY on
 * failure. */
struct rtcpeer *cs_rtcpeer_new(const struct rtcfeed *f, int vpt, int apt,
                               int offer, char *why, int whylen);

/* Answer OFFER (taken): *ANSWER (free) holds the answer with candidates.
 * 0 or a negative code with WHY. */
int cs_rtcpeer_answer(struct rtcpeer *p, GstSDPMessage *offer,
                      char **answer, char *why, int whylen);

/* Make an offer, candidates gathered: *OFFER (free). */
int cs_rtcpeer_offer(struct rtcpeer *p, char **offer, char *why,
                     int whylen);

/* Set the remote ANSWER. 0 or a negative code with WHY. */
int cs_rtcpeer_accept(struct rtcpeer *p, const char *answer, char *why,
                      int whylen);

/* 1 connected, 0 connecting, negative: failed or closed. */
int cs_rtcpeer_state(struct rtcpeer *p);

/* Counters of webrtcbin's statistics into OBJ (a cJSON object). */
void cs_rtcpeer_stats(struct rtcpeer *p, cJSON *obj);

/* Unhook from the feed and free. */
void cs_rtcpeer_free(const struct rtcfeed *f, struct rtcpeer *p);

#endif
