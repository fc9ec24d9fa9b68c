/* hls/codecs.h: RFC 6381 "codecs" strings read from the bitstream, for the
 * CODECS attribute of HLS and the codecs attribute of DASH. */
#ifndef CS_HLS_CODECS_H
#define CS_HLS_CODECS_H

#include <stddef.h>
#include <stdint.h>
#include <libavcodec/codec_par.h>

/* Write the codecs string of PAR into BUF: "avc1.64001f" from the SPS in
 * the extradata (avcC or Annex B), "hvc1.1.6.L93.B0" from the HEVC
 * profile_tier_level, "av01.0.04M.08" from the av1C record,
 * "mp4a.40.2" from the AudioSpecificConfig (or the profile), "opus",
 * "ac-3". Returns 0, or CS_EDATA when the extradata does not say. */
int cs_codecs_string(const AVCodecParameters *par, char *buf, size_t size);

/* The first sequence parameter set (H.264 type 7, HEVC type 33) in an
 * Annex B buffer, unescaped into OUT; its length, or 0 when there is none. */
int cs_codecs_sps(const uint8_t *p, size_t n, int hevc, uint8_t *out,
                  size_t size);

#endif
