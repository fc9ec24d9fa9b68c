/* http/internal.h: what the parts of cs-serve share: the server, one
 * request, the response helpers (files.c), LL-HLS (llhls.c), ingest
 * (ingest.c), metrics (metrics.c) and the player pages (player.c). */
#ifndef CS_HTTP_INTERNAL_H
#define CS_HTTP_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "http/fcache.h"
#include "http/gate.h"
#include "http/live.h"
#include "http/mcache.h"
#include "http/server.h"

enum cs_kind {
    CS_KIND_PLAYLIST, CS_KIND_MANIFEST, CS_KIND_SEGMENT, CS_KIND_PART,
    CS_KIND_INIT, CS_KIND_PAGE, CS_KIND_OTHER, CS_KIND_INGEST,
    CS_KIND_COUNT,
};

struct cs_metrics {
    atomic_llong requests[CS_KIND_COUNT];
    atomic_llong bytes[CS_KIND_COUNT];
    atomic_llong status[6];           /* by class: 1xx .. 5xx */
    atomic_llong active;              /* open connections */
    atomic_llong blocked_total;       /* requests that had to wait */
    atomic_llong expired_total;       /* ... and got 503 */
    atomic_llong busy_total;          /* refused: --max-blocked held */
    atomic_llong streamed_total;      /* segments served as written */
    atomic_llong ingest_errors;
};

struct cs_http {
    struct cs_serve_cfg cfg;
    char root[PATH_MAX];              /* resolved */
    char assets[PATH_MAX];            /* resolved, or "" */
    int root_fd, assets_fd;           /* O_PATH folders, or -1 */
    struct MHD_Daemon *daemon;
    struct cs_gate *gate;             /* owns the listening socket */
    struct cs_live *live;
    struct cs_mcache mcache;          /* DASH manifests and their gzip */
    struct cs_fcache *fcache;         /* small files as whole responses */
    struct cs_metrics metrics;
};

enum cs_method { CS_GET, CS_HEAD, CS_PUT, CS_DELETE, CS_OPTIONS };

struct cs_req {
    struct cs_http *h;
    struct MHD_Connection *conn;
    enum cs_method method;
    enum cs_kind kind;
    /* path below the root (no '/' first) and the whole path, in PATHS
     * (allocated by cs_http_resolve; "" before) */
    const char *rel, *abs;
    char *paths;
    int ffd;                          /* the file opened by resolve, or -1 */
    struct cs_pl *pl;                 /* playlist version found ready */
    struct cs_waiter w;
    int waited;                       /* counted as blocked once */
    double target;                    /* of the hinting playlist */
    /* LL-HLS directives */
    int has_msn, has_part, skip;
    int64_t msn;
    int64_t part;
    /* ingest */
    int started;
    int fd;
    char *tmp;                        /* upload's temporary name */
    int64_t received;
    int failed;                       /* HTTP status to answer, or 0 */
};

/* files.c */
/* Map URL (already percent-decoded once by libmicrohttpd) below ROOT (a
 * resolved path; ROOT_FD the same folder opened O_PATH, or -1) into
 * R->rel and R->abs. AVERROR(ENOENT) for anything that would leave the
 * root: "..", "." or empty segments, hidden names, NUL or backslash, and
 * symbolic links resolving outside. MUST_EXIST: the file is opened into
 * R->ffd (with openat2 RESOLVE_BENEATH, so nothing can be swapped in
 * between); else only its folder is checked (for ingest and waits). */
int cs_http_resolve(const char *root, int root_fd, struct cs_req *r,
                    const char *url, int must_exist);
/* Open REL (ABS: the same below ROOT) read-only below ROOT_FD, never
 * leaving it, symbolic links included: a descriptor, or AVERROR(ENOENT). */
int cs_http_open_beneath(const char *root, int root_fd, const char *rel,
                         const char *abs);
/* Only the names: R->rel and R->abs for URL, its segments checked as
 * above, nothing looked up on disk. */
int cs_http_name(const char *root, struct cs_req *r, const char *url);
enum cs_kind cs_http_kind(const char *path);
/* True when the client's Accept-Encoding allows gzip. */
int cs_http_accepts_gzip(struct MHD_Connection *c);
/* gzip LEN bytes into a malloc'ed *OUT. */
int cs_http_gzip(const char *data, size_t len, char **out, size_t *out_len);
/* Add CORS, Age and the other headers every response carries. */
void cs_http_common(struct cs_http *h, struct MHD_Response *resp,
                    int64_t age_s);
/* Queue RESP with STATUS, count it, and release it. */
enum MHD_Result cs_http_queue(struct cs_req *r, unsigned status,
                              struct MHD_Response *resp, uint64_t bytes);
/* Count a response in the metrics (cs_http_queue does). */
void cs_http_count(struct cs_req *r, unsigned status, uint64_t bytes);
/* R may be answered from (and kept in) the file cache: a file of the
 * root, asked for whole and without validators. */
int cs_http_cacheable(const struct cs_req *r);
/* Answer R for URL from the file cache when the file there is still the
 * one kept: 1 with *RES set, else 0 (then resolve and serve as usual). */
int cs_http_cached(struct cs_req *r, const char *url, enum MHD_Result *res);
/* A short text body ("404 not found\n") with STATUS. */
enum MHD_Result cs_http_error(struct cs_req *r, unsigned status);
/* Serve a buffer (copied) with type, cache and validators; handles HEAD
 * and If-None-Match. ETAG may be NULL. */
enum MHD_Result cs_http_buffer(struct cs_req *r, const char *data,
                               size_t len, const char *type,
                               const char *cache, const char *etag,
                               int64_t mtime_s, int64_t age_s, int gz);
/* A body served without a copy: DATA stays valid until RELEASE(CLS),
 * which is called once in every case (304, errors included). */
struct cs_body {
    const char *data;
    size_t len;
    const char *type, *cache, *etag;  /* ETAG may be NULL */
    int64_t mtime_s, age_s;
    int gz;                           /* DATA is gzip-encoded */
    void (*release)(void *cls);
    void *cls;
};
enum MHD_Result cs_http_body(struct cs_req *r, const struct cs_body *b);
/* True when the request's If-None-Match / If-Modified-Since match. */
int cs_http_not_modified(struct cs_req *r, const char *etag, int64_t mtime);
enum MHD_Result cs_http_304(struct cs_req *r, const char *cache,
                            const char *etag, int64_t mtime);
/* Serve the file R->ffd (R->abs names it): ranges, validators, cache
 * headers. Takes R->ffd. */
enum MHD_Result cs_http_file(struct cs_req *r);
void cs_http_date(int64_t t, char *buf, size_t size);

/* llhls.c: a GET for a playlist (*.m3u8); PL: its current version
 * (taken), or NULL to look it up. */
enum MHD_Result cs_llhls_playlist(struct cs_req *r, struct cs_pl *pl);
/* llhls.c: a playlist request woken by a new version: answered from the
 * live table's version (no look at the disk), or blocked again. */
enum MHD_Result cs_llhls_resume(struct cs_req *r);
/* llhls.c: a GET for a missing file: wait when it is the preload hint. */
enum MHD_Result cs_llhls_hinted(struct cs_req *r);

/* stream.c: the segment R->abs ("DIR/N.EXT"), still being written part
 * by part (DIR/N.K.EXT), answered now with chunked transfer: each part as
 * it lands, then the rest of the whole segment, which ends the body. A
 * part later than three TARGET durations ends it with an error. */
enum MHD_Result cs_stream_segment(struct cs_req *r, double target);
/* stream.c: PATH names a segment "N.EXT" (N digits): its stem "DIR/N"
 * into STEM and *EXT pointing at ".EXT" in PATH; else 0. */
int cs_stream_split(const char *path, char *stem, size_t size,
                    const char **ext);
/* stream.c: the first part of segment ABS ("N.0.EXT") is on disk. */
int cs_stream_first_part(const char *abs);

/* ingest.c: PUT and DELETE */
enum MHD_Result cs_ingest(struct cs_req *r, const char *url,
                          const char *data, size_t *size);
/* The request ended (possibly aborted): drop a half-written upload. */
void cs_ingest_cleanup(struct cs_req *r);

/* metrics.c */
enum MHD_Result cs_metrics_page(struct cs_req *r);

/* player.c */
enum MHD_Result cs_player_index(struct cs_req *r);
enum MHD_Result cs_player_stream(struct cs_req *r, const char *stream);
enum MHD_Result cs_player_script(struct cs_req *r);
/* webrtc.c: the page's WebRTC (WHEP) mode */
enum MHD_Result cs_player_webrtc_script(struct cs_req *r);

#endif
