/* out/dir.c: a folder. Every file is written under a temporary name and
 * renamed, so a reader (cs-serve, nginx) never sees half of one. */
#include "out/out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"

struct dir {
    char root[2048];
};

static int dir_path(struct cs_out *o, const char *name, char *buf,
                    size_t size)
{
    struct dir *d = o->priv;
    int n;

    if (strstr(name, ".."))
        return AVERROR(EINVAL);
    n = snprintf(buf, size, "%s/%s", d->root, name);
    if (n < 0 || (size_t)n >= size)
        return AVERROR(ENAMETOOLONG);
    return 0;
}

static int dir_open(struct cs_out *o, const char *url,
                    const struct cs_out_opts *opts)
{
    struct dir *d = calloc(1, sizeof(*d));
    size_t n;
    int ret;

    if (!d)
        return AVERROR(ENOMEM);
    n = strlen(url);
    while (n > 1 && url[n - 1] == '/')
        n--;
    if (n >= sizeof(d->root)) {
        free(d);
        return AVERROR(ENAMETOOLONG);
    }
    memcpy(d->root, url, n);
    ret = cs_mkdirs(d->root);
    if (ret < 0) {
        free(d);
        return ret;
    }
    o->priv = d;
    return 0;
}

static int dir_put(struct cs_out *o, const char *name, const void *data,
                   size_t len, const char *type, const char *cache)
{
    char path[4096];
    char *slash;
    int ret = dir_path(o, name, path, sizeof(path));

    if (ret < 0)
        return ret;
    ret = cs_file_write_atomic(path, data, len);
    if (ret != AVERROR(ENOENT))
        return ret;
    /* The rendition's folder does not exist yet. */
    slash = strrchr(path, '/');
    *slash = '\0';
    ret = cs_mkdirs(path);
    *slash = '/';
    if (ret < 0)
        return ret;
    return cs_file_write_atomic(path, data, len);
}

static int dir_del(struct cs_out *o, const char *name)
{
    char path[4096];
    int ret = dir_path(o, name, path, sizeof(path));

    if (ret < 0)
        return ret;
    if (unlink(path) < 0 && errno != ENOENT)
        return AVERROR(errno);
    return 0;
}

static int dir_get(struct cs_out *o, const char *name, size_t max,
                   char **data, size_t *len)
{
    char path[4096];
    int ret = dir_path(o, name, path, sizeof(path));

    if (ret < 0)
        return ret;
    return cs_file_read(path, max, data, len);
}

static void dir_close(struct cs_out *o)
{
    free(o->priv);
    o->priv = NULL;
}

const struct cs_out_ops cs_out_dir = {
    .name = "dir",
    .open = dir_open,
    .put = dir_put,
    .del = dir_del,
    .get = dir_get,
    .close = dir_close,
};
