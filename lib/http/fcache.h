/* http/fcache.h: cs-serve's open file cache. Small files served from the
 * root (parts, init segments, short segments) are kept as finished
 * responses, headers and body, so that a request for one costs a stat
 * and a send instead of an open, two fstats, a header block built anew,
 * a sendfile and a close (as nginx's open_file_cache, with the contents).
 *
 * Correctness first: an entry is served only while a stat of its path
 * shows the very file that was read (device, inode, size, modification
 * and change times to the nanosecond), so a file renamed into place or
 * rewritten is read again; and a file changed within the last 50 ms
 * (less than the kernel's timestamp granularity ago) is not kept, so
 * that a later write in place cannot leave its times unchanged. Entries
 * are filled only from files opened below the root (openat2
 * RESOLVE_BENEATH): a path that now leads elsewhere names another inode
 * and misses. Playlists and manifests are not kept here (http/live,
 * http/mcache).
 *
 * Thread-safe; a response in flight keeps its entry's bytes alive
 * (libmicrohttpd's reference count) after the entry is dropped. */
#ifndef CS_HTTP_FCACHE_H
#define CS_HTTP_FCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <microhttpd.h>

/* Segments too: libmicrohttpd 0.9.75 sends a file 128 KiB a turn of its
 * event loop, a buffer as far as the socket takes it (a 1 MiB segment,
 * wrk -c100: 1,170 answers a second from the file, 2,358 from memory,
 * nginx 2,430). 2 s of 1080p at 12 Mb/s is 3 MiB. */
#define CS_FCACHE_MAX_FILE (4 << 20)   /* larger files: sendfile */
#define CS_FCACHE_BYTES (64 << 20)

struct cs_fcache;

int cs_fcache_open(struct cs_fcache **out, size_t max_bytes);
/* Free every entry and clear *C; NULL-safe. */
void cs_fcache_close(struct cs_fcache **c);

/* Whether a file whose fstat is ST may be kept now (WALL_NS: the time
 * of day in nanoseconds). */
int cs_fcache_fits(const struct stat *st, int64_t wall_ns);

/* When REL (relative to the root) is kept and ST (a stat of it just
 * taken) shows the same file: queue its response on CONN as 200, set
 * *RES and *LEN (body bytes) and return 1; else 0. */
int cs_fcache_queue(struct cs_fcache *c, const char *rel,
                    const struct stat *st, struct MHD_Connection *conn,
                    enum MHD_Result *res, size_t *len);

/* Keep RESP, the whole-file response (LEN body bytes) for REL whose
 * fstat was ST. Takes the caller's reference to RESP in every case. */
void cs_fcache_put(struct cs_fcache *c, const char *rel,
                   const struct stat *st, struct MHD_Response *resp,
                   size_t len);

/* Entries kept, their body bytes, and lookups that hit or missed. */
void cs_fcache_stats(struct cs_fcache *c, long long *entries,
                     long long *bytes, long long *hits, long long *misses);

#endif
