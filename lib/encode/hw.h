/* encode/hw.h: libavcodec's hardware video encoders (NVIDIA NVENC, VA-API,
 * Intel Quick Sync), named as libavcodec names them (h264_nvenc ...), with
 * cs-encode's rate control, GOP and zero-latency settings mapped to each
 * one's own options.
 *
 * Every setting goes through one AVDictionary (cs_hw_options), so what an
 * encoder is asked for can be read and checked without the device.
 */
#ifndef CS_ENCODE_HW_H
#define CS_ENCODE_HW_H

#include <libavcodec/avcodec.h>

#include "media/encode.h"

enum cs_hw {
    CS_HW_NONE,     /* the software encoder (x264, x265, SVT-AV1) */
    CS_HW_NVENC,
    CS_HW_VAAPI,
    CS_HW_QSV,
};

/* Parse a hardware encoder's name (h264_nvenc, hevc_nvenc, av1_nvenc,
 * h264_vaapi, hevc_vaapi, h264_qsv, hevc_qsv): its codec and family.
 * CS_EUSAGE for any other name. */
int cs_hw_parse(const char *name, enum cs_vcodec *codec, enum cs_hw *hw);

/* libavcodec's name of CODEC's encoder of family HW, or NULL when there is
 * none in the table above. */
const char *cs_hw_encoder_name(enum cs_vcodec codec, enum cs_hw hw);

/* The options S maps to for encoder NAME (of family HW): the generic ones
 * (b, maxrate, bufsize, g, keyint_min, bf) and the encoder's own, as the
 * FFmpeg encoder documentation names them. *O is the caller's to free. */
int cs_hw_options(AVDictionary **o, const struct cs_venc_settings *s,
                  enum cs_hw hw);

/* Open encoder HW for S. When the encoder is not in this libavcodec:
 * AVERROR_ENCODER_NOT_FOUND; when it is but no device or driver for it
 * opens: AVERROR(ENODEV); CS_EUSAGE when it refuses the settings. The
 * encoder's pix_fmt says what frames it takes: with VA-API, hardware
 * frames (see cs_hw_upload), whose software format is *SW_FMT (the
 * pix_fmt itself for the others). */
int cs_hw_open(AVCodecContext **out, const struct cs_venc_settings *s,
               enum cs_hw hw, enum AVPixelFormat *sw_fmt);

/* FRAME as ENC takes it: a new reference to it, or with hardware frames
 * (ENC->hw_frames_ctx) a copy uploaded to the device. *OUT is the
 * caller's to free. */
int cs_hw_upload(const AVCodecContext *enc, const AVFrame *frame,
                 AVFrame **out);

#endif
