/* LL-HLS delivery (draft-pantos-hls-rfc8216bis 6.2.5, 6.2.6): blocking
 * playlist reload, delta updates, and the preload-hinted part. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "err.h"
#include "http/internal.h"

#define NOT_READY_FINAL 2

static int parse_uint(const char *s, int64_t *out)
{
    int64_t v = 0;

    if (!s || !*s || strlen(s) > 15)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

/* 0, or 400 for directives that make no sense. */
static int directives(struct cs_req *r)
{
    struct MHD_Connection *c = r->conn;
    const char *msn = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                  "_HLS_msn");
    const char *part = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                   "_HLS_part");
    const char *skip = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                   "_HLS_skip");

    r->has_msn = msn != NULL;
    r->has_part = part != NULL;
    if (msn && parse_uint(msn, &r->msn) < 0)
        return 400;
    if (part && (!msn || parse_uint(part, &r->part) < 0))
        return 400;
    if (!skip)
        r->skip = CS_SKIP_NO;
    else if (!strcmp(skip, "YES"))
        r->skip = CS_SKIP_YES;
    else if (!strcmp(skip, "v2"))
        r->skip = CS_SKIP_V2;
    else
        return 400;
    return 0;
}

/* How many parts a request may run ahead of the newest one. */
static int64_t advance_limit(const struct cs_m3u8 *m)
{
    if (m->part_target > 0 && m->part_target < 1)
        return (int64_t)ceil(3 / m->part_target);
    return 3;
}

static int too_far(const struct cs_req *r, const struct cs_m3u8 *m)
{
    int64_t pps, nmsn = m->last_part_msn, npart = m->last_part, dist;

    if (r->msn > m->last_msn + 2)
        return 1;
    if (!r->has_part)
        return 0;
    if (nmsn < 0) {         /* no parts listed: count from the edge */
        nmsn = m->last_msn + 1;
        npart = -1;
    }
    pps = m->part_target > 0 ? (int64_t)ceil(m->target / m->part_target) : 1;
    dist = (r->msn - nmsn) * (pps > 0 ? pps : 1) + (r->part - npart);
    return dist > advance_limit(m);
}

static int has_part(const struct cs_m3u8 *m, int64_t msn, int64_t part)
{
    int n;

    if (msn <= m->last_msn) {
        n = cs_m3u8_nparts(m, msn);
        return n < 0 || part < n;
    }
    return msn == m->last_msn + 1 && part < m->tail_parts;
}

static int satisfied(const struct cs_req *r, const struct cs_m3u8 *m)
{
    if (!r->has_part)
        return m->last_msn >= r->msn;
    if (has_part(m, r->msn, r->part))
        return 1;
    /* a part past the segment's last one means part 0 of the next */
    if (r->msn <= m->last_msn && cs_m3u8_nparts(m, r->msn) >= 0)
        return has_part(m, r->msn + 1, 0);
    return 0;
}

static void watch_folder(struct cs_req *r)
{
    const char *slash = strrchr(r->rel, '/');

    r->w.dir = r->rel;
    r->w.dirlen = slash ? (size_t)(slash - r->rel) : 0;
    /* a request that has not waited yet is refused while the server
     * holds --max-blocked others; one already waiting keeps its turn */
    r->w.flags = r->waited ? 0 : CS_WAIT_BOUNDED;
}

/* Too many blocked requests: 503 with Retry-After, counted. */
static enum MHD_Result refuse_busy(struct cs_req *r)
{
    atomic_fetch_add(&r->h->metrics.busy_total, 1);
    return cs_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE);
}

static void start_clock(struct cs_req *r, double target)
{
    if (r->waited)
        return;
    r->waited = 1;
    r->w.deadline_us = cs_now_us() + (int64_t)(3e6 * (target > 0 ? target : 6));
    atomic_fetch_add(&r->h->metrics.blocked_total, 1);
}

/* Lock held. */
static int playlist_ready(void *ctx, struct cs_live *live)
{
    struct cs_req *r = ctx;
    struct cs_pl *pl = cs_live_peek(live, r->rel);

    if (!pl)
        return AVERROR(ENOENT);
    if (!pl->m.endlist && pl->m.is_media && r->has_msn &&
        too_far(r, &pl->m))
        return CS_EDATA;
    if (pl->m.endlist || !pl->m.is_media || !r->has_msn ||
        satisfied(r, &pl->m)) {
        /* the version found ready is the one served */
        cs_pl_unref(&r->pl);
        r->pl = cs_pl_ref(pl);
        return 1;
    }
    if (r->w.state == CS_WAIT_EXPIRED)
        return NOT_READY_FINAL;
    start_clock(r, pl->m.target);
    return 0;
}

/* The bytes for (skip, gzip), built once per playlist version. */
static void variant(struct cs_pl *pl, int skip, int gz, const char **data,
                    size_t *len)
{
    const char *base;
    size_t blen;

    pthread_mutex_lock(&pl->mu);
    if (skip && !pl->var[skip][0].done) {
        if (cs_m3u8_delta(&pl->m, pl->text, pl->len, (enum cs_skip)skip,
                          pl->removed_dr, &pl->var[skip][0].data,
                          &pl->var[skip][0].len) < 0)
            pl->var[skip][0].data = NULL;
        pl->var[skip][0].done = 1;
    }
    base = skip && pl->var[skip][0].data ? pl->var[skip][0].data : pl->text;
    blen = skip && pl->var[skip][0].data ? pl->var[skip][0].len : pl->len;
    if (gz && !pl->var[skip][1].done) {
        if (cs_http_gzip(base, blen, &pl->var[skip][1].data,
                         &pl->var[skip][1].len) < 0)
            pl->var[skip][1].data = NULL;
        pl->var[skip][1].done = 1;
    }
    if (gz && pl->var[skip][1].data) {
        *data = pl->var[skip][1].data;
        *len = pl->var[skip][1].len;
    } else {
        *data = base;
        *len = blen;
    }
    pthread_mutex_unlock(&pl->mu);
}

static void cache_control(const struct cs_req *r, const struct cs_m3u8 *m,
                          char *buf, size_t size)
{
    int age;

    if (!m->is_media)
        age = 5;
    else if (m->endlist)
        age = 300;
    else if (r->has_msn)
        age = (int)ceil(6 * m->target);
    else if (m->part_target > 0)
        age = (int)ceil(m->part_target);
    else
        age = (int)ceil(m->target / 2);
    snprintf(buf, size, "public, max-age=%d", age > 0 ? age : 1);
}

static void release_pl(void *cls)
{
    struct cs_pl *pl = cls;

    cs_pl_unref(&pl);
}

static enum MHD_Result send_playlist(struct cs_req *r, struct cs_pl *pl)
{
    int gz = cs_http_accepts_gzip(r->conn);
    int skip = pl->m.endlist ? 0 : r->skip;
    const char *data;
    char cache[64], etag[48];
    size_t len;

    variant(pl, skip, gz, &data, &len);
    /* what was built is fixed from now on: no lock needed to look */
    gz = gz && data != pl->text && data != pl->var[skip][0].data;
    if (skip && !pl->var[skip][0].data)
        skip = 0;   /* nothing to skip: the full playlist */
    snprintf(etag, sizeof(etag), "%.17s%s%s\"", pl->etag,
             skip == 1 ? "-d1" : skip == 2 ? "-d2" : "", gz ? "-gz" : "");
    cache_control(r, &pl->m, cache, sizeof(cache));
    /* no copy: the response holds a reference on this version, so a slow
     * reader pins one shared text, not a copy of its own */
    return cs_http_body(r, &(struct cs_body){
        data, len, "application/vnd.apple.mpegurl", cache, etag,
        pl->wall_us / 1000000, (cs_wall_us() - pl->wall_us) / 1000000, gz,
        release_pl, cs_pl_ref(pl) });
}

enum MHD_Result cs_llhls_playlist(struct cs_req *r, struct cs_pl *pl)
{
    int ret;

    if (r->w.state == CS_WAIT_IDLE && !r->waited && directives(r)) {
        cs_pl_unref(&pl);
        return cs_http_error(r, MHD_HTTP_BAD_REQUEST);
    }
    ret = pl ? 0 : cs_live_get(r->h->live, r->rel, &pl);
    if (ret == CS_EDATA)
        return cs_http_file(r);   /* not a playlist: as it is */
    if (r->ffd >= 0) {            /* served from memory: no fd held */
        close(r->ffd);
        r->ffd = -1;
    }
    if (ret < 0)
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    cs_pl_unref(&pl);
    return cs_llhls_resume(r);
}

enum MHD_Result cs_llhls_resume(struct cs_req *r)
{
    enum MHD_Result res;
    struct cs_pl *pl;
    int ret;

    watch_folder(r);
    ret = cs_live_wait(r->h->live, &r->w, playlist_ready, r);
    if (ret == 0)
        return MHD_YES;           /* suspended until the part lands */
    if (ret == AVERROR(EAGAIN))
        return refuse_busy(r);
    if (ret == CS_EDATA)
        return cs_http_error(r, MHD_HTTP_BAD_REQUEST);
    if (ret < 0)
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    if (ret == NOT_READY_FINAL) {
        atomic_fetch_add(&r->h->metrics.expired_total, 1);
        return cs_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE);
    }
    pl = r->pl;                   /* checked ready under the lock */
    r->pl = NULL;
    if (!pl)
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    res = send_playlist(r, pl);
    cs_pl_unref(&pl);
    return res;
}

/* Lock held. */
static int hint_ready(void *ctx, struct cs_live *live)
{
    struct cs_req *r = ctx;
    const char *slash = strrchr(r->rel, '/');
    char dir[PATH_MAX];
    struct stat st;
    double target;

    if (stat(r->abs, &st) == 0)
        return 1;
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - r->rel) : 0,
             r->rel);
    target = cs_live_hinted(live, dir, slash ? slash + 1 : r->rel);
    if (target <= 0)
        return AVERROR(ENOENT);
    r->target = target;
    /* a segment whose first part is there: streamed from now on */
    if (r->method == CS_GET && cs_stream_first_part(r->abs))
        return 1;
    if (r->w.state == CS_WAIT_EXPIRED)
        return NOT_READY_FINAL;
    start_clock(r, target);
    return 0;
}

/* Make sure the playlists of R's folder are known, so that their
 * preload hints can be checked. */
static void load_folder(struct cs_req *r)
{
    char dir[PATH_MAX * 2], rel[PATH_MAX * 2];
    const char *slash = strrchr(r->rel, '/');
    int n = slash ? (int)(slash - r->rel) : 0;
    struct dirent *d;
    struct cs_pl *pl;
    DIR *dp;

    snprintf(dir, sizeof(dir), "%s/%.*s", r->h->root, n, r->rel);
    dp = opendir(dir);
    if (!dp)
        return;
    while ((d = readdir(dp))) {
        size_t len = strlen(d->d_name);

        if (d->d_name[0] == '.' || len < 6 ||
            strcmp(d->d_name + len - 5, ".m3u8"))
            continue;
        snprintf(rel, sizeof(rel), "%.*s%s%s", n, r->rel, n ? "/" : "",
                 d->d_name);
        if (cs_live_get(r->h->live, rel, &pl) == 0)
            cs_pl_unref(&pl);
    }
    closedir(dp);
}

enum MHD_Result cs_llhls_hinted(struct cs_req *r)
{
    char rel[PATH_MAX];
    int ret;

    watch_folder(r);
    if (r->w.state == CS_WAIT_IDLE && !r->waited)
        load_folder(r);
    r->w.flags |= CS_WAIT_ANY_FILE;
    ret = cs_live_wait(r->h->live, &r->w, hint_ready, r);
    if (ret == 0)
        return MHD_YES;
    if (ret == AVERROR(EAGAIN))
        return refuse_busy(r);
    if (ret == NOT_READY_FINAL) {
        atomic_fetch_add(&r->h->metrics.expired_total, 1);
        return cs_http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE);
    }
    snprintf(rel, sizeof(rel), "%s", r->rel);
    if (ret < 0)
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    if (cs_http_resolve(r->h->root, r->h->root_fd, r, rel, 1) == 0)
        return cs_http_file(r);
    if (r->method == CS_GET && cs_stream_first_part(r->abs))
        return cs_stream_segment(r, r->target);
    return cs_http_error(r, MHD_HTTP_NOT_FOUND);
}
