/* media/encode.h: encoders from a small settings struct.
 *
 * Video GOPs are closed and fixed: a keyframe exactly every `gop` seconds
 * and nowhere else (no scene-cut keyframes), so that renditions encoded
 * separately have keyframes at the same timestamps. The caller marks those
 * frames with cs_venc_is_key() (frame->pict_type = AV_PICTURE_TYPE_I).
 */
#ifndef CS_MEDIA_ENCODE_H
#define CS_MEDIA_ENCODE_H

#include <stdint.h>

#include <libavcodec/avcodec.h>

enum cs_vcodec { CS_VCODEC_H264, CS_VCODEC_HEVC, CS_VCODEC_AV1 };
enum cs_acodec {
    CS_ACODEC_AAC,
    CS_ACODEC_OPUS,
    CS_ACODEC_NONE,
    CS_ACODEC_PCM,      /* pcm_s16le: the raw stage (no command-line name) */
};
enum cs_rc { CS_RC_CBR, CS_RC_VBR, CS_RC_CRF };

struct cs_venc_settings {
    enum cs_vcodec codec;
    int width, height;
    AVRational fps;             /* frame rate; time base is 1/fps */
    enum AVPixelFormat pix_fmt; /* AV_PIX_FMT_NONE: yuv420p */
    enum cs_rc rc;
    int64_t bitrate;            /* bits/s (cbr, vbr) */
    int64_t maxrate;            /* 0: bitrate (cbr) or 1.5 x (vbr) */
    int64_t bufsize;            /* 0: 2 x bitrate (1 x with zerolatency) */
    double crf;                 /* rc crf; < 0: codec default */
    double gop;                 /* seconds between keyframes */
    const char *preset;         /* NULL: codec default */
    int zerolatency;            /* no B-frames, no look-ahead */
    int threads;                /* 0: automatic */
    int global_header;          /* extradata out of band (mp4, mkv) */
    int hw;                     /* enum cs_hw (encode/hw.h): a hardware
                                   encoder of CODEC; 0: the software one */
};

struct cs_aenc_settings {
    enum cs_acodec codec;
    int64_t bitrate;            /* 0: 128k aac, 96k opus */
    int global_header;
    int sample_rate;            /* 0: 48000; see cs_aenc_rate() */
};

/* Parse "h264"/"hevc"/"av1" (and aliases "h265", "x264"...). */
int cs_vcodec_parse(const char *s, enum cs_vcodec *out);
int cs_acodec_parse(const char *s, enum cs_acodec *out);
int cs_rc_parse(const char *s, enum cs_rc *out);
const char *cs_vcodec_name(enum cs_vcodec c);

/* Fill S with the defaults (h264, cbr 2M, gop 2 s, 25 fps). */
void cs_venc_defaults(struct cs_venc_settings *s);

/* Open a video encoder. Errors: CS_EUSAGE for settings the encoder refuses,
 * AVERROR_ENCODER_NOT_FOUND when the library lacks it. */
int cs_venc_open(AVCodecContext **out, const struct cs_venc_settings *s);

/* Frames between keyframes. */
int cs_venc_gop_frames(const struct cs_venc_settings *s);

/* True when frame number N (from 0, at s->fps) must be a keyframe. */
int cs_venc_is_key(const struct cs_venc_settings *s, int64_t n);

/* The sample rate CODEC encodes for RATE: RATE itself when the encoder
 * takes it (AAC: the MPEG-4 rates, 7350 to 96000 Hz; Opus: 8, 12, 16, 24,
 * 48 kHz), else 48000 (which both take). */
int cs_aenc_rate(enum cs_acodec codec, int rate);

/* Open a stereo audio encoder at s->sample_rate (0: 48 kHz). */
int cs_aenc_open(AVCodecContext **out, const struct cs_aenc_settings *s);

/* Send FRAME (NULL: drain) and hand every packet that comes out to ON_PKT
 * (which may keep it with av_packet_ref/move). */
int cs_encode(AVCodecContext *enc, const AVFrame *frame,
              int (*on_pkt)(void *opaque, AVPacket *pkt), void *opaque);

#endif
