/* net/rtcprobe.h: what WebRTC can carry, read from the first packets of
 * an MPEG-TS stream before any of it is sent.
 *
 * WebRTC carries H.264 without B-frames and Opus. The probe reads the PAT,
 * the PMTs and the SDT (where cs-ladder names each rendition's program,
 * see ladder/variant.h) and the headers of the first video PES packets of
 * the chosen program, and says whether the stream can go as it is.
 */
#ifndef CS_NET_RTCPROBE_H
#define CS_NET_RTCPROBE_H

#include <stdint.h>

#define CS_RTCPROBE_PROGRAMS 16
/* Video PES headers without a DTS apart from the PTS that make a stream
 * free of B-frames (an encoder with B-frames shows it from the first). */
#define CS_RTCPROBE_PES 8

struct cs_rtcprobe_prog {
    int number;         /* program_number */
    int pmt_pid;
    int pmt_seen;
    int video_pid;      /* -1: none */
    int video_type;     /* stream_type */
    int audio_pid;      /* -1: none */
    int audio_type;
    int audio_opus;     /* a private stream registered as 'Opus' */
    char name[64];      /* SDT service_name (cs-ladder: the rendition) */
};

struct cs_rtcprobe {
    const char *rendition;  /* wanted service name, or NULL: the first */
    int pat_seen, sdt_seen;
    int nprog;
    struct cs_rtcprobe_prog prog[CS_RTCPROBE_PROGRAMS];
    int chosen;             /* index in prog, -1 until known */
    int pes;                /* video PES headers read */
    int bframes;
    int64_t packets;
    uint8_t sdt[1024];      /* the SDT section being gathered */
    int sdt_len;            /* bytes in sdt; -1: none started */
    char why[256];          /* on refusal: what is wrong, lower case */
};

/* Start a probe for the program named RENDITION (NULL: the first). */
void cs_rtcprobe_init(struct cs_rtcprobe *p, const char *rendition);

/* Read SIZE bytes of whole TS packets. Returns 0 while undecided, 1 when
 * the stream can go over WebRTC (then p->prog[p->chosen] describes it), or
 * CS_EUSAGE with p->why saying what WebRTC cannot carry, or CS_EDATA when
 * no program was found in the first 10 s worth of packets. */
int cs_rtcprobe_feed(struct cs_rtcprobe *p, const uint8_t *buf, int size);

/* The fix named in a refusal. */
#define CS_RTCPROBE_FIX "re-encode with 'cs-encode --audio opus --tune zerolatency'"

#endif
