/* PUT and DELETE from a segmenter (cs-segment --put), with a bearer
 * token. Uploads go to a temporary name beside the target and are
 * renamed into place whole; playlists are handed to the live table at
 * once so that blocked requests see them without waiting for inotify. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "log.h"
#include "http/internal.h"

#define MAX_PLAYLIST_PUT (8 << 20)

static int token_ok(struct cs_req *r)
{
    const char *a = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                "Authorization");
    const char *t = r->h->cfg.ingest_token;
    size_t n, k;
    unsigned char diff = 0;

    if (!a || strncasecmp(a, "Bearer ", 7))
        return 0;
    a += 7;
    n = strlen(a);
    k = strlen(t);
    /* constant time in the token's length */
    for (size_t i = 0; i < k; i++)
        diff |= (unsigned char)(t[i] ^ (i < n ? a[i] : 0));
    return diff == 0 && n == k;
}

static int fail(struct cs_req *r, int status, const char *why)
{
    atomic_fetch_add(&r->h->metrics.ingest_errors, 1);
    if (why)
        cs_warn("ingest of '%s' failed: %s", r->rel, why);
    r->failed = status;
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
        unlink(r->tmp);
    }
    return status;
}

static int open_upload(struct cs_req *r)
{
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 "Content-Length");
    char dir[PATH_MAX * 2], rel[PATH_MAX];
    char *slash;
    int ret;

    if (cl && strtoll(cl, NULL, 10) > r->h->cfg.max_upload)
        return fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "too large");
    snprintf(dir, sizeof(dir), "%s", r->abs);
    slash = strrchr(dir, '/');
    *slash = 0;
    ret = cs_mkdirs(dir);
    if (ret < 0)
        return fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, CS_ERRSTR(ret));
    /* the folder may have been a link pointing out: check again */
    snprintf(rel, sizeof(rel), "%s", r->rel);
    if (cs_http_resolve(r->h->root, -1, r, rel, 0) < 0)
        return fail(r, MHD_HTTP_NOT_FOUND, NULL);
    r->tmp = malloc(PATH_MAX);
    ret = r->tmp ? cs_tmp_path(r->tmp, PATH_MAX, r->abs) : AVERROR(ENOMEM);
    if (ret == 0) {
        r->fd = open(r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (r->fd < 0)
            ret = AVERROR(errno);
    }
    if (ret < 0)
        return fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, CS_ERRSTR(ret));
    return 0;
}

static int start(struct cs_req *r, const char *url)
{
    size_t n = strlen(url);

    r->started = 1;
    r->kind = CS_KIND_INGEST;
    if (!r->h->cfg.ingest_token)
        return MHD_HTTP_METHOD_NOT_ALLOWED;
    if (!token_ok(r)) {
        cs_verbose("refused %s of '%s': no valid ingest token",
                   r->method == CS_PUT ? "PUT" : "DELETE", url);
        atomic_fetch_add(&r->h->metrics.ingest_errors, 1);
        return MHD_HTTP_UNAUTHORIZED;
    }
    if (!n || url[n - 1] == '/' || cs_http_resolve(r->h->root, -1, r, url, 0) < 0)
        return MHD_HTTP_NOT_FOUND;
    if (r->method == CS_PUT)
        return open_upload(r);
    return 0;
}

static void body(struct cs_req *r, const char *data, size_t size)
{
    if (r->failed || r->fd < 0)
        return;
    if (r->received + (int64_t)size > r->h->cfg.max_upload) {
        fail(r, MHD_HTTP_CONTENT_TOO_LARGE, "too large");
        return;
    }
    r->received += (int64_t)size;
    while (size) {
        ssize_t n = write(r->fd, data, size);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, strerror(errno));
            return;
        }
        data += n;
        size -= (size_t)n;
    }
}

static unsigned finish_put(struct cs_req *r)
{
    struct stat st;
    int existed = stat(r->abs, &st) == 0, ret;
    char *text = NULL;
    size_t len;

    if (close(r->fd) < 0) {
        r->fd = -1;
        unlink(r->tmp);
        return (unsigned)fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              strerror(errno));
    }
    r->fd = -1;
    if (rename(r->tmp, r->abs) < 0) {
        unlink(r->tmp);
        return (unsigned)fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              strerror(errno));
    }
    if (cs_http_kind(r->rel) == CS_KIND_PLAYLIST &&
        cs_file_read(r->abs, MAX_PLAYLIST_PUT, &text, &len) == 0) {
        ret = cs_live_put(r->h->live, r->rel, text, len);
        if (ret < 0 && ret != CS_EDATA)
            cs_warn("cannot take '%s' live: %s", r->rel, CS_ERRSTR(ret));
        free(text);
    }
    cs_live_touch(r->h->live, r->rel);
    return existed ? MHD_HTTP_NO_CONTENT : MHD_HTTP_CREATED;
}

static unsigned finish_delete(struct cs_req *r)
{
    struct cs_pl *pl = NULL;

    if (unlink(r->abs) < 0)
        return errno == ENOENT ? MHD_HTTP_NOT_FOUND
                               : (unsigned)fail(r, MHD_HTTP_FORBIDDEN,
                                                strerror(errno));
    if (cs_http_kind(r->rel) == CS_KIND_PLAYLIST)
        cs_live_get(r->h->live, r->rel, &pl);  /* forgets it */
    cs_pl_unref(&pl);
    return MHD_HTTP_NO_CONTENT;
}

enum MHD_Result cs_ingest(struct cs_req *r, const char *url,
                          const char *data, size_t *size)
{
    unsigned status;

    if (!r->started) {
        status = (unsigned)start(r, url);
        if (status)
            return cs_http_error(r, status);
        return MHD_YES;
    }
    if (*size) {
        body(r, data, *size);
        *size = 0;
        /* a response cannot be queued mid-upload: close instead */
        return r->failed ? MHD_NO : MHD_YES;
    }
    if (r->failed)
        return cs_http_error(r, (unsigned)r->failed);
    status = r->method == CS_PUT ? finish_put(r) : finish_delete(r);
    if (r->failed)
        return cs_http_error(r, (unsigned)r->failed);
    return cs_http_error(r, status);
}

void cs_ingest_cleanup(struct cs_req *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
        unlink(r->tmp);
    }
    free(r->tmp);
    r->tmp = NULL;
}
