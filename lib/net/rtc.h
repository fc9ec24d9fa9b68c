/* net/rtc.h: what both WebRTC sides share on top of GStreamer's webrtcbin:
 * GStreamer's start, offers checked and narrowed to the codecs the
 * toolkit carries, answers with every candidate gathered (no trickle),
 * ICE bound to chosen addresses, bounded waits on webrtcbin's promises,
 * and webrtcbin's statistics as --stats keys.
 *
 * The codecs: H.264 with packetization-mode 1 (profile-level-id 42e01f
 * preferred, as OBS and browsers offer it) and Opus 48 kHz stereo. Their
 * RTX payloads (apt=) are kept, so NACKs can be answered.
 */
#ifndef CS_NET_RTC_H
#define CS_NET_RTC_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>

/* The media of an offer (cs_rtc_offer_parse's *MEDIA). */
enum cs_rtc_media {
    CS_RTC_VIDEO = 1 << 0,  /* an H.264 video m-line */
    CS_RTC_AUDIO = 1 << 1,  /* an Opus audio m-line */
};

/* Start GStreamer once per process (thread-safe) and check that the
 * elements WebRTC needs exist. Returns 0, or CS_EUSAGE with WHY (N bytes)
 * naming what is missing (a Debian package to install). */
int cs_rtc_init(char *why, size_t n);

/* Parse the offer SDP (LEN bytes) and narrow every m-line to H.264 (video)
 * or Opus (audio) with their RTX, dropping the other payloads; *MEDIA gets
 * the media kept. Returns 0 with *OUT (free with gst_sdp_message_free), or
 * CS_EDATA with WHY set to a one-line reason for a 400: not SDP, no ICE
 * credentials, no DTLS fingerprint, no m-line, a video m-line without
 * H.264 packetization-mode 1, an audio m-line without Opus. */
int cs_rtc_offer_parse(const char *sdp, size_t len, GstSDPMessage **out,
                       unsigned *media, char *why, size_t n);

/* Gather ICE candidates on ADDR only (an IP address; NULL or "": every
 * address, libnice's default), over UDP only, with no UPnP port mapping.
 * Call before the first description is set. */
void cs_rtc_ice_bind(GstElement *webrtc, const char *addr);

/* Gather ICE candidates on UDP ports MIN to MAX only (0, 0: any port).
 * Call before the first description is set. */
void cs_rtc_ice_ports(GstElement *webrtc, unsigned min, unsigned max);

/* Let a receiving WEBRTC send its feedback (NACK, PLI) within
 * milliseconds of asking. Call before the first description is set. */
void cs_rtc_feedback_fast(GstElement *webrtc);

/* Answer OFFER (taken) on WEBRTC: set it as the remote description,
 * create the answer, set it as the local one and wait until ICE gathering
 * completes, at most TIMEOUT seconds in all. Returns 0 with *ANSWER (the
 * answer SDP with our candidates, malloc()ed), or CS_ENET with WHY set. */
int cs_rtc_answer(GstElement *webrtc, GstSDPMessage *offer, double timeout,
                  char **answer, char *why, size_t n);

/* A promise that cs_rtc_promise_wait() can wait for with a bound (free
 * with gst_promise_unref). */
GstPromise *cs_rtc_promise_new(void);

/* Wait for PROMISE (from cs_rtc_promise_new(), not taken) at most TIMEOUT
 * seconds; its reply when it was answered in time (owned by the promise),
 * or NULL (an expired wait interrupts the promise). */
const GstStructure *cs_rtc_promise_wait(GstPromise *promise, double timeout);

/* webrtcbin's statistics (get-stats, waiting at most TIMEOUT seconds) as
 * keys of OBJ, summed over the RTP streams:
 *   receiving: packets_received, packets_lost, bytes_received, bitrate_bps
 *   (over the time since the previous call, kept in *PREV), nacks_sent,
 *   plis_sent and firs_sent (keyframe requests: FIR where the sender
 *   takes it), packets_retransmitted (packets recovered by RTX);
 *   sending (when something was sent, or nothing received): packets_sent,
 *   bytes_sent, nacks_received, plis_received, packets_retransmitted (RTX
 *   sent);
 *   both: rtt_ms (the RTCP round trip; receiving, the round trip of the
 *   last retransmission when RTCP has none; absent while unknown),
 *   jitter_ms.
 * PREV (may be NULL) holds the previous bytes and time, zeroed at first. */
struct cs_rtc_rate {
    double bytes;
    gint64 us;
};
void cs_rtc_stats(GstElement *webrtc, cJSON *obj, double timeout,
                  struct cs_rtc_rate *prev);

#endif
