/* hls/packager.h: cs-segment's engine. One MPEG-TS or Matroska input with
 * one or more video streams (one rendition each) and audio becomes HLS
 * (MPEG-TS or fMP4/CMAF segments), Low-Latency HLS parts and a DASH MPD
 * over the same CMAF files, written to a folder, S3 or an HTTP origin. */
#ifndef CS_HLS_PACKAGER_H
#define CS_HLS_PACKAGER_H

#include "err.h"
#include "stats.h"

enum { CS_PKG_MAX_OUTPUTS = 8 };

struct cs_pkg_config {
    const char *input;          /* "-" for standard input */
    const char *output;         /* folder, s3://, http(s):// (the first
                                   output, named in messages) */
    /* every output, written alike; 0: OUTPUT alone. With several, each
     * is independent: one that fails is skipped and tried again, and the
     * run goes on while another takes the writes. */
    const char *outputs[CS_PKG_MAX_OUTPUTS];
    int noutputs;
    /* told when an output of several stops taking writes (WHY says what
     * failed) and when it takes them again (WHY is NULL); may be NULL */
    void (*on_output)(void *opaque, const char *output, const char *why);
    void *opaque;
    const char *token;          /* bearer token for HTTP, or NULL */
    int ts;                     /* MPEG-TS segments (no parts, no DASH) */
    int ll;                     /* LL-HLS parts (fMP4 only) */
    int dash;                   /* manifest.mpd (fMP4 only) */
    int vod;                    /* whole input, ENDLIST, static MPD */
    double segment;             /* target segment duration, seconds */
    double part;                /* part target, seconds */
    int window;                 /* segments kept in a live playlist */
};

/* Package until the input ends or a stop is requested. STATS (may be
 * NULL) gets a line now and then and is closed at the end. Returns 0, or a
 * negative code with the cause in ERR (caller-owned; nothing is printed):
 * CS_EUSAGE for a --segment that is not a multiple of the input's GOP,
 * CS_EDATA for input it cannot package, CS_ESTOP for a stop while the
 * input was being opened. */
int cs_pkg_run(const struct cs_pkg_config *cfg, struct cs_stats *stats,
               struct cs_err *err);

#endif
