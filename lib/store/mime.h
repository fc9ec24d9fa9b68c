/* store/mime.h: what a file of the stream is, its Content-Type and its
 * Cache-Control: the one table used by every store that sends headers
 * (store/http.c, store/s3store.c) and by cs-serve (http/static.c).
 */
#ifndef CS_STORE_MIME_H
#define CS_STORE_MIME_H

/* What a file is, which decides how long a cache may keep it. */
enum cs_file_kind {
    CS_FILE_OTHER,      /* anything else */
    CS_FILE_PLAYLIST,   /* .m3u8: changes every part */
    CS_FILE_MANIFEST,   /* .mpd: changes every segment */
    CS_FILE_INIT,       /* init segments ("init*") */
    CS_FILE_SEGMENT,    /* media segments: never change once written */
    CS_FILE_PART,       /* LL-HLS parts ("12.3.m4s") */
    CS_FILE_STATE,      /* a packager's private restart state */
};

/* Who sends the header: the packager, storing an object that an origin
 * (S3, nginx, cs-serve's ingest) hands on as it got it, or cs-serve
 * answering a player from the files on disk. */
enum cs_cache_for {
    CS_CACHE_STORED,
    CS_CACHE_SERVED,
};

/* The kind of the file NAME ("v0/12.3.m4s", "/srv/x/init.mp4") from its
 * base name and extension; never CS_FILE_STATE. */
enum cs_file_kind cs_file_kind(const char *name);

/* The Content-Type for NAME from its extension (case-insensitive),
 * "application/octet-stream" when unknown. A static string. */
const char *cs_mime_type(const char *name);

/* The Cache-Control value for KIND as sent by WHO. A static string. */
const char *cs_cache_control(enum cs_file_kind kind, enum cs_cache_for who);

#endif
