/* media/input.h: open any input (file, URL, "-" pipe, device) with probing,
 * pick its best video and audio streams, and open their decoders.
 *
 * An ISO-BMFF (mp4/mov) file whose index sits after its media data cannot
 * be decoded from a pipe: such input on "-" is spooled to a temporary file
 * first (deleted on cs_input_free).
 */
#ifndef CS_MEDIA_INPUT_H
#define CS_MEDIA_INPUT_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

enum cs_input_flags {
    CS_INPUT_VIDEO = 1 << 0,    /* want the best video stream */
    CS_INPUT_AUDIO = 1 << 1,    /* want the best audio stream */
    CS_INPUT_DECODE = 1 << 2,   /* open decoders for the chosen streams */
    CS_INPUT_LOW_DELAY = 1 << 3,/* small probe (live input) */
};

struct cs_input {
    AVFormatContext *fmt;
    int vidx;                   /* video stream index, or -1 */
    int aidx;                   /* audio stream index, or -1 */
    AVCodecContext *vdec;       /* with CS_INPUT_DECODE, else NULL */
    AVCodecContext *adec;
    char *spool;                /* temporary file holding a spooled pipe */
    int truncated;              /* set by cs_input_read: the input ended
                                   inside a packet, which was dropped */
    int64_t first_us;           /* wall clock (cs_wall_us) when the first
                                   bytes arrived, before any probing */
    AVIOContext *pipe_io;       /* internal: standard input's reader */
    AVPacket *next;             /* internal: a packet read ahead */
    int64_t end;                /* internal: where the last packet ended */
    int64_t wrap_ref;           /* internal: the last time read, in
                                   AV_TIME_BASE, for unwrap_packet() */
};

/* Open URL ("-" is stdin; "v4l2:/dev/video0" style device names go through
 * FORMAT). FORMAT forces a demuxer or device by name (NULL: probe). OPTS are
 * demuxer/protocol options (may be NULL; not consumed). The blocking I/O
 * gives up when a stop is requested (sig.h). On error nothing is left open
 * and the code says why: CS_EDATA for undecodable input, AVERROR(ENOENT)
 * for a missing file, CS_ENET for an unreachable URL, CS_EUSAGE (and only
 * then) when FORMAT names no demuxer or device. Nothing is printed. */
int cs_input_open(struct cs_input **out, const char *url, const char *format,
                  const AVDictionary *opts, unsigned flags);

/* Read the next packet (av_read_frame). AVERROR_EOF at the end. A packet
 * the end of the input cut short (a producer killed mid-frame) is not
 * returned: the read ends with AVERROR_EOF and sets in->truncated. Times
 * of a clock that wraps (MPEG-TS: 33 bits of 90 kHz, every 26.5 hours) come
 * out on one timeline, the streams' start_time too. */
int cs_input_read(struct cs_input *in, AVPacket *pkt);

/* The frame rate the video stream declares: the stream's own rate
 * (r_frame_rate, which NUT and y4m carry in their headers, as
 * av_guess_frame_rate reads it), else its measured average. Returns 0
 * with *fps set, or CS_EDATA (and 0/0) when there is no video or it
 * declares no plausible rate (none, or above 240 fps). */
int cs_input_frame_rate(const struct cs_input *in, AVRational *fps);

void cs_input_free(struct cs_input **in);

/* Open a decoder for ST (threads 0: automatic). */
int cs_decoder_open(AVCodecContext **out, const AVStream *st, int threads);

/* Send PKT (NULL: drain) to DEC and hand every frame that comes out to
 * ON_FRAME, which must not keep a reference past its return unless it
 * takes one. Stops at the first negative return of ON_FRAME. */
int cs_decode(AVCodecContext *dec, const AVPacket *pkt,
              int (*on_frame)(void *opaque, AVFrame *frame), void *opaque);

#endif
