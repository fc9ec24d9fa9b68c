/* hls/internal.h: the packager's model of its renditions, shared by the
 * packager (packager.c), its cutter (part.c) and the text it publishes
 * (playlist.c, mpd.c, state.c). Only packager.c writes to the output
 * (through output.c); the others fill buffers or report through the
 * cutter's sink (part.h).
 * Not a public API. */
#ifndef CS_HLS_INTERNAL_H
#define CS_HLS_INTERNAL_H

#include <stdint.h>
#include <libavformat/avformat.h>
#include <libavutil/bprint.h>

#include "err.h"
#include "hls/memmux.h"
#include "hls/packager.h"
#include "hls/part.h"
#include "store/store.h"

enum { CS_MAX_PARTS = 64, CS_MAX_TRACKS = 16, CS_MAX_DELETES = 4096,
       CS_AUX_QUEUE = 256, CS_MAX_STICKY = 2 * CS_MAX_TRACKS + 1 };

struct cs_part {
    double dur;
    int indep;                  /* starts with a keyframe */
};

struct cs_seg {
    int64_t seq;
    double dur;                 /* seconds */
    int64_t pdt_us;             /* wall clock of its first frame */
    int64_t clock_us;           /* EXT-X-PROGRAM-DATE-TIME of its first
                                   frame (0: pdt_us): its capture time, or
                                   its arrival from the input's first byte
                                   (part.h: clock_off_us) */
    int captured;               /* clock_us is a capture time
                                   (media/captime.h) */
    int64_t t, d;               /* start and duration, DASH timescale */
    int64_t dseq;               /* discontinuity sequence number */
    int disc;                   /* a discontinuity comes before it */
    int gap;                    /* lost to a restart: EXT-X-GAP */
    int init;                   /* init segment generation */
    int width, height;          /* picture size (video) */
    int64_t pstart_us;          /* its DASH Period's start (wall clock) */
    int64_t pto;                /* its Period's presentationTimeOffset */
    int64_t bytes;
    int nparts;
    struct cs_part parts[CS_MAX_PARTS];
};

struct cs_track {
    char name[64];              /* folder: "720p", "audio" (names.h) */
    int audio;
    int in_idx;                 /* input stream */
    int aux_idx;                /* MPEG-TS: audio muxed along, or -1 */
    AVPacket *aux_q[CS_AUX_QUEUE]; /* that audio, waiting for the video */
    int aux_n;
    AVCodecParameters *par;     /* owned */
    AVRational tb;              /* input time base */
    AVRational mtb;             /* muxer time base: DASH timescale */
    struct cs_memmux *mux;
    char codecs[96];
    int width, height;
    AVRational fps;
    int channels, rate;
    char lang[8];               /* the stream's "language", or "" */
    int init_gen;               /* init.mp4, init-1.mp4, ... */
    int init_put;               /* this generation's init is written */

    struct cs_seg *segs;        /* complete segments in the playlist */
    int nsegs, cap;
    struct cs_seg cur;          /* being written */
    int open;                   /* cur has its first packet */
    int64_t next_seq, dseq;
    int pending_disc;           /* next segment starts a discontinuity */
    int dropping;               /* frames are being dropped (said once) */
    struct cs_buf seg;          /* cur's bytes so far */

    int64_t seg_start, part_start, last_dts, last_dur;
    int64_t goal;               /* where the segment should end */
    int part_key, part_pkts;
    int64_t first_key, gop;     /* measured keyframe interval */
    int64_t anchor_us;          /* wall clock at ANCHOR_TS */
    int64_t anchor_ts;
    int64_t pstart_us, pto;     /* the current DASH Period */
    int restarted;              /* the next segment follows a restart */
    int listed;                 /* this run has written its playlist */

    int64_t peak_bps, sum_bytes;
    double sum_dur;
    int64_t total_segs;
};

/* A file written once (init segment, master playlist), kept for an
 * output that comes back (output.c). */
struct cs_sticky {
    char name[96];
    void *data;
    size_t len;
    enum cs_file_kind kind;
};

/* One output of several (output.c). */
struct cs_pkg_out {
    struct cs_store *st;
    int down;                   /* its last write failed */
    int64_t retry_us;           /* a down output is tried again from here */
    int64_t failed, skipped;    /* writes that failed, writes skipped */
};

struct cs_delete {
    char name[96];
    int64_t due_us;
};

struct cs_pkg {
    const struct cs_pkg_config *cfg;
    struct cs_err *err;         /* the caller's: the first failure */
    struct cs_cutter cut;       /* reports to packager.c */
    struct cs_pkg_out outs[CS_PKG_MAX_OUTPUTS];
    int nouts;
    struct cs_sticky sticky[CS_MAX_STICKY];
    int nsticky;
    struct cs_input *input;
    AVFormatContext *in;        /* input->fmt */
    struct cs_track tracks[CS_MAX_TRACKS];
    int ntracks;
    int atrack;                 /* the audio track, or -1 */
    int ll, dash, ts;
    int ended;                  /* input over: ENDLIST */
    int target;                 /* EXT-X-TARGETDURATION */
    int64_t ast_us;             /* DASH availabilityStartTime */
    int64_t wall0_us;           /* wall clock at ANCHOR_TS */
    int64_t anchor_ts;          /* in AV_TIME_BASE */
    int restarted;
    int reserved;               /* the state has this run's numbers */
    int state_failed;           /* the last state save failed */
    struct cs_delete *dels;
    int ndels;
    uint32_t master_hash;       /* what the last master.m3u8 said */
    struct cs_stats *stats;
    int64_t bytes_out, files_out;
    int64_t shift;              /* added to every input time, AV_TIME_BASE */
    int64_t *in_dts;            /* last decode time per input stream */
    int nin;
};

/* output.c: every write, delete and read of the output(s). With one
 * output a failure is returned as ever; with several, a write fails only
 * when no output took it (the cause in ERR), and an output that fails is
 * reported through cfg->on_output, skipped, and tried again later. */
int cs_pkg_out_open(struct cs_pkg *p);
int cs_pkg_out_put(struct cs_pkg *p, const char *name, const void *data,
                   size_t len, enum cs_file_kind kind, struct cs_err *err);
/* Delete NAME from every output that is up (failures are warned). */
void cs_pkg_out_delete(struct cs_pkg *p, const char *name);
/* 1 when an output that is up holds NAME (cs_store_stat) or cannot
 * tell, else 0. */
int cs_pkg_out_exists(struct cs_pkg *p, const char *name);
/* Read NAME from the first output that answers (cs_store_read_mem). */
int cs_pkg_out_read(struct cs_pkg *p, const char *name, size_t max,
                    char **data, size_t *len);
void cs_pkg_out_close(struct cs_pkg *p);
/* "outputs": [{output, up, failed_writes, skipped_writes}] into O when
 * there are several. */
void cs_pkg_out_stats(const struct cs_pkg *p, cJSON *o);

/* tracks.c: one track per video stream, then the audio (P->atrack).
 * Returns 0, or a negative code recorded in P->err. */
int cs_tracks_setup(struct cs_pkg *p);

/* timeline.c: decide the shift that keeps every decode time at or above
 * zero (from the probed streams, before the first packet). */
int cs_pkg_timeline_init(struct cs_pkg *p);
/* Fill PKT's missing decode time and apply the shift. */
void cs_pkg_timeline_fix(struct cs_pkg *p, AVPacket *pkt);

/* playlist.c */
void cs_playlist_media(const struct cs_pkg *p, const struct cs_track *t,
                       AVBPrint *bp);
/* Returns 0 when nothing to write yet (a rendition has no segment). */
int cs_playlist_master(const struct cs_pkg *p, AVBPrint *bp);

/* mpd.c */
void cs_mpd_write(const struct cs_pkg *p, AVBPrint *bp);

/* state.c: the text of the state a restart needs (names.h:
 * CS_NAME_STATE); packager.c reads and writes the file. */
/* P's state as JSON text (free() it), or NULL without memory. */
char *cs_state_text(const struct cs_pkg *p);

/* What a resumed run has still to do, as the last run left it. */
struct cs_state_pending {
    int64_t next_seq;           /* every rendition goes on from here */
    struct cs_delete *dels;     /* deletions it had scheduled (free()) */
    int ndels;
    /* Per track of P: the first number it had not finished (from there
     * to next_seq - 1: gaps, whose files the last run may have begun), or
     * -1 for a track the state does not name. */
    int64_t orphan_from[CS_MAX_TRACKS];
};

/* Read state TEXT back into P (ast_us; the segments, numbers and init
 * generations of each track it names, gaps listed where the last run
 * died) and fill PEND. Returns 1 when P resumes, 0 when TEXT cannot be
 * read (warned: P starts afresh), or a negative code: CS_EDATA, recorded
 * in P->err, when a field holds what no run writes (a number out of
 * range, segments out of order, more than a few gaps, a timescale of 0,
 * a deletion of a name that is not a segment's). */
int cs_state_load(struct cs_pkg *p, const char *text, size_t len,
                  struct cs_state_pending *pend);

#endif
