/* Files from the root as they are on disk: validators, byte ranges,
 * cache headers by kind; DASH manifests gzip'ed when accepted. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "http/fcache.h"
#include "http/internal.h"
#include "store/mime.h"

#define MAX_MANIFEST (8 << 20)

static const char *cache_for(const struct cs_req *r)
{
    return cs_cache_control(cs_file_kind(r->abs), CS_CACHE_SERVED);
}

/* One "bytes=" range of a file of SIZE bytes: 1 with *OFF and *LEN set,
 * 0 to send the whole file (no range, several, or not understood), -1
 * when it cannot be satisfied. */
static int parse_range(const char *h, int64_t size, int64_t *off,
                       int64_t *len)
{
    char *end;
    long long a, b;

    if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
        return 0;
    h += 6;
    if (*h == '-') {
        a = strtoll(h + 1, &end, 10);
        if (end == h + 1 || *end || a < 0)
            return 0;
        if (a == 0 || size == 0)
            return -1;
        *len = a < size ? a : size;
        *off = size - *len;
        return 1;
    }
    a = strtoll(h, &end, 10);
    if (end == h || *end != '-' || a < 0)
        return 0;
    h = end + 1;
    b = *h ? strtoll(h, &end, 10) : size - 1;
    if (*h && (*end || b < a))
        return 0;
    if (a >= size)
        return -1;
    if (b >= size)
        b = size - 1;
    *off = a;
    *len = b - a + 1;
    return 1;
}

static enum MHD_Result unsatisfiable(struct cs_req *r, int64_t size)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        0, "", MHD_RESPMEM_PERSISTENT);
    char cr[64];

    if (!resp)
        return MHD_NO;
    snprintf(cr, sizeof(cr), "bytes */%" PRId64, size);
    cs_http_common(r->h, resp, 0);
    MHD_add_response_header(resp, "Content-Range", cr);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    return cs_http_queue(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp, 0);
}

static void file_etag(const struct stat *st, char *buf, size_t size)
{
    snprintf(buf, size, "\"%llx-%llx-%llx\"", (unsigned long long)st->st_ino,
             (unsigned long long)st->st_size,
             (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
             (unsigned long long)st->st_mtim.tv_nsec);
}

static enum MHD_Result manifest(struct cs_req *r, const struct stat *st,
                                const char *etag)
{
    struct cs_blob *b;
    char tag[96];
    int use_gz = cs_http_accepts_gzip(r->conn);

    /* read and compressed once per version of the file, then shared */
    if (cs_mcache_get(&r->h->mcache, r->abs, etag, MAX_MANIFEST, &b) < 0)
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    use_gz = use_gz && b->gz;
    snprintf(tag, sizeof(tag), "%.*s%s\"", (int)strlen(etag) - 1, etag,
             use_gz ? "-gz" : "");
    return cs_http_body(r, &(struct cs_body){
        use_gz ? b->gz : b->text, use_gz ? b->gzlen : b->len,
        cs_mime_type(r->abs), cache_for(r), tag, st->st_mtim.tv_sec, 0,
        use_gz, cs_blob_unref, b });
}

static int if_range_ok(struct cs_req *r, const char *etag)
{
    const char *ir = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 "If-Range");

    return !ir || !strcmp(ir, etag);
}

static void file_headers(struct cs_req *r, struct MHD_Response *resp,
                         const struct stat *st, const char *etag)
{
    char date[64];

    cs_http_common(r->h, resp, 0);
    MHD_add_response_header(resp, "Content-Type", cs_mime_type(r->abs));
    MHD_add_response_header(resp, "Cache-Control", cache_for(r));
    MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    MHD_add_response_header(resp, "ETag", etag);
    cs_http_date(st->st_mtim.tv_sec, date, sizeof(date));
    MHD_add_response_header(resp, "Last-Modified", date);
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The whole of FD (ST its fstat), read now into a response kept by the
 * file cache, or NULL (then FD is served as usual): the file must be
 * small, settled, and the same after the read as before it. */
static struct MHD_Response *kept(struct cs_req *r, int fd,
                                 const struct stat *st)
{
    struct timespec now;
    struct stat after;
    size_t n = 0, len = (size_t)st->st_size;
    char *buf;
    ssize_t k;

    clock_gettime(CLOCK_REALTIME, &now);
    if (!r->h->fcache || !cs_http_cacheable(r) ||
        !cs_fcache_fits(st, (int64_t)now.tv_sec * 1000000000LL +
                                now.tv_nsec) ||
        !(buf = malloc(len)))
        return NULL;
    while (n < len && (k = pread(fd, buf + n, len - n, (off_t)n)) > 0)
        n += (size_t)k;
    if (n < len || fstat(fd, &after) < 0 || !same_file(st, &after)) {
        free(buf);
        return NULL;
    }
    return MHD_create_response_from_buffer_with_free_callback(len, buf,
                                                               free);
}

/* Serve the whole file from memory and keep the response. */
static enum MHD_Result serve_kept(struct cs_req *r, struct MHD_Response *resp,
                                  const struct stat *st, const char *etag)
{
    enum MHD_Result ret;

    file_headers(r, resp, st, etag);
    ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    cs_http_count(r, MHD_HTTP_OK, (uint64_t)st->st_size);
    cs_fcache_put(r->h->fcache, r->rel, st, resp, (size_t)st->st_size);
    return ret;
}

enum MHD_Result cs_http_file(struct cs_req *r)
{
    struct MHD_Response *resp;
    struct stat st;
    int64_t off = 0, len;
    char etag[80], cr[96];
    int fd, rng = 0;

    fd = r->ffd;
    r->ffd = -1;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    }
    file_etag(&st, etag, sizeof(etag));
    if (r->kind == CS_KIND_MANIFEST) {
        close(fd);
        return manifest(r, &st, etag);
    }
    len = st.st_size;
    if (cs_http_not_modified(r, etag, st.st_mtim.tv_sec)) {
        close(fd);
        return cs_http_304(r, cache_for(r), etag, st.st_mtim.tv_sec);
    }
    resp = kept(r, fd, &st);
    if (resp) {
        close(fd);
        return serve_kept(r, resp, &st, etag);
    }
    if (if_range_ok(r, etag))
        rng = parse_range(MHD_lookup_connection_value(
                              r->conn, MHD_HEADER_KIND, "Range"),
                          st.st_size, &off, &len);
    if (rng < 0) {
        close(fd);
        return unsatisfiable(r, st.st_size);
    }
    resp = len ? MHD_create_response_from_fd_at_offset64((uint64_t)len, fd,
                                                         (uint64_t)off)
               : MHD_create_response_from_buffer(0, "",
                                                 MHD_RESPMEM_PERSISTENT);
    if (!len)
        close(fd);
    if (!resp)
        return MHD_NO;
    file_headers(r, resp, &st, etag);
    if (rng > 0) {
        snprintf(cr, sizeof(cr), "bytes %" PRId64 "-%" PRId64 "/%" PRId64,
                 off, off + len - 1, (int64_t)st.st_size);
        MHD_add_response_header(resp, "Content-Range", cr);
    }
    return cs_http_queue(r, rng > 0 ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK,
                         resp, (uint64_t)len);
}
