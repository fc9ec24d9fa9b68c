/* net/rtmpserv.h: cs-recv's RTMP listener, a server of our own.
 *
 * One thread, one poll loop over the listening socket and every client,
 * so that a client that connects and sends nothing delays no one. Default
 * deny: a client's media reaches the output only after a `publish` whose
 * stream key is the URL's (rtmp://HOST:PORT/APP/KEY?listen=1) or one the
 * access file grants (--access); media before that, a malformed message
 * or a broken limit ends its connection with one log line, never showing
 * the key. One publisher at a time is on the output; its FLV tags come
 * out as MPEG-TS (flvts.h). With --exec (cs_rtmpserv_serve), every
 * publisher at once, each to its own stream (streams.h).
 */
#ifndef CS_NET_RTMPSERV_H
#define CS_NET_RTMPSERV_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "net/endpoint.h"

#define CS_RTMP_PER_ADDR 4      /* connections from one address at once */

struct cs_rtmpserv;

/* Listen on the endpoint's address. The URL's path is /APP (only clients
 * connecting to APP are taken) or /APP/KEY, or empty; without a KEY
 * ep->conf->access must name an access file. Returns 0, or a negative
 * code with ep->why set. */
int cs_rtmpserv_open(struct cs_rtmpserv **out, struct cs_endpoint *ep);

/* Serve clients until the publisher's TS is there: up to SIZE bytes of
 * it, 0 when the publisher's stream ended, AVERROR(ETIMEDOUT) after
 * ep->conf->timeout without a publisher, CS_ESTOP, or another negative
 * code with ep->why set. */
int cs_rtmpserv_read(struct cs_rtmpserv *s, uint8_t *buf, int size);

/* cs-recv --exec: serve every publisher at once, each to the stream its
 * key names in the access file (without --access, the URL's key names
 * the application's one stream), until a stop (CS_ESTOP) or a failure
 * (a negative code, ep->why set). Every connection is closed on return. */
struct cs_streams;
int cs_rtmpserv_serve(struct cs_rtmpserv *s, struct cs_streams *streams);

/* Let the next publisher on: the current one, if any, is dropped. */
void cs_rtmpserv_next(struct cs_rtmpserv *s);

/* Counters for --stats (never a key). */
void cs_rtmpserv_stats(struct cs_rtmpserv *s, cJSON *obj);

/* Close every connection and free; NULL-safe, clears *S. */
void cs_rtmpserv_close(struct cs_rtmpserv **s);

#endif
