#include "media/captime.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>

#include "err.h"

/* No zero byte, and none of 0x01..0x03: no start-code look-alike. */
const uint8_t cs_captime_uuid[CS_CAPTIME_UUID_LEN] = {
    0x21, 0x6b, 0xbf, 0x12, 0xa7, 0x25, 0x86, 0xfb,
    0xab, 0x54, 0x6a, 0xca, 0xf5, 0x50, 0x38, 0xe3,
};

/* Our payload at P (at least CS_CAPTIME_LEN bytes): the time, or -1. */
static int64_t parse(const uint8_t *p)
{
    int64_t us = 0;

    if (memcmp(p, cs_captime_uuid, CS_CAPTIME_UUID_LEN))
        return -1;
    for (int i = CS_CAPTIME_UUID_LEN; i < CS_CAPTIME_LEN; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        us = us * 10 + (p[i] - '0');
    }
    return us > 0 ? us : -1;
}

int cs_captime_get(const AVFrame *frame, int64_t *us)
{
    for (int i = 0; i < frame->nb_side_data; i++) {
        const AVFrameSideData *sd = frame->side_data[i];
        int64_t t;

        if (sd->type != AV_FRAME_DATA_SEI_UNREGISTERED ||
            sd->size < CS_CAPTIME_LEN)
            continue;
        t = parse(sd->data);
        if (t > 0) {
            *us = t;
            return 0;
        }
    }
    return CS_EDATA;
}

int cs_captime_set(AVFrame *frame, int64_t us)
{
    AVFrameSideData *sd;
    char digits[24];

    av_frame_remove_side_data(frame, AV_FRAME_DATA_SEI_UNREGISTERED);
    if (us <= 0 || us > 9999999999999999LL)
        return 0;
    sd = av_frame_new_side_data(frame, AV_FRAME_DATA_SEI_UNREGISTERED,
                                CS_CAPTIME_LEN);
    if (!sd)
        return AVERROR(ENOMEM);
    snprintf(digits, sizeof(digits), "%016lld", (long long)us);
    memcpy(sd->data, cs_captime_uuid, CS_CAPTIME_UUID_LEN);
    memcpy(sd->data + CS_CAPTIME_UUID_LEN, digits, CS_CAPTIME_DIGITS);
    return 0;
}

int cs_captime_find(const uint8_t *data, size_t size, int64_t *us)
{
    const uint8_t *p = data, *end = data + size;

    while (p && end - p >= CS_CAPTIME_LEN) {
        int64_t t = parse(p);

        if (t > 0) {
            *us = t;
            return 0;
        }
        p = memchr(p + 1, cs_captime_uuid[0],
                   (size_t)(end - p - 1));
    }
    return CS_EDATA;
}

void cs_captime_note(struct cs_captime_ring *r, const AVPacket *pkt)
{
    int64_t us;
    unsigned i = r->next % CS_CAPTIME_RING;

    if (pkt->pts == AV_NOPTS_VALUE ||
        cs_captime_find(pkt->data, (size_t)pkt->size, &us) < 0)
        return;
    r->pts[i] = pkt->pts;
    r->us[i] = us;
    r->next++;
}

int cs_captime_recall(const struct cs_captime_ring *r, AVFrame *frame)
{
    int64_t us;

    if (frame->pts == AV_NOPTS_VALUE || cs_captime_get(frame, &us) >= 0)
        return 0;
    for (unsigned k = 1; k <= CS_CAPTIME_RING && k <= r->next; k++) {
        unsigned i = (r->next - k) % CS_CAPTIME_RING;

        if (r->pts[i] == frame->pts)
            return cs_captime_set(frame, r->us[i]);
    }
    return 0;
}
