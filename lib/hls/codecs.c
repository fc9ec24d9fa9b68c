#include "hls/codecs.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <libavcodec/avcodec.h>

#include "err.h"

/* The first NAL unit of TYPE in an Annex B buffer, with emulation
 * prevention bytes removed, into OUT (at most SIZE bytes). */
static int annexb_nal(const uint8_t *p, size_t n, int hevc, int type,
                      uint8_t *out, size_t size)
{
    for (size_t i = 0; i + 3 < n; i++) {
        size_t j, o = 0;
        int t;

        if (p[i] || p[i + 1] || p[i + 2] != 1)
            continue;
        j = i + 3;
        t = hevc ? (p[j] >> 1) & 0x3f : p[j] & 0x1f;
        if (t != type)
            continue;
        for (; j < n && o < size; j++) {
            if (j + 2 < n && !p[j] && !p[j + 1] && p[j + 2] <= 1)
                break;
            if (j >= 2 && p[j] == 3 && !p[j - 1] && !p[j - 2])
                continue;
            out[o++] = p[j];
        }
        return (int)o;
    }
    return 0;
}

static int avc(const AVCodecParameters *par, char *buf, size_t size)
{
    const uint8_t *x = par->extradata;
    uint8_t sps[16];
    int n = par->extradata_size;

    if (n >= 4 && x[0] == 1) {          /* avcC */
        memcpy(sps + 1, x + 1, 3);
    } else if (annexb_nal(x, (size_t)n, 0, 7, sps, sizeof(sps)) < 4) {
        return CS_EDATA;
    }
    snprintf(buf, size, "avc1.%02x%02x%02x", sps[1], sps[2], sps[3]);
    return 0;
}

/* general_profile_tier_level(): 12 bytes. */
static int hevc_ptl(const uint8_t *ptl, char *buf, size_t size)
{
    static const char space[] = { 0, 'A', 'B', 'C' };
    uint32_t compat = 0, rev = 0;
    char cons[32] = "";
    int last = 0, o = 0;

    for (int i = 0; i < 4; i++)
        compat = compat << 8 | ptl[1 + i];
    for (int i = 0; i < 32; i++)
        if (compat & (1u << i))
            rev |= 1u << (31 - i);
    for (int i = 0; i < 6; i++)
        if (ptl[5 + i])
            last = i + 1;
    for (int i = 0; i < last; i++)
        o += snprintf(cons + o, sizeof(cons) - o, ".%02X", ptl[5 + i]);
    if (space[ptl[0] >> 6])
        snprintf(buf, size, "hvc1.%c%d.%X.%c%d%s", space[ptl[0] >> 6],
                 ptl[0] & 0x1f, rev, ptl[0] & 0x20 ? 'H' : 'L', ptl[11],
                 cons);
    else
        snprintf(buf, size, "hvc1.%d.%X.%c%d%s", ptl[0] & 0x1f, rev,
                 ptl[0] & 0x20 ? 'H' : 'L', ptl[11], cons);
    return 0;
}

static int hevc(const AVCodecParameters *par, char *buf, size_t size)
{
    const uint8_t *x = par->extradata;
    uint8_t sps[32];
    int n = par->extradata_size;

    if (n >= 13 && x[0] == 1)           /* hvcC */
        return hevc_ptl(x + 1, buf, size);
    /* Annex B SPS: 2-byte header, then 1 byte before profile_tier_level. */
    if (annexb_nal(x, (size_t)n, 1, 33, sps, sizeof(sps)) < 15)
        return CS_EDATA;
    return hevc_ptl(sps + 3, buf, size);
}

static int av1(const AVCodecParameters *par, char *buf, size_t size)
{
    const uint8_t *x = par->extradata;
    int depth;

    if (par->extradata_size < 4 || (x[0] & 0x7f) != 1)
        return CS_EDATA;
    depth = x[2] & 0x40 ? (x[2] & 0x20 ? 12 : 10) : 8;
    snprintf(buf, size, "av01.%d.%02d%c.%02d", x[1] >> 5, x[1] & 0x1f,
             x[2] & 0x80 ? 'H' : 'M', depth);
    return 0;
}

static int aac(const AVCodecParameters *par, char *buf, size_t size)
{
    int aot;

    if (par->extradata_size >= 2) {
        aot = par->extradata[0] >> 3;
        if (aot == 31)
            aot = 32 + ((par->extradata[0] & 7) << 3 |
                        par->extradata[1] >> 5);
    } else if (par->profile != FF_PROFILE_UNKNOWN) {
        aot = par->profile + 1;
    } else {
        aot = 2;                        /* ADTS in MPEG-TS: AAC LC */
    }
    snprintf(buf, size, "mp4a.40.%d", aot);
    return 0;
}

int cs_codecs_string(const AVCodecParameters *par, char *buf, size_t size)
{
    switch (par->codec_id) {
    case AV_CODEC_ID_H264:
        return avc(par, buf, size);
    case AV_CODEC_ID_HEVC:
        return hevc(par, buf, size);
    case AV_CODEC_ID_AV1:
        return av1(par, buf, size);
    case AV_CODEC_ID_AAC:
        return aac(par, buf, size);
    case AV_CODEC_ID_OPUS:
        snprintf(buf, size, "opus");
        return 0;
    case AV_CODEC_ID_AC3:
        snprintf(buf, size, "ac-3");
        return 0;
    case AV_CODEC_ID_EAC3:
        snprintf(buf, size, "ec-3");
        return 0;
    case AV_CODEC_ID_MP3:
        snprintf(buf, size, "mp4a.40.34");
        return 0;
    default:
        return CS_EDATA;
    }
}

int cs_codecs_sps(const uint8_t *p, size_t n, int hevc, uint8_t *out,
                  size_t size)
{
    return annexb_nal(p, n, hevc, hevc ? 33 : 7, out, size);
}
