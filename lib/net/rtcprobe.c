/* rtcprobe.c: PAT, PMT, SDT and video PES headers of the first packets,
 * enough to tell whether a TS can go over WebRTC as it is. Sections are
 * read from the packet that starts them (tables this small fit in one). */
#include "net/rtcprobe.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "net/endpoint.h"

/* About 10 s of a 2 Mb/s stream without a usable program: not TS for us. */
#define GIVE_UP_PACKETS 15000

void cs_rtcprobe_init(struct cs_rtcprobe *p, const char *rendition)
{
    memset(p, 0, sizeof(*p));
    p->rendition = rendition;
    p->chosen = -1;
    p->sdt_len = -1;
}

/* The section that starts in packet PKT (payload at OFF), or NULL; *LEN
 * is its length without the CRC, bounded by the packet. */
static const uint8_t *section(const uint8_t *pkt, int off, int *len)
{
    const uint8_t *s;
    int n;

    if (off >= CS_TS_PACKET || off + 1 + pkt[off] >= CS_TS_PACKET - 3)
        return NULL;
    s = pkt + off + 1 + pkt[off];
    n = ((s[1] & 0x0f) << 8 | s[2]) + 3 - 4;
    if (n < 8 || s + n > pkt + CS_TS_PACKET)
        return NULL;
    *len = n;
    return s;
}

static void read_pat(struct cs_rtcprobe *p, const uint8_t *s, int len)
{
    if (s[0] != 0x00 || p->pat_seen)
        return;
    for (int i = 8; i + 4 <= len && p->nprog < CS_RTCPROBE_PROGRAMS; i += 4) {
        int num = s[i] << 8 | s[i + 1];
        struct cs_rtcprobe_prog *g = &p->prog[p->nprog];

        if (num == 0)
            continue;           /* the network PID */
        memset(g, 0, sizeof(*g));
        g->number = num;
        g->pmt_pid = (s[i + 2] & 0x1f) << 8 | s[i + 3];
        g->video_pid = g->audio_pid = -1;
        p->nprog++;
    }
    p->pat_seen = 1;
}

/* A registration descriptor (5) saying 'Opus' among DESC[0..LEN). */
static int is_opus(const uint8_t *desc, int len)
{
    for (int i = 0; i + 2 <= len; i += 2 + desc[i + 1])
        if (desc[i] == 5 && desc[i + 1] >= 4 && i + 6 <= len &&
            !memcmp(desc + i + 2, "Opus", 4))
            return 1;
    return 0;
}

static void read_pmt(struct cs_rtcprobe_prog *g, const uint8_t *s, int len)
{
    int i = 12 + ((s[10] & 0x0f) << 8 | s[11]);

    for (; i + 5 <= len; ) {
        int type = s[i], pid = (s[i + 1] & 0x1f) << 8 | s[i + 2];
        int dlen = (s[i + 3] & 0x0f) << 8 | s[i + 4];
        int opus = type == 0x06 && is_opus(s + i + 5, dlen);

        if (g->video_pid < 0 && (type == 0x1b || type == 0x24 ||
                                 type == 0x02 || type == 0x10))
            g->video_pid = pid, g->video_type = type;
        else if (g->audio_pid < 0 && (opus || type == 0x0f ||
                 type == 0x11 || type == 0x03 || type == 0x04 ||
                 type == 0x81))
            g->audio_pid = pid, g->audio_type = type, g->audio_opus = opus;
        i += 5 + dlen;
    }
    g->pmt_seen = 1;
}

/* SDT: service_id and the service_name of its descriptor 0x48. */
static void read_sdt(struct cs_rtcprobe *p, const uint8_t *s, int len)
{
    if (s[0] != 0x42 || p->sdt_seen || !p->pat_seen)
        return;     /* the names go to the PAT's programs */
    for (int i = 11; i + 5 <= len; ) {
        int id = s[i] << 8 | s[i + 1];
        int dlen = (s[i + 3] & 0x0f) << 8 | s[i + 4];
        const uint8_t *d = s + i + 5;

        for (int k = 0; k + 2 <= dlen && i + 5 + dlen <= len;
             k += 2 + d[k + 1]) {
            int pl = d[k + 3], nl;

            if (d[k] != 0x48 || k + 4 + pl >= dlen)
                continue;
            nl = d[k + 4 + pl];
            for (int j = 0; j < p->nprog; j++)
                if (p->prog[j].number == id && k + 5 + pl + nl <= dlen)
                    snprintf(p->prog[j].name, sizeof(p->prog[j].name),
                             "%.*s", nl, (const char *)d + k + 5 + pl);
        }
        i += 5 + dlen;
    }
    p->sdt_seen = 1;
}

/* The SDT names every rendition, so it may span packets: gather it from
 * the packet that starts it (payload at OFF) and read it once whole. */
static void gather_sdt(struct cs_rtcprobe *p, const uint8_t *pkt, int off)
{
    int n, start = pkt[1] & 0x40;

    if (start) {
        if (off + 1 + pkt[off] >= CS_TS_PACKET)
            return;
        off += 1 + pkt[off];
        p->sdt_len = 0;
    } else if (p->sdt_len < 0) {
        return;
    }
    n = CS_TS_PACKET - off;
    if (p->sdt_len + n > (int)sizeof(p->sdt)) {
        p->sdt_len = -1;
        return;
    }
    memcpy(p->sdt + p->sdt_len, pkt + off, (size_t)n);
    p->sdt_len += n;
    n = p->sdt_len >= 3 ? ((p->sdt[1] & 0x0f) << 8 | p->sdt[2]) + 3 : 0;
    if (n >= 12 && p->sdt_len >= n) {
        read_sdt(p, p->sdt, n - 4);
        p->sdt_len = -1;
    }
}

static int64_t ts90k(const uint8_t *b)
{
    return (int64_t)(b[0] & 0x0e) << 29 | b[1] << 22 | (b[2] >> 1) << 15 |
           b[3] << 7 | b[4] >> 1;
}

static void read_pes(struct cs_rtcprobe *p, const uint8_t *b, int len)
{
    if (len < 19 || b[0] || b[1] || b[2] != 1)
        return;
    p->pes++;
    if ((b[7] >> 6) == 3 && ts90k(b + 9) != ts90k(b + 14))
        p->bframes = 1;
}

/* The program the viewers get: the rendition asked for, else the first. */
static int choose(struct cs_rtcprobe *p)
{
    if (!p->rendition)
        return p->nprog ? 0 : -1;
    if (!p->sdt_seen)
        return -1;
    for (int i = 0; i < p->nprog; i++)
        if (!strcmp(p->prog[i].name, p->rendition))
            return i;
    return -2;
}

static int refuse(struct cs_rtcprobe *p, const char *what)
{
    snprintf(p->why, sizeof(p->why), "%s cannot go over webrtc; %s", what,
             CS_RTCPROBE_FIX);
    return CS_EUSAGE;
}

static int missing(struct cs_rtcprobe *p)
{
    char names[160] = "";

    for (int i = 0; i < p->nprog; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names),
                 "%s'%s'", i ? ", " : "", p->prog[i].name);
    snprintf(p->why, sizeof(p->why), "no rendition '%s' in the stream "
             "(it has %s)", p->rendition, names[0] ? names : "none");
    return CS_EUSAGE;
}

/* Once the chosen program's PMT is read: its codecs, then B-frames. */
static int decide(struct cs_rtcprobe *p)
{
    const struct cs_rtcprobe_prog *g;

    if (p->chosen < 0 || !p->prog[p->chosen].pmt_seen)
        return 0;
    g = &p->prog[p->chosen];
    if (g->video_pid < 0)
        return refuse(p, "a stream without video");
    if (g->video_type != 0x1b)
        return refuse(p, g->video_type == 0x24 ? "h.265 video" :
                      "mpeg video");
    if (g->audio_pid >= 0 && !g->audio_opus)
        return refuse(p, g->audio_type == 0x0f || g->audio_type == 0x11 ?
                      "aac audio" : "audio other than opus");
    if (p->bframes)
        return refuse(p, "video with b-frames");
    return p->pes >= CS_RTCPROBE_PES;
}

static void read_packet(struct cs_rtcprobe *p, const uint8_t *pkt)
{
    int pid = (pkt[1] & 0x1f) << 8 | pkt[2], start = pkt[1] & 0x40;
    int off = 4 + ((pkt[3] & 0x20) ? 1 + pkt[4] : 0);
    const uint8_t *s;
    int len;

    if (pkt[0] != 0x47 || !(pkt[3] & 0x10) || off >= CS_TS_PACKET)
        return;
    if (pid == 0x11) {
        gather_sdt(p, pkt, off);
        return;
    }
    if (!start)
        return;
    if (p->chosen >= 0 && pid == p->prog[p->chosen].video_pid) {
        read_pes(p, pkt + off, CS_TS_PACKET - off);
        return;
    }
    s = pid == 0 ? section(pkt, off, &len) : NULL;
    if (s)
        read_pat(p, s, len);
    for (int i = 0; i < p->nprog; i++)
        if (pid == p->prog[i].pmt_pid && !p->prog[i].pmt_seen &&
            (s = section(pkt, off, &len)) && s[0] == 0x02)
            read_pmt(&p->prog[i], s, len);
}

int cs_rtcprobe_feed(struct cs_rtcprobe *p, const uint8_t *buf, int size)
{
    int ret = 0;

    for (int i = 0; i + CS_TS_PACKET <= size; i += CS_TS_PACKET) {
        read_packet(p, buf + i);
        p->packets++;
        if (p->chosen < 0)
            p->chosen = choose(p);
        if (p->chosen == -2)
            return missing(p);
        ret = decide(p);
        if (ret)
            return ret;
    }
    if (p->packets > GIVE_UP_PACKETS) {
        snprintf(p->why, sizeof(p->why), "no h.264 program found in the "
                 "first %lld packets", (long long)p->packets);
        return CS_EDATA;
    }
    return 0;
}
