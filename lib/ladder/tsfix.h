/* ladder/tsfix.h: one monotonic output timeline for the streams of an
 * input whose timestamps may jump (a publisher that reconnected, a
 * concatenated file, a wrapped or reset clock).
 *
 * Every packet's dts (pts when it has none), in microseconds, is checked
 * against the last one of its stream: a step back, or forward by more than
 * 30 s, is a jump, and that stream's offset is moved so that it goes on
 * right after its last packet; a step forward of max_gap_us to 30 s is a
 * pause (a live source that came back) and is kept. Each stream is corrected on its own (a
 * shared offset would swing back and forth while packets from before and
 * after the jump are still interleaved), so after a jump audio and video
 * stay in sync to within the difference of their last durations.
 */
#ifndef CS_LADDER_TSFIX_H
#define CS_LADDER_TSFIX_H

#include <stdint.h>

#include <libavcodec/packet.h>

#define CS_TSFIX_SLOTS 2

struct cs_tsfix {
    int64_t offset_us[CS_TSFIX_SLOTS]; /* added to input timestamps */
    int64_t max_gap_us;                 /* a larger step forward is a jump */
    int64_t last_us[CS_TSFIX_SLOTS]; /* last output dts per slot */
    int64_t next_us[CS_TSFIX_SLOTS]; /* last + its duration */
    int seen[CS_TSFIX_SLOTS];
    int jumps;                          /* jumps closed so far (pauses of
                                         * up to 30 s are kept, not counted) */
};

/* Start a timeline (offset 0: the input's own timestamps are kept until
 * the first jump). */
void cs_tsfix_init(struct cs_tsfix *tl, int64_t max_gap_us);

/* Check PKT (time base TB) of stream SLOT (0 .. CS_TSFIX_SLOTS-1) and
 * move its pts and dts onto the output timeline. Returns 1 when a jump was
 * closed, else 0. */
int cs_tsfix_fix(struct cs_tsfix *tl, int slot, AVPacket *pkt,
                    AVRational tb);

#endif
