/* tshold.c: TS packets held until their PES is whole (see tshold.h). */
#include "net/tshold.h"

#include <errno.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/mem.h>

#define PKT 188

static struct cs_tshold_pes *find(struct cs_tshold *h, int pid, int add)
{
    for (int i = 0; i < h->npes; i++)
        if (h->pes[i].pid == pid)
            return &h->pes[i];
    if (!add || h->npes == CS_TSHOLD_PIDS)
        return NULL;
    memset(&h->pes[h->npes], 0, sizeof(h->pes[0]));
    h->pes[h->npes].pid = pid;
    return &h->pes[h->npes++];
}

/* A PES starts on PID: one of unknown length on another PID is whole.
 * Muxers write a PES in one go (tables and PCRs aside), so what the
 * publisher sent after it was never its middle. */
static void others_whole(struct cs_tshold *h, int pid)
{
    for (int i = 0; i < h->npes; i++)
        if (h->pes[i].pid != pid && !h->pes[i].need)
            h->pes[i].open = 0;
}

/* Follow the PES that packet number N (P) starts or goes on. */
static void track(struct cs_tshold *h, const uint8_t *p, int64_t n)
{
    int pid = cs_ts_pid(p), at = cs_ts_payload_at(p);
    struct cs_tshold_pes *e;

    if (pid == 0x1fff || at < 0)
        return;
    if (p[1] & 0x40) {
        int pes = at + 6 <= PKT && !p[at] && !p[at + 1] && p[at + 2] == 1;

        if (pes)
            others_whole(h, pid);
        e = find(h, pid, pes);
        if (!e)
            return;
        e->open = pes;          /* a table on this PID: nothing to hold */
        e->start = n;
        e->need = pes && (p[at + 4] || p[at + 5])
                      ? 6 + (p[at + 4] << 8 | p[at + 5]) : 0;
        e->got = 0;
        e->cc = p[3] & 15;
    } else if (!(e = find(h, pid, 0)) || !e->open) {
        return;
    }
    e->got += PKT - at;
    if (e->need && e->got >= e->need)
        e->open = 0;
}

int cs_tshold_put(struct cs_tshold *h, const uint8_t *p)
{
    if (h->len + PKT > h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64 * PKT;
        uint8_t *b = av_realloc(h->buf, cap);

        if (!b)
            return AVERROR(ENOMEM);
        h->buf = b;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, p, PKT);
    track(h, p, h->base + (int64_t)(h->len / PKT));
    h->len += PKT;
    if (h->len >= CS_TSHOLD_MAX)            /* a PES this long: let go */
        for (int i = 0; i < h->npes; i++)
            h->pes[i].open = 0;
    return 0;
}

size_t cs_tshold_ready(const struct cs_tshold *h, int all)
{
    int64_t first = h->base + (int64_t)(h->len / PKT);

    for (int i = 0; i < h->npes && !all; i++)
        if (h->pes[i].open && h->pes[i].start < first)
            first = h->pes[i].start;
    return (size_t)(first - h->base) * PKT;
}

void cs_tshold_consume(struct cs_tshold *h, size_t n)
{
    memmove(h->buf, h->buf + n, h->len - n);
    h->len -= n;
    h->base += (int64_t)(n / PKT);
}

/* Take out of the held packets those of E's PES (it is the last on its
 * PID: every packet of the PID from its start on). */
static int64_t take_out(struct cs_tshold *h, const struct cs_tshold_pes *e)
{
    size_t from = (size_t)(e->start - h->base) * PKT, to = from;
    int64_t n = 0;

    for (size_t at = from; at < h->len; at += PKT) {
        if (cs_ts_pid(h->buf + at) == e->pid) {
            n++;
            continue;
        }
        if (to != at)
            memcpy(h->buf + to, h->buf + at, PKT);
        to += PKT;
    }
    h->len = to;
    return n;
}

int64_t cs_tshold_cut(struct cs_tshold *h, int8_t *nextcc)
{
    int64_t total = 0;

    /* the latest first, so that the earlier starts keep their place */
    for (;;) {
        struct cs_tshold_pes *e = NULL;

        for (int i = 0; i < h->npes; i++)
            if (h->pes[i].open && h->pes[i].start >= h->base &&
                (!e || h->pes[i].start > e->start))
                e = &h->pes[i];
        if (!e)
            break;
        total += take_out(h, e);
        nextcc[e->pid] = (int8_t)e->cc;
        e->open = 0;
        h->cut_pes++;
    }
    for (int i = 0; i < h->npes; i++)
        h->pes[i].open = 0;
    h->cut_packets += total;
    return total;
}

void cs_tshold_free(struct cs_tshold *h)
{
    av_freep(&h->buf);
    h->len = h->cap = 0;
}
