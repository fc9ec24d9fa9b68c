/* http/stream.c: a segment that is still being written, served as it is
 * written. The packager writes each part N.K.EXT (atomically) before the
 * whole segment N.EXT, whose bytes are the parts' bytes in order (CMAF
 * chunks), so a GET for N.EXT can answer at once with HTTP/1.1 chunked
 * transfer: the parts as they land, then the rest of N.EXT once it
 * exists, which ends the body. Between parts the connection is suspended
 * on the live table (woken when a file lands in the folder), so no thread
 * waits. A part that does not come within three target durations ends
 * the body with an error (the connection is closed), never with a short
 * body that looks whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "http/internal.h"
#include "store/mime.h"

#define NOT_READY_FINAL 2

struct seg_stream {
    struct cs_req *r;
    char whole[PATH_MAX];       /* N.EXT */
    char stem[PATH_MAX];        /* N */
    const char *ext;            /* ".EXT", in whole */
    double target;
    int part;                   /* the part being read */
    int part_fd, whole_fd;
    uint64_t part_off;
};

int cs_stream_split(const char *path, char *stem, size_t size,
                    const char **ext)
{
    const char *base = strrchr(path, '/'), *dot;

    base = base ? base + 1 : path;
    dot = strchr(base, '.');
    if (!dot || dot == base || strchr(dot + 1, '.') ||
        strspn(base, "0123456789") != (size_t)(dot - base))
        return 0;
    snprintf(stem, size, "%.*s", (int)(dot - path), path);
    *ext = dot;
    return 1;
}

static void part_path(const struct seg_stream *s, int k, char *buf,
                      size_t size)
{
    snprintf(buf, size, "%s.%d%s", s->stem, k, s->ext);
}

int cs_stream_first_part(const char *abs)
{
    char stem[PATH_MAX], part[PATH_MAX + 16];
    const char *ext;
    struct stat st;

    if (!cs_stream_split(abs, stem, sizeof(stem), &ext))
        return 0;
    snprintf(part, sizeof(part), "%s.0%s", stem, ext);
    return stat(part, &st) == 0;
}

/* Lock held: the next part or the whole segment is there. */
static int next_ready(void *ctx, struct cs_live *live)
{
    struct seg_stream *s = ctx;
    char part[PATH_MAX + 16];
    struct stat st;

    part_path(s, s->part, part, sizeof(part));
    if (stat(part, &st) == 0 || stat(s->whole, &st) == 0)
        return 1;
    if (s->r->w.state == CS_WAIT_EXPIRED)
        return NOT_READY_FINAL;
    s->r->w.flags = CS_WAIT_ANY_FILE;
    s->r->w.deadline_us = cs_now_us() + (int64_t)(3e6 * s->target);
    return 0;
}

/* Bytes of the parts from the current one on: > 0 read, 0 the next part
 * is not there yet, < 0 an error. */
static ssize_t read_parts(struct seg_stream *s, char *buf, size_t max)
{
    char part[PATH_MAX + 16];
    ssize_t n;

    for (;;) {
        if (s->part_fd < 0) {
            part_path(s, s->part, part, sizeof(part));
            s->part_fd = open(part, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (s->part_fd < 0)
                return errno == ENOENT ? 0 : -1;
            s->part_off = 0;
        }
        n = pread(s->part_fd, buf, max, (off_t)s->part_off);
        if (n != 0) {
            if (n > 0)
                s->part_off += (uint64_t)n;
            return n;
        }
        close(s->part_fd);
        s->part_fd = -1;
        s->part++;
    }
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct seg_stream *s = cls;
    ssize_t n;
    int ret;

    /* libmicrohttpd may ask again before the suspension takes hold: the
     * waiter is registered once, until the live table wakes it */
    if (s->r->w.state == CS_WAIT_BLOCKED)
        return 0;
    for (;;) {
        if (s->whole_fd < 0)
            s->whole_fd = open(s->whole, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (s->whole_fd >= 0) {
            n = pread(s->whole_fd, buf, max, (off_t)pos);
            if (n < 0)
                return MHD_CONTENT_READER_END_WITH_ERROR;
            return n ? n : MHD_CONTENT_READER_END_OF_STREAM;
        }
        n = read_parts(s, buf, max);
        if (n != 0)
            return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
        ret = cs_live_wait(s->r->h->live, &s->r->w, next_ready, s);
        if (ret == 0)
            return 0;           /* suspended until a file lands */
        if (ret != 1)
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void release(void *cls)
{
    struct seg_stream *s = cls;

    if (s->part_fd >= 0)
        close(s->part_fd);
    if (s->whole_fd >= 0)
        close(s->whole_fd);
    free(s);
}

enum MHD_Result cs_stream_segment(struct cs_req *r, double target)
{
    struct seg_stream *s = calloc(1, sizeof(*s));
    struct MHD_Response *resp;

    if (!s)
        return MHD_NO;
    s->r = r;
    s->target = target > 0 ? target : 6;
    s->part_fd = s->whole_fd = -1;
    snprintf(s->whole, sizeof(s->whole), "%s", r->abs);
    if (!cs_stream_split(s->whole, s->stem, sizeof(s->stem), &s->ext)) {
        free(s);
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    }
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                             reader, s, release);
    if (!resp) {
        free(s);
        return MHD_NO;
    }
    cs_http_common(r->h, resp, 0);
    MHD_add_response_header(resp, "Content-Type", cs_mime_type(r->abs));
    MHD_add_response_header(resp, "Cache-Control",
                            cs_cache_control(cs_file_kind(r->abs),
                                             CS_CACHE_SERVED));
    atomic_fetch_add(&r->h->metrics.streamed_total, 1);
    return cs_http_queue(r, MHD_HTTP_OK, resp, 0);
}
