#include "ladder/tsfix.h"

#include <string.h>

#include <libavutil/avutil.h>
#include <libavutil/mathematics.h>

#include "log.h"

static const AVRational us = { 1, 1000000 };

/* Forward steps up to this long are pauses, kept in the output. */
#define KEEP_GAP_US 30000000

void cs_tsfix_init(struct cs_tsfix *tl, int64_t max_gap_us)
{
    memset(tl, 0, sizeof(*tl));
    tl->max_gap_us = max_gap_us;
}

int cs_tsfix_fix(struct cs_tsfix *tl, int slot, AVPacket *pkt,
                    AVRational tb)
{
    int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    int64_t in_us, out_us, dur_us, off;
    int jumped = 0;

    if (ts == AV_NOPTS_VALUE)
        return 0;
    in_us = av_rescale_q(ts, tb, us);
    dur_us = pkt->duration > 0 ? av_rescale_q(pkt->duration, tb, us) : 1;
    out_us = in_us + tl->offset_us[slot];
    /* A step back, or one far ahead, is closed; a pause of up to
     * KEEP_GAP_US (a live source that stopped and came back) is kept, so
     * the packager downstream marks it instead of squeezing it out. */
    if (tl->seen[slot] && out_us > tl->next_us[slot] + tl->max_gap_us &&
        out_us <= tl->next_us[slot] + KEEP_GAP_US) {
        cs_verbose("input paused for %.3f s: the gap is kept",
                   (out_us - tl->next_us[slot]) / 1e6);
    } else if (tl->seen[slot] && (out_us < tl->last_us[slot] ||
                                  out_us > tl->next_us[slot] +
                                           tl->max_gap_us)) {
        int64_t step = out_us - tl->next_us[slot];

        tl->offset_us[slot] = tl->next_us[slot] - in_us;
        out_us = tl->next_us[slot];
        tl->jumps++;
        jumped = 1;
        cs_verbose("input timestamps jumped by %.3f s: closed the gap",
                   step / 1e6);
    }
    tl->seen[slot] = 1;
    tl->last_us[slot] = out_us;
    tl->next_us[slot] = out_us + dur_us;
    off = av_rescale_q(tl->offset_us[slot], us, tb);
    if (pkt->pts != AV_NOPTS_VALUE)
        pkt->pts += off;
    if (pkt->dts != AV_NOPTS_VALUE)
        pkt->dts += off;
    return jumped;
}
