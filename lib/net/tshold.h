/* net/tshold.h: TS packets held back, in their order, until the PES each
 * belongs to is known to be whole, so that the PES a publisher left
 * unfinished can be taken out before the next publisher's stream joins.
 */
#ifndef CS_NET_TSHOLD_H
#define CS_NET_TSHOLD_H

#include <stddef.h>
#include <stdint.h>

/* The PID of the TS packet P. */
static inline int cs_ts_pid(const uint8_t *p)
{
    return ((p[1] & 0x1f) << 8) | p[2];
}

/* The offset of the 188-byte TS packet P's payload, or -1 when it has
 * none. */
static inline int cs_ts_payload_at(const uint8_t *p)
{
    int at = 4;

    if (!(p[3] & 0x10))
        return -1;
    if (p[3] & 0x20)
        at += 1 + p[4];
    return at < 188 ? at : -1;
}

#define CS_TSHOLD_PIDS 16       /* PES PIDs followed; more pass unheld */
#define CS_TSHOLD_MAX (8 << 20) /* bytes held at most: past them, all go */

/* The PES last started on a PID. It is whole once PES_packet_length bytes
 * came; one of length 0 (video) once a PES starts on any PID: muxers write
 * a PES in one go, so a publisher that left in the middle of one sent
 * nothing of another after it. (Video alone: at the next picture.) */
struct cs_tshold_pes {
    int pid;
    int open;               /* started and not known to be whole */
    int64_t start;          /* number of its first packet */
    int need;               /* bytes of the PES; 0: unbounded */
    int got;                /* bytes of it seen */
    uint8_t cc;             /* continuity counter of its first packet */
};

struct cs_tshold {
    uint8_t *buf;           /* packets held, in the order they came */
    size_t len, cap;
    int64_t base;           /* number of the packet at buf[0] */
    struct cs_tshold_pes pes[CS_TSHOLD_PIDS];
    int npes;
    int64_t cut_pes;        /* unfinished PES taken out */
    int64_t cut_packets;    /* their packets */
};

/* Hold the 188-byte packet P. Returns 0 or AVERROR(ENOMEM). */
int cs_tshold_put(struct cs_tshold *h, const uint8_t *p);

/* Bytes at the front of h->buf that may be written: those before the
 * first packet of an open PES (ALL: every one). */
size_t cs_tshold_ready(const struct cs_tshold *h, int all);

/* N bytes from the front were written. */
void cs_tshold_consume(struct cs_tshold *h, size_t n);

/* The publisher left: take out every open PES, setting NEXTCC (the
 * counter expected next, by PID) back to its first packet's so that the
 * next publisher's packets follow the last ones written. Returns the
 * number of packets taken out. */
int64_t cs_tshold_cut(struct cs_tshold *h, int8_t *nextcc);

void cs_tshold_free(struct cs_tshold *h);

#endif
