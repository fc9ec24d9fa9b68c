/* media/mux.h: write a container to a file whole or not at all.
 *
 * A file is written under a temporary name beside it and renamed by
 * cs_mux_finish(); cs_mux_abort() (or a failure) removes it, so a reader
 * never sees half a file. "-" writes to standard output (a pipe: nothing to
 * rename), and URLs (srt://, http://) go to libavformat's protocols.
 */
#ifndef CS_MEDIA_MUX_H
#define CS_MEDIA_MUX_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

struct cs_mux;

/* Open PATH for FORMAT ("mpegts", "matroska", "nut", ...; NULL: guess from
 * the name). Nothing is written until cs_mux_start(). */
int cs_mux_open(struct cs_mux **out, const char *path, const char *format);

/* Add a stream with ENC's parameters and time base; returns its index. */
int cs_mux_add_stream(struct cs_mux *m, const AVCodecContext *enc);

/* The underlying context, for metadata and options before the header. */
AVFormatContext *cs_mux_ctx(struct cs_mux *m);

/* Write the header (OPTS: muxer options, may be NULL). */
int cs_mux_start(struct cs_mux *m, AVDictionary **opts);

/* Write PKT for stream INDEX, its timestamps in SRC_TB (interleaved, but
 * MPEG-TS on a pipe in the order written). PKT is consumed (unreferenced). */
int cs_mux_write(struct cs_mux *m, int index, AVPacket *pkt, AVRational src_tb);

/* Bytes written so far. */
int64_t cs_mux_bytes(const struct cs_mux *m);

/* Write the trailer, close, and rename into place. Frees *m either way. */
int cs_mux_finish(struct cs_mux **m);

/* Close and remove what was written (files only). Frees *m; NULL-safe. */
void cs_mux_abort(struct cs_mux **m);

#endif
