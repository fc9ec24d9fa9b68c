/* dir.c: a local folder as a store, the default kind; files appear whole
 * or not at all (a temporary name beside the target, then rename(2)), and
 * keys pass the same check as on S3 (store/key.h). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "store/digest.h"
#include "store/key.h"
#include "store/store.h"

struct dirpriv {
    const char *cause;      /* of the last refusal, for cs_store_fail() */
};

/* ROOT/KEY, refusing keys that would name another file (the same rule as
 * S3's, so that a key means the same on either kind of store). */
static int key_path(struct cs_store *st, const char *key, char **out)
{
    struct dirpriv *p = st->priv;

    *out = NULL;
    p->cause = NULL;
    if (cs_key_check_path(key) < 0 || key[strlen(key) - 1] == '/') {
        p->cause = "refused: " CS_KEY_PATH_WHY;
        return CS_EUSAGE;
    }
    if (asprintf(out, "%s/%s", st->root, key) < 0) {
        *out = NULL;
        return AVERROR(ENOMEM);
    }
    return 0;
}

static int make_parent(const char *path)
{
    char *p = strdup(path), *slash;
    int ret = 0;

    if (!p)
        return AVERROR(ENOMEM);
    slash = strrchr(p, '/');
    if (slash) {
        *slash = 0;
        ret = cs_mkdirs(p);
    }
    free(p);
    return ret;
}

static int dir_read(struct cs_store *st, const char *key,
                   cs_store_sink_fn sink, int (*reset)(void *opaque),
                   void *opaque, int64_t *size)
{
    char *path, buf[1 << 16];
    int64_t total = 0;
    int fd, ret = key_path(st, key, &path);

    if (ret < 0)
        return ret;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return AVERROR(errno);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n <= 0) {
            ret = n < 0 ? AVERROR(errno) : 0;
            break;
        }
        ret = sink(opaque, buf, (size_t)n);
        if (ret < 0)
            break;
        total += n;
    }
    close(fd);
    if (ret >= 0 && size)
        *size = total;
    return ret;
}

static int copy_fd(int in, int out)
{
    char buf[1 << 16];

    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf)), w = 0;

        if (n <= 0)
            return n < 0 ? AVERROR(errno) : 0;
        while (w < n) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));

            if (k < 0)
                return AVERROR(errno);
            w += k;
        }
    }
}

static int dir_write_file(struct cs_store *st, const char *key,
                        const char *src, const char *content_type)
{
    char *path = NULL, name[PATH_MAX];
    int in = -1, out = -1, tmp = 0, ret = key_path(st, key, &path);

    if (ret >= 0)
        ret = make_parent(path);
    if (ret >= 0)
        ret = tmp = cs_write_name(name, sizeof(name), path);
    if (ret < 0)
        goto out;
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        ret = AVERROR(errno);
        goto out;
    }
    out = open(name, tmp ? O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
                         : O_WRONLY | O_CLOEXEC, 0644);
    ret = out < 0 ? AVERROR(errno) : copy_fd(in, out);
    if (out >= 0 && close(out) < 0 && ret >= 0)
        ret = AVERROR(errno);
    if (out >= 0) {
        int r = cs_write_done(name, path, ret >= 0);

        ret = ret < 0 ? ret : r;
    }
out:
    if (in >= 0)
        close(in);
    free(path);
    return ret;
}

static int dir_write(struct cs_store *st, const char *key,
                     const void *data, size_t len, const char *type,
                     const char *cache)
{
    char *path;
    int ret = key_path(st, key, &path);

    if (ret >= 0)
        ret = make_parent(path);
    if (ret >= 0)
        ret = cs_file_write_atomic(path, data, len);
    free(path);
    return ret;
}

struct walk {
    struct cs_store_entry *e;   /* keys owned (cast away const) */
    size_t n, cap;
};

static int walk_add(struct walk *w, const char *key, int64_t size)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        struct cs_store_entry *e = realloc(w->e, cap * sizeof(*e));

        if (!e)
            return AVERROR(ENOMEM);
        w->e = e;
        w->cap = cap;
    }
    w->e[w->n].key = strdup(key);
    w->e[w->n].size = size;
    w->e[w->n].etag = "";
    if (!w->e[w->n].key)
        return AVERROR(ENOMEM);
    w->n++;
    return 0;
}

/* Collect the files under ROOT/REL; names starting with '.' (temporary
 * files among them) are not keys. */
static int walk_dir(struct walk *w, const char *root, const char *rel)
{
    char *dirpath = NULL;
    DIR *d;
    struct dirent *e;
    int ret = 0;

    if (asprintf(&dirpath, "%s/%s", root, rel) < 0)
        return AVERROR(ENOMEM);
    d = opendir(dirpath);
    if (!d) {
        ret = errno == ENOENT && !*rel ? 0 : AVERROR(errno);
        goto out;
    }
    while (ret >= 0 && (e = readdir(d)) != NULL) {
        char *key = NULL, *full = NULL;
        struct stat s;

        if (e->d_name[0] == '.')
            continue;
        if (asprintf(&key, "%s%s%s", rel, *rel ? "/" : "", e->d_name) < 0 ||
            asprintf(&full, "%s/%s", root, key) < 0)
            ret = AVERROR(ENOMEM);
        else if (stat(full, &s) < 0)
            ret = errno == ENOENT ? 0 : AVERROR(errno);
        else if (S_ISDIR(s.st_mode))
            ret = walk_dir(w, root, key);
        else if (S_ISREG(s.st_mode))
            ret = walk_add(w, key, s.st_size);
        free(key);
        free(full);
    }
    closedir(d);
out:
    free(dirpath);
    return ret;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const struct cs_store_entry *)a)->key,
                  ((const struct cs_store_entry *)b)->key);
}

static int dir_list(struct cs_store *st, const char *prefix,
                    cs_store_list_fn fn, void *opaque)
{
    struct walk w = { 0 };
    int ret;

    ((struct dirpriv *)st->priv)->cause = NULL;
    ret = walk_dir(&w, st->root, "");

    if (ret >= 0 && w.n)
        qsort(w.e, w.n, sizeof(*w.e), cmp_key);
    for (size_t i = 0; ret >= 0 && i < w.n; i++)
        if (!prefix || !strncmp(w.e[i].key, prefix, strlen(prefix)))
            ret = fn(opaque, &w.e[i]);
    for (size_t i = 0; i < w.n; i++)
        free((char *)w.e[i].key);
    free(w.e);
    return ret;
}

static int dir_remove(struct cs_store *st, const char *key)
{
    char *path;
    int ret = key_path(st, key, &path);

    if (ret >= 0 && unlink(path) < 0)
        ret = AVERROR(errno);
    free(path);
    return ret;
}

static int dir_stat(struct cs_store *st, const char *key, int64_t *size,
                    char etag[80])
{
    char *path;
    struct stat s;
    int ret = key_path(st, key, &path);

    if (ret >= 0 && stat(path, &s) < 0)
        ret = AVERROR(errno);
    else if (ret >= 0 && !S_ISREG(s.st_mode))
        ret = AVERROR(ENOENT);
    if (ret >= 0 && size)
        *size = s.st_size;
    if (ret >= 0 && etag)
        ret = cs_file_etag(path, st->part_size, etag);
    free(path);
    return ret;
}

static int dir_locate(struct cs_store *st, const char *key, int expires,
                      char **where)
{
    char *path;
    int ret = key_path(st, key, &path);

    *where = NULL;
    if (ret < 0)
        return ret;
    *where = realpath(path, NULL);
    ret = *where ? 0 : AVERROR(errno);
    free(path);
    return ret;
}

static const char *dir_cause(struct cs_store *st)
{
    struct dirpriv *p = st->priv;

    return p ? p->cause : NULL;
}

static void dir_close(struct cs_store *st)
{
    free(st->priv);
    st->priv = NULL;
}

static int dir_open(struct cs_store *st, const struct cs_store_opts *opts,
                    struct cs_err *err)
{
    size_t n;

    (void)opts;
    (void)err;
    st->root = strdup(st->location);
    st->priv = calloc(1, sizeof(struct dirpriv));
    if (!st->root || !st->priv)
        return AVERROR(ENOMEM);
    n = strlen(st->root);
    while (n > 1 && st->root[n - 1] == '/')
        st->root[--n] = 0;
    return cs_mkdirs(st->root);
}

const struct cs_store_ops cs_store_dir = {
    .kind = "dir",
    .open = dir_open,
    .read = dir_read,
    .write = dir_write,
    .write_file = dir_write_file,
    .list = dir_list,
    .remove = dir_remove,
    .stat = dir_stat,
    .locate = dir_locate,
    .cause = dir_cause,
    .close = dir_close,
};
