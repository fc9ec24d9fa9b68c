/* net/tsbuf.h: MPEG-TS packet alignment, real-time pacing (the sending
 * side) and continuity across publishers (the receiving side).
 */
#ifndef CS_NET_TSBUF_H
#define CS_NET_TSBUF_H

#include <stdint.h>

#include "net/endpoint.h"
#include "net/tshold.h"

/* TS read from a file descriptor, whole packets only, paced in real time
 * by the PCR of the first PID that carries one. */
struct cs_tsin {
    int fd;
    int pace;               /* non-zero: keep the input's real-time pace */
    int eof;
    uint8_t buf[64 * CS_TS_PACKET];
    int len;                /* bytes held in buf */
    int synced;             /* the first packets were found */
    int pcr_pid;            /* -1 until a PCR is seen */
    int64_t last_pcr;       /* 90 kHz, last PCR base seen */
    int64_t pcr_us;         /* input time since t0, microseconds */
    int64_t t0_us;          /* monotonic time of input time 0 */
    int64_t moved_us;       /* when t0_us last moved earlier */
    int64_t lead_us;        /* how far it moved earlier in all */
    int64_t packets;
    int64_t skipped;        /* bytes dropped to find the sync again */
};

/* Start reading FD (not owned). */
void cs_tsin_init(struct cs_tsin *in, int fd, int pace);

/* Fill OUT (room for MAX bytes, at least one packet) with the whole
 * packets that have come (waiting for the first only), then wait until
 * the last PCR among them is due. Returns the byte
 * count, 0 at the end of input, CS_EDATA when the input is not MPEG-TS,
 * CS_ESTOP when a stop was requested, or another negative code. */
int cs_tsin_read(struct cs_tsin *in, uint8_t *out, int max);

/* Packets in a row, each starting with the sync byte, before a reader
 * takes bytes for MPEG-TS (at the start and after losing the sync): one
 * 0x47 in random data is no sign of TS, five 188 bytes apart are. */
#define CS_TS_LOCK 5

/* TS written to a file descriptor from one or more publishers in turn, as
 * one stream: continuity counters carry on across publishers and every
 * PCR/PTS/DTS of a later publisher is shifted to follow the earlier ones.
 * Bytes that do not sync as TS are dropped and counted, and a publisher's
 * timestamps count only once its PAT and PMT were seen, so that neither
 * junk nor a stream joined in the middle moves the timeline. */
struct cs_tsout {
    int fd;
    uint8_t pend[64 * CS_TS_PACKET];    /* input not yet taken */
    int plen;               /* bytes held in pend */
    int locked;             /* CS_TS_LOCK packets in a row were seen */
    int session;            /* publishers seen so far */
    int timed;              /* this publisher's PAT and PMT were seen */
    int pmt_pid;            /* from its PAT; -1: not seen yet */
    int rebase;             /* the next timestamp fixes the offset */
    int64_t offset;         /* added to timestamps, 90 kHz, mod 2^33 */
    int64_t high;           /* highest timestamp written, -1: none */
    int64_t vlast;          /* a video stream's last decode time, as sent;
                             * -1: none in this session */
    int64_t vstep;          /* its frame duration (smallest step seen);
                             * 0: unknown */
    int64_t last_us;        /* when a packet was last written (monotonic) */
    int64_t junk;           /* bytes dropped since the last packet */
    int8_t ccdelta[8192];   /* added to a PID's counter; -1: unknown */
    int8_t nextcc[8192];    /* the counter expected next; -1: unknown */
    int64_t packets;
    int64_t bytes;
    int64_t skipped;        /* bytes dropped: not in sync as TS */
    int64_t untimed;        /* packets dropped: a later publisher's,
                             * before its PAT and PMT */
    struct cs_tshold hold;  /* written packets whose PES is not whole yet;
                             * hold.cut_pes: those a publisher left cut */
};

void cs_tsout_init(struct cs_tsout *o, int fd);

/* A new publisher starts: the PES the last one left unfinished are taken
 * out (counted in hold.cut_pes and hold.cut_packets; see net/tshold.h for
 * when a PES is whole); what comes next continues the stream, its
 * timestamps shifted to follow the last ones by the time that passed in
 * between (a live pause stays a pause: a packager downstream marks it as a
 * discontinuity instead of squeezing it out), rounded up to whole video
 * frames so that the pictures stay on one frame grid. */
void cs_tsout_new_session(struct cs_tsout *o);

/* Write what is held back (the stream ends here). Returns 0 or
 * AVERROR(errno). */
int cs_tsout_flush(struct cs_tsout *o);

/* Free what cs_tsout_write() allocated (after cs_tsout_flush()). */
void cs_tsout_free(struct cs_tsout *o);

/* Align, fix and write N bytes; bytes out of sync are dropped (counted in
 * skipped, junk) until CS_TS_LOCK packets in a row bring the sync back.
 * The packets from the start of a PES not yet whole are held back (in
 * their order) until it is: about a frame of the stream.
 * Returns 0, CS_EDATA after 64 KiB without a packet (not MPEG-TS), or
 * AVERROR(errno) when the output fails. */
int cs_tsout_write(struct cs_tsout *o, const uint8_t *buf, int n);

#endif
