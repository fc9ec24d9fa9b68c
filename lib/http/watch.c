/* The live table's thread: inotify for playlists and parts written into
 * the root by another process, and the deadlines of waiting requests. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "http/live_internal.h"

/* How often, at most, the waiters are walked for their deadlines. */
#define EXPIRE_GRAIN_US 20000

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | \
                    IN_MOVED_FROM | IN_ONLYDIR | IN_DONT_FOLLOW)
#define MAX_DEPTH 8

static const char *watch_dir(struct cs_live *live, int wd)
{
    for (int i = 0; i < live->nwatches; i++)
        if (live->watches[i].wd == wd)
            return live->watches[i].dir;
    return NULL;
}

static void unwatch(struct cs_live *live, int wd)
{
    for (int i = 0; i < live->nwatches; i++) {
        if (live->watches[i].wd == wd) {
            free(live->watches[i].dir);
            live->watches[i] = live->watches[--live->nwatches];
            return;
        }
    }
}

static int remember(struct cs_live *live, int wd, const char *dir)
{
    char *copy = strdup(dir);

    if (!copy)
        return AVERROR(ENOMEM);
    unwatch(live, wd);
    if (live->nwatches == live->capwatches) {
        int cap = live->capwatches ? live->capwatches * 2 : 64;
        struct watch *w = realloc(live->watches, sizeof(*w) * (size_t)cap);
        if (!w) {
            free(copy);
            return AVERROR(ENOMEM);
        }
        live->watches = w;
        live->capwatches = cap;
    }
    live->watches[live->nwatches].wd = wd;
    live->watches[live->nwatches].dir = copy;
    live->nwatches++;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && !strcmp(s + n - k, suffix);
}

/* Watch REL (relative folder, "" for the root) and the folders below. */
static int watch_tree(struct cs_live *live, const char *rel, int depth)
{
    char path[PATH_MAX * 2], sub[PATH_MAX];
    struct dirent *d;
    DIR *dir;
    int wd, ret;

    snprintf(path, sizeof(path), "%s%s%s", live->root, *rel ? "/" : "", rel);
    wd = inotify_add_watch(live->ifd, path, WATCH_MASK);
    if (wd < 0)
        return AVERROR(errno);
    ret = remember(live, wd, rel);
    if (ret < 0 || depth >= MAX_DEPTH)
        return ret;
    dir = opendir(path);
    if (!dir)
        return 0;
    while ((d = readdir(dir))) {
        if (d->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
                 d->d_name);
        /* playlists already there are known from the start (metrics) */
        if (d->d_type == DT_REG && ends_with(d->d_name, ".m3u8") &&
            live_load(live, sub) < 0)
            cs_debug("cannot load '%s'", sub);
        if (d->d_type != DT_DIR)
            continue;
        ret = watch_tree(live, sub, depth + 1);
        if (ret < 0)
            cs_warn("cannot watch '%s': %s", sub, CS_ERRSTR(ret));
    }
    closedir(dir);
    return 0;
}

static void reload_all(struct cs_live *live)
{
    struct cs_waiter *woken;
    char **rels = NULL;
    int n = 0;

    pthread_mutex_lock(&live->mu);
    for (struct entry *e = live->entries; e; e = e->next)
        n++;
    rels = calloc((size_t)n + 1, sizeof(*rels));
    n = 0;
    for (struct entry *e = live->entries; e && rels; e = e->next)
        rels[n++] = strdup(e->rel);
    woken = live_take(live, NULL, 0, CS_WAIT_WOKEN);
    pthread_mutex_unlock(&live->mu);
    for (int i = 0; rels && i < n; i++) {
        if (rels[i])
            live_load(live, rels[i]);
        free(rels[i]);
    }
    free(rels);
    live_wake(live, woken);
}

static void file_event(struct cs_live *live, const char *dir,
                       const struct inotify_event *ev)
{
    char rel[PATH_MAX];

    if (ev->name[0] == '.')
        return;  /* temporary names of atomic writers */
    snprintf(rel, sizeof(rel), "%s%s%s", dir, *dir ? "/" : "", ev->name);
    if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
        if (ends_with(rel, ".m3u8")) {
            pthread_mutex_lock(&live->mu);
            live_drop(live, rel);
            pthread_mutex_unlock(&live->mu);
        }
        return;
    }
    if (!(ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
        return;
    if (ends_with(rel, ".m3u8") && live_load(live, rel) < 0)
        cs_debug("cannot load '%s'", rel);
    cs_live_touch(live, rel);
}

static void one_event(struct cs_live *live, const struct inotify_event *ev)
{
    const char *dir = watch_dir(live, ev->wd);
    char sub[PATH_MAX];

    if (ev->mask & IN_Q_OVERFLOW) {
        reload_all(live);
        return;
    }
    if (ev->mask & IN_IGNORED) {
        unwatch(live, ev->wd);
        return;
    }
    if (!dir || !ev->len)
        return;
    if (ev->mask & IN_ISDIR) {
        if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->name[0] != '.') {
            snprintf(sub, sizeof(sub), "%s%s%s", dir, *dir ? "/" : "",
                     ev->name);
            if (watch_tree(live, sub, 1) < 0)
                cs_warn("cannot watch '%s'", sub);
        }
        return;
    }
    file_event(live, dir, ev);
}

static void read_events(struct cs_live *live)
{
    char buf[64 * 1024] __attribute__((aligned(8)));
    ssize_t n = read(live->ifd, buf, sizeof(buf));

    for (ssize_t off = 0; n > 0 && off < n;) {
        const struct inotify_event *ev = (const void *)(buf + off);

        one_event(live, ev);
        off += (ssize_t)(sizeof(*ev) + ev->len);
    }
}

/* Release the waiters whose deadline passed; returns the poll timeout
 * (ms) to the next one. The list is walked only when a deadline is due,
 * at most once per EXPIRE_GRAIN_US: a blocked request answered that much
 * after its deadline (seconds away) is none the worse. */
static int expire(struct cs_live *live)
{
    struct cs_waiter *out = NULL, *w, *next;
    int64_t now, first;
    int timeout;

    pthread_mutex_lock(&live->mu);
    now = cs_now_us();
    if (now >= live->due_us) {
        first = now + 1000000;
        for (w = live->waiters; w; w = next) {
            next = w->next;
            if (w->deadline_us > now) {
                if (w->deadline_us < first)
                    first = w->deadline_us;
                continue;
            }
            live_detach(live, w, CS_WAIT_EXPIRED, &out);
        }
        live->due_us = first > now + EXPIRE_GRAIN_US ? first :
                       now + EXPIRE_GRAIN_US;
    }
    timeout = (int)((live->due_us - now + 999) / 1000);
    pthread_mutex_unlock(&live->mu);
    live_wake(live, out);
    return timeout;
}

static void *thread_main(void *arg)
{
    struct cs_live *live = arg;

    while (!atomic_load(&live->stop)) {
        struct pollfd p[2] = { { live->ifd, POLLIN, 0 },
                               { live->efd, POLLIN, 0 } };
        int timeout = expire(live);

        if (poll(p, 2, timeout) < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN) {
            eventfd_t v;
            if (eventfd_read(live->efd, &v) < 0)
                cs_debug("eventfd: %s", strerror(errno));
        }
        if (p[0].revents & POLLIN)
            read_events(live);
    }
    return NULL;
}

int cs_live_open(struct cs_live **out, const char *root,
                 const struct cs_live_cb *cb)
{
    struct cs_live *live = calloc(1, sizeof(*live));
    int ret;

    *out = NULL;
    if (!live)
        return AVERROR(ENOMEM);
    ret = pthread_mutex_init(&live->mu, NULL);
    if (ret) {
        free(live);
        return AVERROR(ret);
    }
    live->ifd = live->efd = live->root_fd = -1;
    snprintf(live->root, sizeof(live->root), "%s", root);
    live->cb = *cb;
    live->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    live->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    live->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (live->root_fd < 0 || live->ifd < 0 || live->efd < 0) {
        ret = AVERROR(errno);
        goto fail;
    }
    ret = watch_tree(live, "", 0);
    if (ret < 0)
        goto fail;
    ret = pthread_create(&live->thread, NULL, thread_main, live);
    if (ret) {
        ret = AVERROR(ret);
        goto fail;
    }
    live->started = 1;
    *out = live;
    return 0;
fail:
    cs_live_close(&live);
    return ret;
}

void cs_live_shutdown(struct cs_live *live)
{
    struct cs_waiter *woken;

    pthread_mutex_lock(&live->mu);
    live->shut = 1;
    woken = live_take(live, NULL, 0, CS_WAIT_EXPIRED);
    pthread_mutex_unlock(&live->mu);
    live_wake(live, woken);
}

void cs_live_close(struct cs_live **plive)
{
    struct cs_live *live = *plive;

    *plive = NULL;
    if (!live)
        return;
    if (live->started) {
        atomic_store(&live->stop, 1);
        if (eventfd_write(live->efd, 1) < 0)
            cs_debug("eventfd: %s", strerror(errno));
        pthread_join(live->thread, NULL);
    }
    while (live->entries) {
        struct entry *e = live->entries;
        live->entries = e->next;
        live_free_entry(e);
    }
    for (int i = 0; i < live->nwatches; i++)
        free(live->watches[i].dir);
    free(live->watches);
    if (live->ifd >= 0)
        close(live->ifd);
    if (live->efd >= 0)
        close(live->efd);
    if (live->root_fd >= 0)
        close(live->root_fd);
    pthread_mutex_destroy(&live->mu);
    free(live);
}
