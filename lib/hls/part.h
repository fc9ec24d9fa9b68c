/* hls/part.h: the cutter. It muxes each rendition's packets in memory and
 * decides where parts and segments end; it writes nothing itself. What it
 * cuts it reports through a sink, and the packager (packager.c) publishes
 * it: media first, then the state, then the playlists. Not a public API.
 */
#ifndef CS_HLS_PART_H
#define CS_HLS_PART_H

#include <stddef.h>
#include <stdint.h>

#include <libavformat/avformat.h>

#include "err.h"

struct cs_track;

/* Where the cutter reports. Each event gets the sink's OPAQUE and the track;
 * DATA stays the cutter's (valid during the call). A negative return ends
 * the run with that code (the sink records the cause). */
struct cs_cut_sink {
    void *opaque;
    /* T's init segment of generation T->init_gen, before its first part
     * or segment. */
    int (*init_ready)(void *opaque, struct cs_track *t, const uint8_t *data,
                      size_t len);
    /* Part PART of the open segment T->cur, already counted in its
     * T->cur.parts (LL-HLS only). */
    int (*part_done)(void *opaque, struct cs_track *t, int part,
                     const uint8_t *data, size_t len);
    /* T->cur is complete (its duration, times and size are set and T->open
     * is 0): the whole segment's bytes. */
    int (*segment_closed)(void *opaque, struct cs_track *t,
                          const uint8_t *data, size_t len);
};

/* How the packager sets the cutter up; the cutter owns nothing in it. */
struct cs_cutter {
    int ts;                     /* MPEG-TS segments (no parts), else fMP4 */
    int ll;                     /* cut LL-HLS parts */
    double segment;             /* segment target, seconds */
    double part;                /* part target, seconds */
    const AVFormatContext *in;  /* the input: aux streams' parameters */
    struct cs_cut_sink sink;
    struct cs_err *err;         /* where a cutting failure is recorded */
    int64_t dropped;            /* video frames that could not be cut */
    /* The playlists' clock minus the arrival time (the packager's wall
     * clock, on which the DASH availability timeline stays): capture time
     * (media/captime.h) minus arrival, from the newest video segment whose
     * first frame carried one (CAPTURED set); before any, the input's
     * first byte minus its first packet's release after the probe (set
     * by the packager, <= 0). Every track's segments take it (audio
     * carries none); a discontinuity clears it. */
    int64_t clock_off_us;
    int captured;
};

/* What a packet ended, so that the packager knows which playlists to
 * write (cs_track_packet returns one of these, or a negative code). */
enum cs_cut {
    CS_CUT_NONE = 0,
    CS_CUT_PART = 1,            /* a part of the open segment */
    CS_CUT_SEGMENT = 2,         /* a segment; the next one is open */
};

/* Cut T's packet PKT (T's own stream). Returns an enum cs_cut, or a
 * negative code after recording the cause in C->err: CS_EUSAGE for a
 * --segment that is not a multiple of the GOP. */
int cs_track_packet(struct cs_cutter *c, struct cs_track *t, AVPacket *pkt);
/* Queue PKT of T's aux stream (MPEG-TS: the audio muxed along). */
int cs_track_aux(struct cs_cutter *c, struct cs_track *t, AVPacket *pkt);
/* Close T's open segment at the end of the input. */
int cs_track_finish(struct cs_cutter *c, struct cs_track *t);
/* Free what the cutter holds of T (not T itself). */
void cs_track_release(struct cs_track *t);

#endif
