/* tsbuf.c: TS alignment, PCR pacing, and continuity across publishers. */
#include "net/tsbuf.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "sig.h"

#define SYNC 0x47
#define TS_MASK ((INT64_C(1) << 33) - 1)
#define MAX_JUNK (64 * 1024)     /* bytes without a sync: not TS */
/* Input later than this re-anchors the clock; less late, it goes at once
 * until it has caught up. */
#define LATE_US 10000000
/* How far the clock's anchor may move earlier in all (see due_us). */
#define MAX_LEAD_US 100000

static int has_pcr(const uint8_t *p)
{
    return (p[3] & 0x20) && p[4] >= 7 && (p[5] & 0x10);
}

static int64_t get_pcr(const uint8_t *p)
{
    return ((int64_t)p[6] << 25) | (p[7] << 17) | (p[8] << 9) | (p[9] << 1) |
           (p[10] >> 7);
}

static void put_pcr(uint8_t *p, int64_t base)
{
    p[6] = (uint8_t)(base >> 25);
    p[7] = (uint8_t)(base >> 17);
    p[8] = (uint8_t)(base >> 9);
    p[9] = (uint8_t)(base >> 1);
    p[10] = (uint8_t)((p[10] & 0x7f) | ((base & 1) << 7));
}

/* CS_TS_LOCK packets in a row (or up to the end of what is held). */
static int synced_at(const uint8_t *b, int len, int at)
{
    for (int k = 0; k < CS_TS_LOCK && at + k * CS_TS_PACKET < len; k++)
        if (b[at + k * CS_TS_PACKET] != SYNC)
            return 0;
    return 1;
}

void cs_tsin_init(struct cs_tsin *in, int fd, int pace)
{
    memset(in, 0, sizeof(*in));
    in->fd = fd;
    in->pace = pace;
    in->pcr_pid = -1;
}

/* Top up the buffer; returns 0 (maybe at EOF) or a negative code. */
static int fill(struct cs_tsin *in)
{
    struct pollfd pfd[2] = {
        { .fd = in->fd, .events = POLLIN },
        { .fd = cs_sig_fd(), .events = POLLIN },
    };
    ssize_t n;

    if (in->eof || in->len >= (int)sizeof(in->buf))
        return 0;
    if (poll(pfd, pfd[1].fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
        return AVERROR(errno);
    if (cs_stopping())
        return CS_ESTOP;
    if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
        return 0;
    n = read(in->fd, in->buf + in->len, sizeof(in->buf) - (size_t)in->len);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : AVERROR(errno);
    if (n == 0)
        in->eof = 1;
    in->len += (int)n;
    return 0;
}

/* Drop bytes up to the next sync. Returns 0, 1 when more input is needed
 * to decide, or CS_EDATA when no sync comes in time. */
static int resync(struct cs_tsin *in)
{
    int at = 1, keep = CS_TS_LOCK * CS_TS_PACKET;

    while (at < in->len &&
           !(in->buf[at] == SYNC && (in->eof || in->len - at >= keep) &&
             synced_at(in->buf, in->len, at)))
        at++;
    if (at == in->len && !in->eof)
        at = in->len > keep ? in->len - keep : 0; /* a sync may follow */
    memmove(in->buf, in->buf + at, (size_t)(in->len - at));
    in->len -= at;
    in->skipped += at;
    if (at && in->synced)
        cs_warn("input lost the TS sync: skipped %d bytes", at);
    if (in->skipped > MAX_JUNK || (in->eof && !in->len && !in->synced))
        return CS_EDATA;
    if (!at && !in->eof)
        return 1;       /* nothing dropped: only more input can decide */
    return in->len < (int)sizeof(in->buf) && !in->eof &&
           (in->len < keep || in->buf[0] != SYNC);
}

/* The input's time so far is due NOW: the clock starts again. */
static void anchor(struct cs_tsin *in, int64_t now)
{
    in->t0_us = now - in->pcr_us;
    in->moved_us = now;
    in->lead_us = 0;
}

/* Follow the PCR clock: when is this packet due (monotonic us)? */
static int64_t due_us(struct cs_tsin *in, const uint8_t *p)
{
    int64_t now = cs_now_us(), pcr = get_pcr(p), d, due;

    if (in->pcr_pid < 0) {
        in->pcr_pid = cs_ts_pid(p);
        anchor(in, now);
        in->last_pcr = pcr;
        return now;
    }
    d = (pcr - in->last_pcr) & TS_MASK;
    in->last_pcr = pcr;
    if (d > 10 * 90000) {               /* a jump or a step back */
        anchor(in, now);
        d = 0;
    }
    in->pcr_us += d * 100 / 9;
    due = in->t0_us + in->pcr_us;
    /* A live input whose first packets came late (an encoder's first
     * pictures take longer) would have every later packet held by as much,
     * for good (20 to 40 ms measured). Input that comes early moves the
     * anchor earlier: by 1% of the time since the last move at most (a
     * file read at once is still paced, at 1.01x), and by MAX_LEAD_US in
     * all (so it never runs ahead of real time by more). */
    if (due > now && in->lead_us < MAX_LEAD_US) {
        int64_t step = FFMIN3(due - now, (now - in->moved_us) / 100,
                              MAX_LEAD_US - in->lead_us);

        if (step > 0) {
            in->t0_us -= step;
            in->lead_us += step;
            in->moved_us = now;
            due -= step;
        }
    }
    /* Input that is late (a stall upstream, then the burst that makes up
     * for it) goes at once, and the clock keeps its anchor: re-anchored,
     * every stall would have added its length to the latency for good
     * (5 s a time in the demo's channel). Only a stall longer than a
     * jump starts the clock again from now. */
    if (now - due > LATE_US) {
        anchor(in, now);
        due = now;
    }
    return due;
}

/* Move the whole packets in a row at the start of the buffer (as many as
 * fit in MAX) to OUT, following the PCR clock; one memmove for all. */
static int take_packets(struct cs_tsin *in, uint8_t *out, int max,
                        int64_t *due)
{
    int at = 0;

    while (at + CS_TS_PACKET <= max && in->len - at >= CS_TS_PACKET &&
           in->buf[at] == SYNC) {
        const uint8_t *p = in->buf + at;

        if (in->pace && has_pcr(p) &&
            (in->pcr_pid < 0 || cs_ts_pid(p) == in->pcr_pid))
            *due = due_us(in, p);
        at += CS_TS_PACKET;
        in->packets++;
    }
    memcpy(out, in->buf, (size_t)at);
    in->len -= at;
    memmove(in->buf, in->buf + at, (size_t)in->len);
    in->skipped = 0;
    return at;
}

/* Is there input to read without waiting? */
static int readable(const struct cs_tsin *in)
{
    struct pollfd pfd = { .fd = in->fd, .events = POLLIN };

    return in->eof || (poll(&pfd, 1, 0) > 0 && pfd.revents);
}

int cs_tsin_read(struct cs_tsin *in, uint8_t *out, int max)
{
    int n = 0, ret = 0;
    int64_t due = 0;

    while (n + CS_TS_PACKET <= max) {
        /* In sync, one packet is enough to go on, and what has come goes
         * out now: waiting to fill OUT (or to see packets ahead) held a
         * frame's last packets until the next frame came, 40 ms at 25 fps
         * on every frame of a live input. */
        int want = in->synced ? CS_TS_PACKET : CS_TS_LOCK * CS_TS_PACKET;

        if (n && in->len < CS_TS_PACKET && !readable(in))
            break;
        while (in->len < want && !in->eof && ret >= 0)
            ret = fill(in);
        if (ret < 0)
            return ret;
        if ((in->len >= CS_TS_PACKET && in->buf[0] != SYNC) ||
            (in->len && !in->synced && !synced_at(in->buf, in->len, 0))) {
            ret = resync(in);
            if (ret > 0)
                ret = fill(in);
            if (ret < 0)
                return ret;
            continue;
        }
        if (in->len < CS_TS_PACKET) {
            if (in->len && !in->synced)
                return CS_EDATA;        /* a few bytes, none of them TS */
            break;                      /* end of input */
        }
        in->synced = 1;
        n += take_packets(in, out + n, max - n, &due);
    }
    if (!n && in->len && !in->synced)
        return CS_EDATA;
    if (due && cs_sleep_until_us(due))
        return CS_ESTOP;
    return n;
}

void cs_tsout_init(struct cs_tsout *o, int fd)
{
    memset(o, 0, sizeof(*o));
    o->fd = fd;
    o->high = -1;
    o->vlast = -1;
    o->pmt_pid = -1;
    memset(o->ccdelta, -1, sizeof(o->ccdelta));
    memset(o->nextcc, -1, sizeof(o->nextcc));
}

void cs_tsout_new_session(struct cs_tsout *o)
{
    int64_t cut = cs_tshold_cut(&o->hold, o->nextcc);

    o->packets -= cut;
    o->bytes -= cut * CS_TS_PACKET;
    o->plen = 0;
    o->locked = 0;
    o->junk = 0;
    o->timed = 0;
    o->pmt_pid = -1;
    o->vlast = -1;
    if (o->session++ == 0)
        return;
    o->rebase = 1;
    memset(o->ccdelta, -1, sizeof(o->ccdelta));
}

/* Shift one timestamp by the session's offset, fixing it on the first. */
static int64_t shift_ts(struct cs_tsout *o, int64_t ts)
{
    if (o->rebase) {
        /* After the last publisher's highest time by the wall-clock time
         * that passed since its last packet (at least a 25 fps frame). */
        int64_t gap = o->last_us ? (cs_now_us() - o->last_us) * 9 / 100 : 0;

        if (gap < 3600)
            gap = 3600;
        o->offset = o->high < 0 ? 0 : (o->high + gap - ts) & TS_MASK;
        /* Whole frames: publishers of one encoder then share a frame grid
         * (a player or transcoder guessing the rate sees one rate). */
        if (o->vstep > 0)
            o->offset = (o->offset + o->vstep - 1) / o->vstep * o->vstep &
                        TS_MASK;
        o->rebase = 0;
    }
    ts = (ts + o->offset) & TS_MASK;
    if (o->high < 0 || ((ts - o->high) & TS_MASK) < (INT64_C(1) << 32))
        o->high = ts;
    return ts;
}

static int64_t get_ts(const uint8_t *b)
{
    return ((int64_t)((b[0] >> 1) & 7) << 30) | (b[1] << 22) |
           ((b[2] >> 1) << 15) | (b[3] << 7) | (b[4] >> 1);
}

static void put_ts(uint8_t *b, int64_t ts)
{
    b[0] = (uint8_t)((b[0] & 0xf1) | ((ts >> 29) & 0x0e));
    b[1] = (uint8_t)(ts >> 22);
    b[2] = (uint8_t)(((ts >> 14) & 0xfe) | 1);
    b[3] = (uint8_t)(ts >> 7);
    b[4] = (uint8_t)(((ts << 1) & 0xfe) | 1);
}

/* The frame duration of the video, from its decode times as sent (the
 * smallest step between two pictures, under a second). */
static void video_step(struct cs_tsout *o, int64_t dts)
{
    int64_t d = o->vlast < 0 ? 0 : (dts - o->vlast) & TS_MASK;

    if (d > 0 && d < 90000 && (!o->vstep || d < o->vstep))
        o->vstep = d;
    o->vlast = dts;
}

/* PTS and DTS of a PES header starting in this packet. */
static void fix_pes(struct cs_tsout *o, uint8_t *p)
{
    int at = cs_ts_payload_at(p), sid, flags;

    if (at < 0 || !(p[1] & 0x40) || at + 19 > CS_TS_PACKET)
        return;
    if (p[at] || p[at + 1] || p[at + 2] != 1)
        return;
    sid = p[at + 3];
    if (sid == 0xbc || sid == 0xbe || sid == 0xbf || sid == 0xf0 ||
        sid == 0xf1 || sid == 0xff || sid == 0xf2 || sid == 0xf8)
        return;
    flags = p[at + 7] >> 6;
    if ((sid & 0xf0) == 0xe0 && (flags & 2))
        video_step(o, get_ts(p + at + (flags == 3 ? 14 : 9)));
    if (flags & 2)
        put_ts(p + at + 9, shift_ts(o, get_ts(p + at + 9)));
    if (flags == 3)
        put_ts(p + at + 14, shift_ts(o, get_ts(p + at + 14)));
}

/* The PMT PID of the first program in a PAT section T (ROOM bytes left
 * in the packet), or -1. */
static int first_pmt(const uint8_t *t, int room)
{
    int end = 3 + (((t[1] & 0x0f) << 8) | t[2]) - 4;   /* before the CRC */

    for (int i = 8; i + 4 <= end && i + 4 <= room; i += 4)
        if (t[i] || t[i + 1])
            return ((t[i + 2] & 0x1f) << 8) | t[i + 3];
    return -1;
}

/* Follow the publisher's PAT, then its PMT: from then on its timestamps
 * are taken as a timeline. */
static void watch_psi(struct cs_tsout *o, const uint8_t *p)
{
    int pid = cs_ts_pid(p), at = cs_ts_payload_at(p);

    if (o->timed || at < 0 || !(p[1] & 0x40))
        return;
    at += 1 + p[at];                    /* the pointer field */
    if (at + 12 > CS_TS_PACKET)
        return;
    if (pid == 0 && p[at] == 0x00)
        o->pmt_pid = first_pmt(p + at, CS_TS_PACKET - at);
    else if (pid == o->pmt_pid && p[at] == 0x02)
        o->timed = 1;
}

/* Carry the counters and timeline on. Returns 0 when the packet must not
 * be written: a later publisher's stream packet (not a table: PID 0x20 and
 * up) before its PAT and PMT, whose times cannot be placed after the
 * stream's so far. */
static int fix_packet(struct cs_tsout *o, uint8_t *p)
{
    int pid = cs_ts_pid(p), cc = p[3] & 15;

    watch_psi(o, p);
    if (!o->timed && o->high >= 0 && pid >= 0x20 && pid != 0x1fff)
        return 0;
    if (!o->rebase)
        o->last_us = cs_now_us();

    if (pid == 0x1fff)
        return 1;
    if (o->ccdelta[pid] < 0)
        o->ccdelta[pid] = (int8_t)(o->nextcc[pid] < 0 ? 0
                                   : (o->nextcc[pid] - cc) & 15);
    cc = (cc + o->ccdelta[pid]) & 15;
    p[3] = (uint8_t)((p[3] & 0xf0) | cc);
    o->nextcc[pid] = (int8_t)((p[3] & 0x10) ? (cc + 1) & 15 : cc);
    if (!o->timed)
        return 1;       /* nothing timed was written: no offset to keep */
    /* Also in the first session (offset 0): it tracks the highest time,
     * which the next publisher's timestamps must follow. */
    if (has_pcr(p))
        put_pcr(p, shift_ts(o, get_pcr(p)));
    fix_pes(o, p);
    return 1;
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, b, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return AVERROR(errno);
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Where CS_TS_LOCK sync bytes 188 apart begin in B, or -1 with *DROP set
 * to the count of leading bytes that cannot begin them. */
static int find_lock(const uint8_t *b, int len, int *drop)
{
    int span = (CS_TS_LOCK - 1) * CS_TS_PACKET;

    for (int at = 0; at + span < len; at++) {
        int k = 0;

        while (k < CS_TS_LOCK && b[at + k * CS_TS_PACKET] == SYNC)
            k++;
        if (k == CS_TS_LOCK)
            return at;
    }
    *drop = len > span ? len - span : 0;
    return -1;
}

/* Drop bytes from *AT up to the next lock. Returns 0 when locked, -1 when
 * more input is needed. */
static int hunt(struct cs_tsout *o, int *at)
{
    int drop = 0, lock = find_lock(o->pend + *at, o->plen - *at, &drop);

    if (lock >= 0) {
        drop = lock;
        o->locked = 1;
    }
    *at += drop;
    o->junk += drop;
    o->skipped += drop;
    return lock >= 0 ? 0 : -1;
}

/* Write what the hold lets go (ALL: everything). */
static int let_go(struct cs_tsout *o, int all)
{
    size_t n = cs_tshold_ready(&o->hold, all);
    int ret;

    if (!n)
        return 0;
    ret = write_all(o->fd, o->hold.buf, n);
    cs_tshold_consume(&o->hold, n);
    return ret;
}

int cs_tsout_flush(struct cs_tsout *o)
{
    return let_go(o, 1);
}

void cs_tsout_free(struct cs_tsout *o)
{
    cs_tshold_free(&o->hold);
}

/* Write the whole packets held in pend, dropping what is out of sync. */
static int drain(struct cs_tsout *o)
{
    uint8_t out[CS_TS_PACKET];
    int at = 0, olen = 0, ret = 0;

    for (;;) {
        if (!o->locked && hunt(o, &at) < 0)
            break;
        if (o->plen - at < CS_TS_PACKET)
            break;
        if (o->pend[at] != SYNC) {
            o->locked = 0;              /* lost the sync: hunt again */
            continue;
        }
        memcpy(out, o->pend + at, CS_TS_PACKET);
        at += CS_TS_PACKET;
        o->junk = 0;
        if (!fix_packet(o, out)) {
            o->untimed++;
            continue;
        }
        if (ret >= 0)
            ret = cs_tshold_put(&o->hold, out);
        olen += CS_TS_PACKET;
        o->packets++;
        o->bytes += CS_TS_PACKET;
    }
    o->plen -= at;
    memmove(o->pend, o->pend + at, (size_t)o->plen);
    if (ret < 0)
        return ret;
    if (olen)
        return let_go(o, 0);
    return o->junk > MAX_JUNK ? CS_EDATA : 0;
}

int cs_tsout_write(struct cs_tsout *o, const uint8_t *buf, int n)
{
    int ret = 0;

    while (n > 0 && ret >= 0) {
        int room = (int)sizeof(o->pend) - o->plen;
        int take = n < room ? n : room;

        memcpy(o->pend + o->plen, buf, (size_t)take);
        o->plen += take;
        buf += take;
        n -= take;
        ret = drain(o);
    }
    return ret;
}
