/* net/rtpts.h: the RTP to MPEG-TS bridge of a WebRTC receiver. webrtcbin's
 * receiving pads (RTP after the jitter buffer, NACK and RTX) are depayloaded
 * (H.264 and Opus), parsed and muxed as MPEG-TS by GStreamer's mpegtsmux
 * into an appsink that the caller reads. The TS starts at a keyframe; its
 * timestamps are the publisher's clock (from its RTCP sender reports),
 * moved to start where webrtcbin put the first packet (when it came), so
 * they rise from about 0 for each publisher (net/tsbuf then makes one
 * stream across publishers).
 */
#ifndef CS_NET_RTPTS_H
#define CS_NET_RTPTS_H

#include <stdint.h>

#include <gst/gst.h>

struct cs_rtpts;

/* Add the muxer and the appsink to PIPE (a bin that owns them) for MEDIA
 * (CS_RTC_VIDEO | CS_RTC_AUDIO of net/rtc.h) received by WEBRTC (in PIPE,
 * whose rtpbin is told to mark packets with the sender's clock). Returns
 * 0, or CS_EUSAGE when an element is missing. Free with cs_rtpts_free()
 * after PIPE stopped. */
int cs_rtpts_new(struct cs_rtpts **out, GstElement *pipe, GstElement *webrtc,
                 unsigned media);

/* Link webrtcbin's new source pad PAD (from its "pad-added"), whose caps
 * say H.264 or Opus; other pads are left unlinked. Called from a streaming
 * thread. Asks the sender for a keyframe (PLI) at once and after each
 * loss. Returns 0 or a negative code. */
int cs_rtpts_link(struct cs_rtpts *b, GstPad *pad);

/* Copy up to SIZE bytes of TS into BUF, waiting at most WAIT seconds for
 * them. Returns the count, 0 when none came in time, or CS_EEMPTY when
 * the stream ended (EOS). */
int cs_rtpts_read(struct cs_rtpts *b, uint8_t *buf, int size, double wait);

/* TS bytes handed out so far. */
int64_t cs_rtpts_bytes(const struct cs_rtpts *b);

/* NULL-safe, clears *B. */
void cs_rtpts_free(struct cs_rtpts **b);

#endif
