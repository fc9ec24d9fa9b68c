/* media/captime.h: a frame's capture time, carried in the video stream.
 *
 * The wall clock (microseconds since the Unix epoch) at which a picture
 * was captured, or entered the first encoder from a live source, rides
 * with each H.264/HEVC access unit as an SEI user_data_unregistered
 * message: our UUID (CS_CAPTIME_UUID), then the time as 16 ASCII decimal
 * digits. Neither holds a zero byte, so no emulation prevention byte is
 * ever inserted and the message can be found by scanning an access unit's
 * bytes (Annex B or length-prefixed) for the UUID, without parsing NAL
 * units. On frames it is AV_FRAME_DATA_SEI_UNREGISTERED side data, which
 * libavcodec's H.264/HEVC decoders export and libx264, libx265 and NVENC
 * write (their udu_sei option, media/encode.c).
 */
#ifndef CS_MEDIA_CAPTIME_H
#define CS_MEDIA_CAPTIME_H

#include <stddef.h>
#include <stdint.h>

#include <libavcodec/packet.h>
#include <libavutil/frame.h>

#define CS_CAPTIME_UUID_LEN 16
#define CS_CAPTIME_DIGITS 16
#define CS_CAPTIME_LEN (CS_CAPTIME_UUID_LEN + CS_CAPTIME_DIGITS)

extern const uint8_t cs_captime_uuid[CS_CAPTIME_UUID_LEN];

/* The capture time FRAME carries. Returns 0 and sets *US, or CS_EDATA
 * when it carries none. */
int cs_captime_get(const AVFrame *frame, int64_t *us);

/* Make US the only user-data-unregistered message FRAME carries (others,
 * such as x264's version string from upstream, are removed). US <= 0:
 * remove them all. Returns 0 or AVERROR(ENOMEM). */
int cs_captime_set(AVFrame *frame, int64_t us);

/* Capture times of packets by presentation time, for a decoder that does
 * not hand the SEI on to its frames (FFmpeg 5.1's HEVC decoder with frame
 * threads): noted from each packet, recalled for the frame of that pts. */
#define CS_CAPTIME_RING 64

struct cs_captime_ring {
    int64_t pts[CS_CAPTIME_RING];
    int64_t us[CS_CAPTIME_RING];
    unsigned next;
};

/* Note PKT's capture time, if it carries one. */
void cs_captime_note(struct cs_captime_ring *r, const AVPacket *pkt);

/* Give FRAME the capture time noted for its pts, unless it carries one.
 * Returns 0 or AVERROR(ENOMEM). */
int cs_captime_recall(const struct cs_captime_ring *r, AVFrame *frame);

/* The capture time in an encoded access unit's bytes. Returns 0 and sets
 * *US, or CS_EDATA when there is none. */
int cs_captime_find(const uint8_t *data, size_t size, int64_t *us);

#endif
