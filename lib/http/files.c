/* Paths below the root, types, validators, ranges and the response
 * helpers every part of cs-serve uses. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/openat2.h>

#define ZLIB_CONST
#include <zlib.h>

#include "err.h"
#include "http/fcache.h"
#include "http/internal.h"
#include "store/mime.h"

static int within(const char *root, const char *path)
{
    size_t n = strlen(root);

    return !strncmp(path, root, n) && (path[n] == '/' || path[n] == 0);
}

/* Each segment non-empty, not hidden (no ".", "..", temporaries), no
 * backslash; a trailing '/' is allowed. */
static int clean_segments(const char *p)
{
    while (*p) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);

        if ((n == 0 && e) || n > 255 || p[0] == '.' || memchr(p, '\\', n))
            return 0;
        p += n + (e ? 1 : 0);
    }
    return 1;
}

/* The nearest existing ancestor of PATH must resolve inside ROOT. */
static int parent_within(const char *root, const char *path)
{
    char buf[PATH_MAX * 2], real[PATH_MAX];
    char *slash;

    snprintf(buf, sizeof(buf), "%s", path);
    while ((slash = strrchr(buf, '/')) && slash > buf) {
        *slash = 0;
        if (realpath(buf, real))
            return within(root, real);
        if (errno != ENOENT)
            return 0;
    }
    return 0;
}

/* Open REL below ROOT_FD, never leaving it (symbolic links included);
 * without openat2 (before Linux 5.6), resolve the path and check it. */
int cs_http_open_beneath(const char *root, int root_fd, const char *rel,
                         const char *abs)
{
    struct open_how how = {
        .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    char real[PATH_MAX];
    long fd = -1;

    if (root_fd >= 0) {
        fd = syscall(SYS_openat2, root_fd, *rel ? rel : ".", &how,
                     sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return fd >= 0 ? (int)fd : AVERROR(ENOENT);
    }
    if (!realpath(abs, real) || !within(root, real))
        return AVERROR(ENOENT);
    fd = open(real, (int)how.flags);
    return fd >= 0 ? (int)fd : AVERROR(ENOENT);
}

/* R's waiter watches the folder of R->rel by pointer: moved with it to
 * PATHS (a request resolved again is never waiting meanwhile). */
static void repoint_waiter(struct cs_req *r, const char *paths)
{
    const char *slash;

    if (!r->paths || r->w.dir != r->rel)
        return;
    slash = strrchr(paths, '/');
    r->w.dir = paths;
    r->w.dirlen = slash ? (size_t)(slash - paths) : 0;
}

int cs_http_name(const char *root, struct cs_req *r, const char *url)
{
    size_t ul, rl = strlen(root);
    char *paths;

    while (*url == '/')
        url++;
    ul = strlen(url);
    if (!clean_segments(url) || rl + 1 + ul >= PATH_MAX)
        return AVERROR(ENOENT);
    /* sized to the request, not PATH_MAX twice: a held request is small */
    paths = malloc(ul + 1 + rl + 1 + ul + 1);
    if (!paths)
        return AVERROR(ENOMEM);
    memcpy(paths, url, ul + 1);
    memcpy(paths + ul + 1, root, rl);
    paths[ul + 1 + rl] = '/';
    memcpy(paths + ul + 1 + rl + 1, url, ul + 1);
    repoint_waiter(r, paths);
    free(r->paths);          /* after the copy: URL may have been in it */
    r->paths = paths;
    r->rel = paths;
    r->abs = paths + ul + 1;
    return 0;
}

int cs_http_resolve(const char *root, int root_fd, struct cs_req *r,
                    const char *url, int must_exist)
{
    int fd = cs_http_name(root, r, url);

    if (fd < 0)
        return fd;
    if (!must_exist)
        return parent_within(root, r->abs) ? 0 : AVERROR(ENOENT);
    fd = cs_http_open_beneath(root, root_fd, r->rel, r->abs);
    if (fd < 0)
        return fd;
    if (r->ffd >= 0)
        close(r->ffd);
    r->ffd = fd;
    return 0;
}

/* The kinds of mime.h, for the metrics' counters. */
enum cs_kind cs_http_kind(const char *path)
{
    static const enum cs_kind by_file[] = {
        [CS_FILE_OTHER] = CS_KIND_OTHER,
        [CS_FILE_PLAYLIST] = CS_KIND_PLAYLIST,
        [CS_FILE_MANIFEST] = CS_KIND_MANIFEST,
        [CS_FILE_INIT] = CS_KIND_INIT,
        [CS_FILE_SEGMENT] = CS_KIND_SEGMENT,
        [CS_FILE_PART] = CS_KIND_PART,
        [CS_FILE_STATE] = CS_KIND_OTHER,
    };

    return by_file[cs_file_kind(path)];
}

int cs_http_accepts_gzip(struct MHD_Connection *c)
{
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 "Accept-Encoding");
    const char *p = ae ? strstr(ae, "gzip") : NULL;
    const char *q;

    if (!p)
        return 0;
    q = p + 4;
    while (*q == ' ')
        q++;
    if (*q == ';') {
        q = strstr(q, "q=");
        if (q && strtod(q + 2, NULL) <= 0)
            return 0;
    }
    return 1;
}

int cs_http_gzip(const char *data, size_t len, char **out, size_t *out_len)
{
    z_stream z = { 0 };
    char *buf = NULL;
    int ret = AVERROR(ENOMEM);

    *out = NULL;
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return AVERROR(ENOMEM);
    buf = malloc(deflateBound(&z, len) + 32);
    if (!buf)
        goto out;
    z.next_in = (const Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)(deflateBound(&z, len) + 32);
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        ret = AVERROR_BUG;
        goto out;
    }
    *out = buf;
    *out_len = z.total_out;
    buf = NULL;
    ret = 0;
out:
    deflateEnd(&z);
    free(buf);
    return ret;
}

void cs_http_date(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int64_t parse_date(const char *s)
{
    struct tm tm = { 0 };

    if (!s || !strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm))
        return -1;
    return (int64_t)timegm(&tm);
}

void cs_http_common(struct cs_http *h, struct MHD_Response *resp,
                    int64_t age_s)
{
    char age[32];

    snprintf(age, sizeof(age), "%lld", (long long)(age_s > 0 ? age_s : 0));
    MHD_add_response_header(resp, "Access-Control-Allow-Origin",
                            h->cfg.cors_origin);
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            "Age, Content-Length, Content-Range, Date, "
                            "ETag, Last-Modified");
    MHD_add_response_header(resp, "Age", age);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
}

void cs_http_count(struct cs_req *r, unsigned status, uint64_t bytes)
{
    struct cs_metrics *m = &r->h->metrics;

    atomic_fetch_add(&m->requests[r->kind], 1);
    if (r->method != CS_HEAD)
        atomic_fetch_add(&m->bytes[r->kind], (long long)bytes);
    if (status >= 100 && status < 600)
        atomic_fetch_add(&m->status[status / 100], 1);
}

enum MHD_Result cs_http_queue(struct cs_req *r, unsigned status,
                              struct MHD_Response *resp, uint64_t bytes)
{
    enum MHD_Result ret;

    if (!resp)
        return MHD_NO;
    ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    cs_http_count(r, status, bytes);
    return ret;
}

int cs_http_cacheable(const struct cs_req *r)
{
    struct MHD_Connection *c = r->conn;

    if (r->kind != CS_KIND_PART && r->kind != CS_KIND_SEGMENT &&
        r->kind != CS_KIND_INIT && r->kind != CS_KIND_OTHER)
        return 0;
    return !MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range") &&
           !MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                        "If-None-Match") &&
           !MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                        "If-Modified-Since");
}

int cs_http_cached(struct cs_req *r, const char *url, enum MHD_Result *res)
{
    struct stat st;
    size_t len;

    while (*url == '/')
        url++;
    if (!r->h->fcache || r->h->root_fd < 0 || !*url ||
        strlen(r->h->root) + 1 + strlen(url) >= PATH_MAX ||
        !clean_segments(url) || !cs_http_cacheable(r))
        return 0;
    /* the stat may follow a link out of the root: it is only compared
     * with a file that was read below it */
    if (fstatat(r->h->root_fd, url, &st, 0) < 0 || !S_ISREG(st.st_mode) ||
        !cs_fcache_queue(r->h->fcache, url, &st, r->conn, res, &len))
        return 0;
    cs_http_count(r, MHD_HTTP_OK, len);
    return 1;
}

enum MHD_Result cs_http_error(struct cs_req *r, unsigned status)
{
    char body[96];
    int n = snprintf(body, sizeof(body), "%u %s\n", status,
                     MHD_get_reason_phrase_for(status));
    struct MHD_Response *resp;

    if (status == MHD_HTTP_NO_CONTENT || status == MHD_HTTP_NOT_MODIFIED)
        n = 0;
    resp = MHD_create_response_from_buffer((size_t)n, body,
                                           MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    cs_http_common(r->h, resp, 0);
    MHD_add_response_header(resp, "Content-Type",
                            "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, "Allow", r->h->cfg.ingest_token ?
                                "GET, HEAD, OPTIONS, PUT, DELETE" :
                                "GET, HEAD, OPTIONS");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, "Retry-After", "1");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, "WWW-Authenticate",
                                "Bearer realm=\"cs-serve ingest\"");
    return cs_http_queue(r, status, resp, (uint64_t)n);
}

int cs_http_not_modified(struct cs_req *r, const char *etag, int64_t mtime)
{
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                  "If-None-Match");
    const char *ims;
    int64_t t;

    if (inm)
        return etag && (strstr(inm, etag) || !strcmp(inm, "*"));
    ims = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                      "If-Modified-Since");
    t = parse_date(ims);
    return mtime > 0 && t >= 0 && mtime <= t;
}

static void validators(struct MHD_Response *resp, const char *etag,
                       int64_t mtime)
{
    char date[64];

    if (etag)
        MHD_add_response_header(resp, "ETag", etag);
    if (mtime > 0) {
        cs_http_date(mtime, date, sizeof(date));
        MHD_add_response_header(resp, "Last-Modified", date);
    }
}

enum MHD_Result cs_http_304(struct cs_req *r, const char *cache,
                                const char *etag, int64_t mtime)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        0, "", MHD_RESPMEM_PERSISTENT);

    if (!resp)
        return MHD_NO;
    cs_http_common(r->h, resp, 0);
    validators(resp, etag, mtime);
    MHD_add_response_header(resp, "Cache-Control", cache);
    return cs_http_queue(r, MHD_HTTP_NOT_MODIFIED, resp, 0);
}

static enum MHD_Result send_body(struct cs_req *r, const struct cs_body *b,
                                  struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    cs_http_common(r->h, resp, b->age_s);
    validators(resp, b->etag, b->mtime_s);
    MHD_add_response_header(resp, "Content-Type", b->type);
    MHD_add_response_header(resp, "Cache-Control", b->cache);
    if (r->kind == CS_KIND_PLAYLIST || r->kind == CS_KIND_MANIFEST)
        MHD_add_response_header(resp, "Vary", "Accept-Encoding");
    if (b->gz)
        MHD_add_response_header(resp, "Content-Encoding", "gzip");
    return cs_http_queue(r, MHD_HTTP_OK, resp, b->len);
}

enum MHD_Result cs_http_buffer(struct cs_req *r, const char *data,
                               size_t len, const char *type,
                               const char *cache, const char *etag,
                               int64_t mtime_s, int64_t age_s, int gz)
{
    const struct cs_body b = { data, len, type, cache, etag, mtime_s, age_s,
                               gz, NULL, NULL };
    /* MUST_COPY: libmicrohttpd copies and never writes through it */
    union { const char *c; void *v; } u = { data };

    if (cs_http_not_modified(r, etag, mtime_s))
        return cs_http_304(r, cache, etag, mtime_s);
    return send_body(r, &b, MHD_create_response_from_buffer(
                                len, u.v, MHD_RESPMEM_MUST_COPY));
}

enum MHD_Result cs_http_body(struct cs_req *r, const struct cs_body *b)
{
    union { const char *c; void *v; } u = { b->data };
    struct MHD_Response *resp;

    if (cs_http_not_modified(r, b->etag, b->mtime_s)) {
        b->release(b->cls);
        return cs_http_304(r, b->cache, b->etag, b->mtime_s);
    }
    /* the response owns the reference from here: RELEASE runs when
     * libmicrohttpd drops it, after the last byte is sent */
    resp = MHD_create_response_from_buffer_with_free_callback_cls(
        b->len, u.v, b->release, b->cls);
    if (!resp)
        b->release(b->cls);
    return send_body(r, b, resp);
}
