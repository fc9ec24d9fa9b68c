/* hls/memmux.h: libavformat's mp4 (fragmented, CMAF) and mpegts muxers
 * writing into memory, cut on demand.
 *
 * fMP4: the muxer runs with movflags cmaf+frag_custom+delay_moov and every
 * cs_memmux_cut() closes one fragment (moof+mdat): an LL-HLS part. The
 * init segment (ftyp+moov) is available after the first cut. MPEG-TS: the
 * bytes since the last cut, starting with PAT and PMT.
 */
#ifndef CS_HLS_MEMMUX_H
#define CS_HLS_MEMMUX_H

#include <stddef.h>
#include <stdint.h>
#include <libavformat/avformat.h>

struct cs_memmux;

/* A growable byte buffer (zero-initialised is empty). */
struct cs_buf {
    uint8_t *data;
    size_t len, cap;
};

/* Append N bytes of D to B, growing it. */
int cs_buf_append(struct cs_buf *b, const void *d, size_t n);

/* Open a muxer ("mp4" or "mpegts") for N streams with PARS, whose packets
 * come in time bases TBS. */
int cs_memmux_open(struct cs_memmux **out, const char *format,
                   AVCodecParameters *const *pars, const AVRational *tbs,
                   int n);

/* Write PKT (timestamps in the time base given at open) to stream IDX.
 * PKT is left as it was. */
int cs_memmux_write(struct cs_memmux *m, int idx, const AVPacket *pkt);

/* Close the current fragment (fMP4) and hand over the bytes written since
 * the last cut: *data is malloc'ed, owned by the caller (NULL when empty). */
int cs_memmux_cut(struct cs_memmux *m, uint8_t **data, size_t *len);

/* The init segment (fMP4, after the first cut), or NULL. Owned by M. */
const uint8_t *cs_memmux_init(const struct cs_memmux *m, size_t *len);

/* The time base the muxer chose for stream IDX (the DASH timescale). */
AVRational cs_memmux_tb(const struct cs_memmux *m, int idx);

void cs_memmux_free(struct cs_memmux **m);

/* The baseMediaDecodeTime of the first track fragment in an fMP4 fragment,
 * or -1. */
int64_t cs_fmp4_tfdt(const uint8_t *data, size_t len);

#endif
