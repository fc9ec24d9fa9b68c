/* net/flvts.h: one RTMP publisher's FLV audio and video tags (H.264 and
 * AAC) muxed as MPEG-TS by libavformat, into a buffer the caller drains.
 */
#ifndef CS_NET_FLVTS_H
#define CS_NET_FLVTS_H

#include <stddef.h>
#include <stdint.h>

struct cs_flvts;

/* A new muxer for one publisher. Returns 0 or AVERROR(ENOMEM). */
int cs_flvts_open(struct cs_flvts **out);

/* What the publisher's metadata announced (before its first tag). */
void cs_flvts_expect(struct cs_flvts *f, int video, int audio);

/* One FLV tag body: TYPE 8 (audio) or 9 (video), TS in milliseconds.
 * Returns 0, or CS_EDATA with WHY (SIZE bytes) saying what is wrong
 * (a codec other than H.264 and AAC, a malformed tag), or another
 * negative code. Nothing is written before the video's first keyframe. */
int cs_flvts_tag(struct cs_flvts *f, int type, uint32_t ts,
                 const uint8_t *d, size_t n, char *why, size_t size);

/* TS bytes ready: move up to SIZE of them to BUF, returning the count. */
size_t cs_flvts_take(struct cs_flvts *f, uint8_t *buf, size_t size);

/* Bytes ready to take. */
size_t cs_flvts_ready(const struct cs_flvts *f);

/* Packets and bytes muxed so far, for --stats. */
void cs_flvts_counts(const struct cs_flvts *f, int64_t *packets,
                     int64_t *bytes);

/* Write the trailer (what the muxer still holds comes out) and free;
 * NULL-safe, clears *F. Bytes not yet taken are lost: take them first
 * with cs_flvts_finish(). */
void cs_flvts_free(struct cs_flvts **f);

/* Flush the muxer at the end of the publisher's stream, so that
 * cs_flvts_take() returns the rest. */
void cs_flvts_finish(struct cs_flvts *f);

#endif
