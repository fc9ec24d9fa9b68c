#include "http/live.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "fsutil.h"
#include "log.h"
#include "http/internal.h"
#include "http/live_internal.h"

struct cs_pl *cs_pl_ref(struct cs_pl *pl)
{
    atomic_fetch_add(&pl->refs, 1);
    return pl;
}

void cs_pl_unref(struct cs_pl **ppl)
{
    struct cs_pl *pl = *ppl;

    *ppl = NULL;
    if (!pl || atomic_fetch_sub(&pl->refs, 1) != 1)
        return;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            free(pl->var[i][j].data);
    cs_m3u8_free(&pl->m);
    free(pl->removed_dr);
    pthread_mutex_destroy(&pl->mu);
    free(pl->text);
    free(pl);
}

/* Takes ownership of TEXT. */
static int pl_new(struct cs_pl **out, char *text, size_t len)
{
    struct cs_pl *pl = calloc(1, sizeof(*pl));
    uint64_t h = 1469598103934665603ULL;
    int ret;

    *out = NULL;
    if (!pl) {
        free(text);
        return AVERROR(ENOMEM);
    }
    ret = cs_m3u8_parse(&pl->m, text, len);
    if (ret < 0) {
        free(text);
        free(pl);
        return ret;
    }
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)text[i]) * 1099511628211ULL;
    snprintf(pl->etag, sizeof(pl->etag), "\"%016llx\"",
             (unsigned long long)h);
    ret = pthread_mutex_init(&pl->mu, NULL);
    if (ret) {
        cs_m3u8_free(&pl->m);
        free(text);
        free(pl);
        return AVERROR(ret);
    }
    atomic_init(&pl->refs, 1);
    pl->text = text;
    pl->len = len;
    pl->wall_us = cs_wall_us();
    *out = pl;
    return 0;
}

static struct entry *find(struct cs_live *live, const char *rel)
{
    for (struct entry *e = live->entries; e; e = e->next)
        if (!strcmp(e->rel, rel))
            return e;
    return NULL;
}

void live_free_entry(struct entry *e)
{
    cs_pl_unref(&e->pl);
    free(e->removed);
    free(e->rel);
    free(e->dir);
    free(e);
}

void live_drop(struct cs_live *live, const char *rel)
{
    for (struct entry **pe = &live->entries; *pe; pe = &(*pe)->next) {
        if (!strcmp((*pe)->rel, rel)) {
            struct entry *e = *pe;
            *pe = e->next;
            live_free_entry(e);
            return;
        }
    }
}

static void dir_of(const char *rel, char *dir, size_t size)
{
    const char *slash = strrchr(rel, '/');
    int n = slash ? (int)(slash - rel) : 0;

    snprintf(dir, size, "%.*s", n, rel);
}

void live_detach(struct cs_live *live, struct cs_waiter *w,
                 enum cs_wait_state st, struct cs_waiter **chain)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        live->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->state = st;
    live->nwaiters--;
    if (chain) {
        w->wnext = *chain;
        *chain = w;
    }
}

/* Lock held. Detach the waiters of DIR (all when DIR is NULL) that care
 * about this kind of change; returns them chained by wnext. */
struct cs_waiter *live_take(struct cs_live *live, const char *dir,
                              int any_file_only, enum cs_wait_state st)
{
    struct cs_waiter *out = NULL, *w = live->waiters, *next;

    for (; w; w = next) {
        next = w->next;
        if (dir && (strlen(dir) != w->dirlen ||
                    memcmp(w->dir, dir, w->dirlen)))
            continue;
        if (any_file_only && !(w->flags & CS_WAIT_ANY_FILE))
            continue;
        live_detach(live, w, st, &out);
    }
    return out;
}

void live_wake(struct cs_live *live, struct cs_waiter *w)
{
    while (w) {
        struct cs_waiter *next = w->wnext;
        w->wnext = NULL;
        live->cb.wake(w->arg);  /* W may be reused from here on */
        w = next;
    }
}

struct dr_ctx {
    struct entry *e;
    const struct cs_pl *pl;
    int64_t now;
};

static int has_daterange(const struct cs_pl *pl, const char *id)
{
    char needle[300];

    snprintf(needle, sizeof(needle), "ID=\"%s\"", id);
    return strstr(pl->text, needle) != NULL;
}

static void note_removed(void *ctx, const char *id)
{
    struct dr_ctx *c = ctx;
    struct entry *e = c->e;

    if (has_daterange(c->pl, id))
        return;
    for (int i = 0; i < e->nremoved; i++)
        if (!strcmp(e->removed[i].id, id))
            return;
    if (e->nremoved == MAX_REMOVED_DR)
        memmove(e->removed, e->removed + 1,
                sizeof(*e->removed) * (size_t)--e->nremoved);
    snprintf(e->removed[e->nremoved].id, sizeof(e->removed[0].id), "%s", id);
    e->removed[e->nremoved++].when_us = c->now;
}

/* Lock held, E->pl the old version (or NULL): remember the date ranges
 * that PL no longer has, forget those older than twice the skip window,
 * and give PL the list (RECENTLY-REMOVED-DATERANGES of delta updates). */
static void track_removed(struct entry *e, struct cs_pl *pl)
{
    struct dr_ctx c = { e, pl, cs_wall_us() };
    int64_t keep = (int64_t)(2e6 * (pl->m.skip_until > 30 ?
                                    pl->m.skip_until : 30));
    size_t n = 0;
    int k = 0;

    if (!e->removed)
        e->removed = calloc(MAX_REMOVED_DR, sizeof(*e->removed));
    if (!e->removed)
        return;
    if (e->pl)
        cs_m3u8_daterange_ids(e->pl->text, e->pl->len, note_removed, &c);
    for (int i = 0; i < e->nremoved; i++)
        if (c.now - e->removed[i].when_us < keep &&
            !has_daterange(pl, e->removed[i].id))
            e->removed[k++] = e->removed[i];
    e->nremoved = k;
    for (int i = 0; i < k; i++)
        n += strlen(e->removed[i].id) + 1;
    pl->removed_dr = k ? malloc(n) : NULL;
    for (int i = 0, off = 0; pl->removed_dr && i < k; i++)
        off += sprintf(pl->removed_dr + off, "%s%s", i ? "\t" : "",
                       e->removed[i].id);
}

/* Install a new version of REL (takes PL) unless it is the same text;
 * wake the folder's waiters when it changed. */
static int install(struct cs_live *live, const char *rel, struct cs_pl *pl,
                   const struct stat *st)
{
    struct cs_waiter *woken = NULL;
    struct entry *e;
    int ret = 0;

    pthread_mutex_lock(&live->mu);
    e = find(live, rel);
    if (!e) {
        e = calloc(1, sizeof(*e));
        if (!e || !(e->rel = strdup(rel)) || !(e->dir = strdup(rel))) {
            if (e)
                free(e->rel);
            free(e);
            cs_pl_unref(&pl);
            ret = AVERROR(ENOMEM);
            goto out;
        }
        dir_of(rel, e->dir, strlen(rel) + 1);
        e->next = live->entries;
        live->entries = e;
    }
    if (st) {
        e->dev = st->st_dev;
        e->ino = st->st_ino;
        e->size = st->st_size;
        e->mtime = st->st_mtim;
    }
    if (e->pl && e->pl->len == pl->len &&
        !memcmp(e->pl->text, pl->text, pl->len)) {
        cs_pl_unref(&pl);
        goto out;
    }
    track_removed(e, pl);
    cs_pl_unref(&e->pl);
    e->pl = pl;
    woken = live_take(live, e->dir, 0, CS_WAIT_WOKEN);
out:
    pthread_mutex_unlock(&live->mu);
    live_wake(live, woken);
    return ret;
}

int live_load(struct cs_live *live, const char *rel)
{
    char path[PATH_MAX * 2];
    struct stat st;
    struct cs_pl *pl;
    char *text = NULL;
    size_t len;
    int fd, ret;

    /* never a file out of the root, whatever link a name has become:
     * a request's check of the path may be all that stands before a
     * version read here (cs_live_fresh) */
    snprintf(path, sizeof(path), "%s/%s", live->root, rel);
    fd = cs_http_open_beneath(live->root, live->root_fd, rel, path);
    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return AVERROR(ENOENT);
    }
    ret = cs_fd_read(fd, MAX_PLAYLIST, &text, &len);
    if (ret < 0)
        return ret;
    ret = pl_new(&pl, text, len);
    if (ret < 0)
        return ret;
    return install(live, rel, pl, &st);
}

static int same_file(const struct entry *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino &&
           e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec &&
           e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

int cs_live_fresh(struct cs_live *live, const char *rel, struct cs_pl **out)
{
    char path[PATH_MAX * 2];
    struct stat st;
    struct entry *e;

    *out = NULL;
    snprintf(path, sizeof(path), "%s/%s", live->root, rel);
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
        pthread_mutex_lock(&live->mu);
        live_drop(live, rel);
        pthread_mutex_unlock(&live->mu);
        return AVERROR(ENOENT);
    }
    pthread_mutex_lock(&live->mu);
    e = find(live, rel);
    if (e && e->pl && same_file(e, &st))
        *out = cs_pl_ref(e->pl);
    pthread_mutex_unlock(&live->mu);
    return *out ? 0 : AVERROR(EAGAIN);
}

int cs_live_get(struct cs_live *live, const char *rel, struct cs_pl **out)
{
    struct entry *e;
    int ret;

    ret = cs_live_fresh(live, rel, out);
    if (ret != AVERROR(EAGAIN))
        return ret;
    ret = live_load(live, rel);
    if (ret < 0)
        return ret;
    pthread_mutex_lock(&live->mu);
    e = find(live, rel);
    if (e && e->pl)
        *out = cs_pl_ref(e->pl);
    pthread_mutex_unlock(&live->mu);
    return *out ? 0 : AVERROR(ENOENT);
}

int cs_live_put(struct cs_live *live, const char *rel, const char *text,
                size_t len)
{
    char path[PATH_MAX * 2];
    struct stat st;
    struct cs_pl *pl;
    char *copy = malloc(len + 1);
    int ret;

    if (!copy)
        return AVERROR(ENOMEM);
    memcpy(copy, text, len);
    copy[len] = 0;
    ret = pl_new(&pl, copy, len);
    if (ret < 0)
        return ret;
    snprintf(path, sizeof(path), "%s/%s", live->root, rel);
    return install(live, rel, pl, stat(path, &st) == 0 ? &st : NULL);
}

void cs_live_touch(struct cs_live *live, const char *rel_file)
{
    struct cs_waiter *woken;
    char dir[1024];

    dir_of(rel_file, dir, sizeof(dir));
    pthread_mutex_lock(&live->mu);
    woken = live_take(live, dir, 1, CS_WAIT_WOKEN);
    pthread_mutex_unlock(&live->mu);
    live_wake(live, woken);
}

int cs_live_wait(struct cs_live *live, struct cs_waiter *w,
                 int (*check)(void *ctx, struct cs_live *live), void *ctx)
{
    int ret;

    pthread_mutex_lock(&live->mu);
    if (live->shut)
        w->state = CS_WAIT_EXPIRED;
    ret = check(ctx, live);
    if (ret != 0 || live->shut) {
        if (!ret)
            ret = 1;
        goto out;
    }
    if ((w->flags & CS_WAIT_BOUNDED) && live->max_waiters > 0 &&
        live->nwaiters >= live->max_waiters) {
        ret = AVERROR(EAGAIN);
        goto out;
    }
    w->state = CS_WAIT_BLOCKED;
    w->prev = NULL;
    w->next = live->waiters;
    if (w->next)
        w->next->prev = w;
    live->waiters = w;
    live->nwaiters++;
    live->cb.suspend(w->arg);
    /* the thread sleeps until the earliest deadline it knows: only an
     * earlier one wakes it (not each of 10,000 arrivals, each costing a
     * walk of the list) */
    if (w->deadline_us < live->due_us) {
        live->due_us = w->deadline_us;
        if (live->efd >= 0 && eventfd_write(live->efd, 1) < 0)
            cs_debug("cannot signal the live thread: %s", strerror(errno));
    }
out:
    pthread_mutex_unlock(&live->mu);
    return ret;
}

void cs_live_cancel(struct cs_live *live, struct cs_waiter *w)
{
    pthread_mutex_lock(&live->mu);
    if (w->state == CS_WAIT_BLOCKED)
        live_detach(live, w, CS_WAIT_IDLE, NULL);
    pthread_mutex_unlock(&live->mu);
}

struct cs_pl *cs_live_peek(struct cs_live *live, const char *rel)
{
    struct entry *e = find(live, rel);

    return e ? e->pl : NULL;
}

/* Whether NAME is the hinted part HINT ("13.2.m4s"), the segment it
 * belongs to ("13.m4s": a DASH player asks for the whole segment, which
 * is being written part by part) or the segment after it ("14.m4s",
 * which will exist within one segment duration: a low-latency DASH
 * player asks for it availabilityTimeOffset early). */
static int hinted(const char *hint, const char *name)
{
    const char *dot = strchr(hint, '.'), *ext = strrchr(hint, '.');
    char *end;
    long long h, m;

    if (!strcmp(hint, name))
        return 1;
    if (!dot || dot == ext || strspn(hint, "0123456789") != (size_t)(dot - hint)
        || strspn(name, "0123456789") == 0)
        return 0;
    h = strtoll(hint, NULL, 10);
    m = strtoll(name, &end, 10);
    return strcmp(end, ext) == 0 && (m == h || m == h + 1);
}

double cs_live_hinted(struct cs_live *live, const char *dir,
                      const char *name)
{
    for (struct entry *e = live->entries; e; e = e->next)
        if (e->pl && !e->pl->m.endlist && !strcmp(e->dir, dir) &&
            e->pl->m.hint[0] && hinted(e->pl->m.hint, name))
            return e->pl->m.target > 0 ? e->pl->m.target : 6;
    return 0;
}

void cs_live_set_max(struct cs_live *live, int max)
{
    pthread_mutex_lock(&live->mu);
    live->max_waiters = max;
    pthread_mutex_unlock(&live->mu);
}

int cs_live_blocked(struct cs_live *live)
{
    int n;

    pthread_mutex_lock(&live->mu);
    n = live->nwaiters;
    pthread_mutex_unlock(&live->mu);
    return n;
}

void cs_live_foreach(struct cs_live *live,
                     void (*fn)(void *ctx, const char *rel,
                                const struct cs_pl *pl), void *ctx)
{
    pthread_mutex_lock(&live->mu);
    for (struct entry *e = live->entries; e; e = e->next)
        if (e->pl)
            fn(ctx, e->rel, e->pl);
    pthread_mutex_unlock(&live->mu);
}

