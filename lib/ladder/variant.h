/* ladder/variant.h: the variant contract between cs-ladder, which writes
 * it, and cs-segment, which reads it. Every rung's video stream is
 * labelled twice, so the label survives any container:
 *   - stream metadata (kept by Matroska and NUT):
 *       variant_name     "720p" (the rung's name)
 *       variant_bitrate  target bits per second, "3000000"
 *       variant_width    "1280"
 *       variant_height   "720"
 *       variant_fps      frame rate as a fraction, "30/1"
 *   - an MPEG-TS program (service) per rung, holding that video stream and
 *     the audio, whose SDT service_name is the variant name and whose
 *     service_provider is "cs-ladder" followed by the same keys as
 *     " key=value" pairs (MPEG-TS keeps no per-stream metadata; libavformat
 *     reads both SDT strings back into AVProgram metadata).
 * cs_ladder_variant_get() reads either form back: it is the one reader of
 * these labels (cs-segment names its renditions' folders from it).
 */
#ifndef CS_LADDER_VARIANT_H
#define CS_LADDER_VARIANT_H

#include <stdint.h>

#include <libavformat/avformat.h>

#define CS_LADDER_KEY_NAME "variant_name"
#define CS_LADDER_KEY_BITRATE "variant_bitrate"
#define CS_LADDER_KEY_WIDTH "variant_width"
#define CS_LADDER_KEY_HEIGHT "variant_height"
#define CS_LADDER_KEY_FPS "variant_fps"
#define CS_LADDER_PROVIDER "cs-ladder"

struct cs_ladder_variant {
    char name[64];
    int64_t bitrate;        /* bits/s; 0 when unknown */
    int width, height;
    AVRational fps;         /* {0, 1} when unknown */
};

/* Label stream STREAM of FMT (before the header is written) with V, as
 * stream metadata and as an MPEG-TS program of its own. */
int cs_ladder_variant_set(AVFormatContext *fmt, int stream,
                          const struct cs_ladder_variant *v);

/* Add stream STREAM (the shared audio) to every variant program. */
int cs_ladder_variant_share(AVFormatContext *fmt, int stream);

/* Read the label of video stream STREAM of an input FMT into V: its
 * variant_name metadata, else the "cs-ladder" program that holds it and
 * no other video stream. Returns 0, or AVERROR(ENOENT) when the stream
 * carries none (or is not video). */
int cs_ladder_variant_get(const AVFormatContext *fmt, int stream,
                          struct cs_ladder_variant *v);

#endif
