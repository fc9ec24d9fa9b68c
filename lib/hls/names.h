/* hls/names.h: the names of the packager's files inside its output, in one
 * place for the packager, the playlists, the MPD and the state:
 *
 *   master.m3u8, manifest.mpd, cs-segment.json      at the top
 *   720p/index.m3u8                                 a rendition's playlist
 *   720p/init.mp4, 720p/init-1.mp4 ...              its init segments
 *   720p/12.m4s (or 12.ts), 720p/12.3.m4s           segment 12, its part 3
 *
 * Every function writes a NUL-terminated name into BUF (truncated to SIZE).
 */
#ifndef CS_HLS_NAMES_H
#define CS_HLS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define CS_NAME_MASTER "master.m3u8"
#define CS_NAME_MPD "manifest.mpd"
#define CS_NAME_STATE "cs-segment.json"     /* not hidden: cs-serve's ingest
                                               refuses hidden names */
#define CS_NAME_PLAYLIST "index.m3u8"       /* inside a rendition's folder */

enum { CS_NAME_MAX = 160 };                 /* enough for any of them */

/* Segment SEQ of rendition TRACK ("720p/12.m4s", "720p/12.ts" when TS), or
 * its part PART when PART >= 0 ("720p/12.3.m4s"). */
void cs_name_segment(char *buf, size_t size, const char *track, int ts,
                     int64_t seq, int part);

/* TRACK's init segment of generation GEN: "720p/init.mp4", then
 * "720p/init-1.mp4" ... after each discontinuity or restart. */
void cs_name_init(char *buf, size_t size, const char *track, int gen);

/* TRACK's media playlist: "720p/index.m3u8". */
void cs_name_playlist(char *buf, size_t size, const char *track);

/* The folder of the video rendition made from a ladder's LABEL (NULL when
 * the stream has none): the label's characters that are safe in a path
 * ([A-Za-z0-9._-], at most 32), else "vN" with N the rendition's index
 * when nothing is left, the result would be "audio" or starts with '.'. */
void cs_name_folder(char *buf, size_t size, const char *label, int n);

/* True when NAME is a segment, part or init segment name of the shape
 * above ("720p/12.m4s", "720p/12.3.m4s", "720p/init-2.mp4"): the only
 * names a restart may delete (a forged state could name anything). */
int cs_name_is_own(const char *name);

#endif
