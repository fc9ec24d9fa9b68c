/* stats.h: --stats FILE|-, one JSON object a line, about once a second,
 * closed by an object with "final": true. Keys carry their unit
 * (bitrate_bps, rtt_ms). "-" is standard error (standard output carries
 * media). Safe to call from several threads. Statistics are a side
 * channel: a write that fails is said once on stderr (a warning) and the
 * run goes on.
 */
#ifndef CS_STATS_H
#define CS_STATS_H

#include <cjson/cJSON.h>

struct cs_stats;

/* Open PATH (NULL: *out = NULL, and every call below is a no-op). */
int cs_stats_open(struct cs_stats **out, const char *path);

/* True at most once a second: time to emit. False for a NULL stats. */
int cs_stats_due(struct cs_stats *st);

/* Write OBJ as one line, adding "time_ms" (wall clock, ms since the epoch)
 * and "elapsed_s". Takes ownership of OBJ (also when st is NULL). */
void cs_stats_emit(struct cs_stats *st, cJSON *obj);

/* Emit FINAL (may be NULL) with "final": true, close, and clear *st. */
void cs_stats_close(struct cs_stats **st, cJSON *final);

#endif
