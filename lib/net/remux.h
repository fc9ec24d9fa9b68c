/* net/remux.h: endpoints for protocols that carry elementary streams
 * (RTMP, RTSP) through libavformat. A thread demuxes the TS that cs-send
 * writes and muxes it to the protocol, or demuxes what a peer sends and
 * muxes it as TS for cs-recv to read; a pipe joins the two sides, so that
 * these endpoints look like every other: MPEG-TS bytes in or out.
 */
#ifndef CS_NET_REMUX_H
#define CS_NET_REMUX_H

#include <libavformat/avformat.h>

#include "net/endpoint.h"

struct cs_remux;

/* Start a session for EP. Sending: TS written with cs_remux_write() goes
 * to URL in FORMAT ("flv", "rtsp"). Receiving: URL (FORMAT NULL: probe)
 * is read and comes out of cs_remux_read() as TS. OPTS are the protocol's
 * and (de)muxer's options (not consumed). One session is one peer: reads
 * return 0 after it. */
int cs_remux_start(struct cs_remux **out, struct cs_endpoint *ep,
                   const char *url, const char *format,
                   const AVDictionary *opts);

/* Like the endpoint's read and write (net/endpoint.h). */
int cs_remux_read(struct cs_remux *r, uint8_t *buf, int size);
int cs_remux_write(struct cs_remux *r, const uint8_t *buf, int size);

/* Packets and bytes through the session, for --stats. */
void cs_remux_stats(struct cs_remux *r, cJSON *obj);

/* Stop the thread and free; NULL-safe, clears *r. */
void cs_remux_stop(struct cs_remux **r);

#endif
