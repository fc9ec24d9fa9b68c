/* net/rtmpgate.h: a TCP gate that checks an RTMP publisher's stream key
 * before relaying it to libavformat's RTMP listener (see rtmpgate.c). */
#ifndef CS_NET_RTMPGATE_H
#define CS_NET_RTMPGATE_H

#include "net/endpoint.h"

struct cs_rtmpgate;

/* Listen on the endpoint's host and port; relay one client at a time to
 * 127.0.0.1:INNER, cutting off a publisher whose stream key is not KEY
 * (logged as a warning, without the key). Returns 0 or a negative code
 * with ep->why set. */
int cs_rtmpgate_start(struct cs_rtmpgate **out, struct cs_endpoint *ep,
                      int inner, const char *key);

/* Stop the gate and free it; NULL-safe, clears *g. */
void cs_rtmpgate_stop(struct cs_rtmpgate **g);

#endif
