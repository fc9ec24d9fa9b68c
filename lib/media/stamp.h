/* media/stamp.h: the --stamp pattern, a wall-clock time in milliseconds
 * drawn across the top of a picture so that it survives scaling (down to
 * 360p and below) and lossy encoding, and can be read back exactly.
 *
 * Layout (resolution independent, so any rendition can be read):
 * - a band across the full width, from row 0, CS_STAMP_BAND_DIV-th of the
 *   height tall (at least 8 rows);
 * - CS_STAMP_CELLS equal cells across the band: cell i spans columns
 *   [i*W/52, (i+1)*W/52);
 * - cells 0,1 are white, black (start marker); cells 2..49 carry 48 bits,
 *   most significant first: the 44-bit time in ms since the Unix epoch,
 *   then a 4-bit check (XOR of the time's eleven 4-bit nibbles); cells
 *   50,51 are black, white (end marker);
 * - white is luma 235, black luma 16, chroma neutral.
 * A reader averages the middle half of each cell (both ways) and compares
 * it with the midpoint of the markers' white and black levels. The same
 * rule is implemented in JavaScript by cs-serve's player page.
 */
#ifndef CS_MEDIA_STAMP_H
#define CS_MEDIA_STAMP_H

#include <stdint.h>

#include <libavutil/frame.h>

#define CS_STAMP_CELLS 52
#define CS_STAMP_BAND_DIV 16

/* Draw MS into FRAME (8-bit planar or semi-planar YUV, or gray). Returns
 * CS_EUSAGE for other pixel formats. The frame must be writable. */
int cs_stamp_draw(AVFrame *frame, int64_t ms);

/* Read a stamp from an 8-bit luma plane of W x H. Returns 0 and sets *MS,
 * or CS_EDATA when no intact stamp is there. */
int cs_stamp_read_luma(const uint8_t *y, int linesize, int w, int h,
                       int64_t *ms);

/* Read a stamp from FRAME (its first plane must be 8-bit luma). */
int cs_stamp_read(const AVFrame *frame, int64_t *ms);

#endif
