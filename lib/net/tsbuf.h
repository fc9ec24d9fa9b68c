/* net/tsbuf.h: MPEG-TS packet alignment, real-time pacing (the sending
 * side) and continuity across publishers (the receiving side).
 */
#ifndef CS_NET_TSBUF_H
#define CS_NET_TSBUF_H

#include <stdint.h>

#include "net/endpoint.h"

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
    int64_t packets;
    int64_t skipped;        /* bytes dropped to find the sync again */
};

/* Start reading FD (not owned). */
void cs_tsin_init(struct cs_tsin *in, int fd, int pace);

/* Fill OUT (room for MAX bytes, at least one packet) with whole packets,
 * waiting first until the last PCR among them is due. Returns the byte
 * count, 0 at the end of input, CS_EDATA when the input is not MPEG-TS,
 * CS_ESTOP when a stop was requested, or another negative code. */
int cs_tsin_read(struct cs_tsin *in, uint8_t *out, int max);

/* TS written to a file descriptor from one or more publishers in turn, as
 * one stream: continuity counters carry on across publishers and every
 * PCR/PTS/DTS of a later publisher is shifted to follow the earlier ones. */
struct cs_tsout {
    int fd;
    uint8_t part[CS_TS_PACKET];
    int plen;               /* bytes of a packet split across reads */
    int session;            /* publishers seen so far */
    int rebase;             /* the next timestamp fixes the offset */
    int64_t offset;         /* added to timestamps, 90 kHz, mod 2^33 */
    int64_t high;           /* highest timestamp written, -1: none */
    int64_t last_us;        /* when a packet was last written (monotonic) */
    int64_t junk;           /* bytes without a sync since the last packet */
    int8_t ccdelta[8192];   /* added to a PID's counter; -1: unknown */
    int8_t nextcc[8192];    /* the counter expected next; -1: unknown */
    int64_t packets;
    int64_t bytes;
};

void cs_tsout_init(struct cs_tsout *o, int fd);

/* A new publisher starts: what comes next continues the stream, its
 * timestamps shifted to follow the last ones by the time that passed in
 * between (a live pause stays a pause: a packager downstream marks it as a
 * discontinuity instead of squeezing it out). */
void cs_tsout_new_session(struct cs_tsout *o);

/* Align, fix and write N bytes. Returns 0, CS_EDATA when the bytes are not
 * MPEG-TS, or AVERROR(errno) when the output fails. */
int cs_tsout_write(struct cs_tsout *o, const uint8_t *buf, int n);

#endif
