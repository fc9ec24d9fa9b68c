/* net/rtcsend.h: MPEG-TS in, WebRTC out: the TS to RTP bridge and its
 * send peers, on GStreamer's webrtcbin.
 *
 * The TS bytes go into one pipeline (appsrc ! tsdemux ! h264parse !
 * rtph264pay and opusparse ! rtpopuspay); the RTP is payloaded once and a
 * tee hands it to one webrtcbin per peer, each behind a leaky queue so that
 * a slow or vanished peer never holds up the others. A peer starts at the
 * next keyframe; NACKs are answered from webrtcbin's retransmission buffer.
 * Timestamps are the TS's own (tsdemux maps PTS to RTP time); the pace is
 * the writer's.
 *
 * All functions are safe to call from several threads (the signalling
 * server's and the writer's).
 */
#ifndef CS_NET_RTCSEND_H
#define CS_NET_RTCSEND_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct cs_rtcsend;

/* Build the pipeline for PROGRAM (the TS program number the peers get),
 * with audio when AUDIO; ICE_ADDR: the one local address ICE may use
 * (NULL: every interface). Returns 0 with *OUT, or a negative code with
 * WHY (WHYLEN bytes) saying what failed. */
int cs_rtcsend_new(struct cs_rtcsend **out, int program, int audio,
                   const char *ice_addr, char *why, int whylen);

/* Peers gather ICE candidates on UDP ports MIN to MAX only (a firewall's
 * opening, or a test's relay); MIN 0: any port. Call before the first
 * peer is added: peers read it unlocked. */
void cs_rtcsend_ice_ports(struct cs_rtcsend *s, unsigned min, unsigned max);

/* Hand SIZE bytes of whole TS packets to the pipeline. 0 or a negative
 * code (the pipeline failed; why says what). */
int cs_rtcsend_push(struct cs_rtcsend *s, const uint8_t *buf, int size,
                    char *why, int whylen);

/* Non-zero once the first video RTP packet was made. */
int cs_rtcsend_live(struct cs_rtcsend *s);

/* The input ended: push the end of stream through the pipeline. */
void cs_rtcsend_eos(struct cs_rtcsend *s);

/* After cs_rtcsend_eos(): seconds until the last packet is due to leave
 * (webrtcbin sends each at its running time); more than 0 while a stream
 * has not reached its end yet, 0 once all has been handed to the peers. */
double cs_rtcsend_pending(struct cs_rtcsend *s);

/* Answer a viewer's OFFER (WHEP): a new peer, sendonly. Returns the peer's
 * id (> 0) with *ANSWER (the caller frees it with free) holding the
 * answer and the gathered candidates, or a negative code with WHY:
 * CS_EDATA for an offer that cannot be answered. */
int cs_rtcsend_answer(struct cs_rtcsend *s, const char *offer, size_t len,
                      char **answer, char *why, int whylen);

/* Make an offer (WHIP): a new peer. Returns its id with *OFFER (free),
 * or a negative code with WHY. */
int cs_rtcsend_offer(struct cs_rtcsend *s, char **offer, char *why,
                     int whylen);

/* Give peer ID the answer to its offer. 0 or a negative code with WHY. */
int cs_rtcsend_accept(struct cs_rtcsend *s, int id, const char *answer,
                      char *why, int whylen);

/* Peer ID's state: 1 connected, 0 still connecting, a negative code when
 * it failed or closed (or does not exist). */
int cs_rtcsend_state(struct cs_rtcsend *s, int id);

/* Drop peer ID (no-op when it does not exist). */
void cs_rtcsend_drop(struct cs_rtcsend *s, int id);

/* Drop the peers whose connection failed or closed; returns how many
 * peers are left. */
int cs_rtcsend_reap(struct cs_rtcsend *s);

/* Add "viewers" (the count) and "peers" (an array of each peer's
 * counters, net/rtc.h's cs_rtc_stats) to OBJ. */
void cs_rtcsend_stats(struct cs_rtcsend *s, cJSON *obj);

/* Stop the pipeline and free everything; *S is NULL afterwards. */
void cs_rtcsend_free(struct cs_rtcsend **s);

#endif
