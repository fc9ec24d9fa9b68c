/* store.c: the table of kinds, opening a store by location, and what
 * every kind shares. */
#include "store/store.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "log.h"
#include "sig.h"

#define DEFAULT_PART (8 << 20)

/* The kinds by scheme; a location without one is a folder. */
static const struct {
    const char *scheme;
    const struct cs_store_ops *ops;
} kinds[] = {
    { "s3", &cs_store_s3 },
    { "http", &cs_store_http },
    { "https", &cs_store_http },
};

static const struct cs_store_ops *kind_of(const char *location)
{
    const char *sep = strstr(location, "://");

    if (!sep)
        return &cs_store_dir;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strlen(kinds[i].scheme) == (size_t)(sep - location) &&
            !strncmp(location, kinds[i].scheme, (size_t)(sep - location)))
            return kinds[i].ops;
    return NULL;
}

int cs_store_open(struct cs_store **out, const char *location,
                  const struct cs_store_opts *opts, struct cs_err *err)
{
    static const struct cs_store_opts none = { 0 };
    struct cs_store *st = calloc(1, sizeof(*st));
    int ret = AVERROR(ENOMEM);

    *out = NULL;
    if (!opts)
        opts = &none;
    if (!st)
        return ret;
    st->part_size = opts->part_size > 0 ? opts->part_size : DEFAULT_PART;
    st->location = strdup(location);
    if (!st->location)
        goto fail;
    st->ops = kind_of(location);
    if (!st->ops) {
        ret = cs_err_set(err, CS_EUSAGE, "unsupported location '%s': "
                         "expected a folder, http(s):// or s3://", location);
        goto fail;
    }
    ret = st->ops->open(st, opts, err);
    if (ret < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    cs_store_close(&st);
    return ret;
}

int cs_store_open_object(struct cs_store **out, char **key,
                         const char *location,
                         const struct cs_store_opts *opts,
                         struct cs_err *err)
{
    const char *slash = strrchr(location, '/');
    char *parent = NULL;
    int ret;

    *out = NULL;
    *key = NULL;
    if (!strncmp(location, "s3://", 5))
        slash = strchr(location + 5, '/');
    if ((!slash && !strncmp(location, "s3://", 5)) || (slash && !slash[1]))
        return cs_err_set(err, CS_EUSAGE,
                          "invalid location '%s': expected STORE/KEY",
                          location);
    parent = slash ? strndup(location, (size_t)(slash - location + 1))
                   : strdup(".");
    *key = strdup(slash ? slash + 1 : location);
    ret = parent && *key ? cs_store_open(out, parent, opts, err)
                         : AVERROR(ENOMEM);
    free(parent);
    if (ret < 0) {
        free(*key);
        *key = NULL;
    }
    return ret;
}

void cs_store_close(struct cs_store **p)
{
    struct cs_store *st = *p;

    if (!st)
        return;
    if (st->ops && st->ops->close)
        st->ops->close(st);
    free(st->root);
    free(st->location);
    free(st);
    *p = NULL;
}

int cs_store_fail(struct cs_store *st, struct cs_err *err, int code,
                  const char *fmt, ...)
{
    const char *c = st && st->ops && st->ops->cause ? st->ops->cause(st)
                                                    : NULL;
    char what[320];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (c && *c)
        return cs_err_set(err, code, "%s: %s", what, c);
    return cs_err_code(err, code, "%s", what);
}

int cs_store_write_file(struct cs_store *st, const char *key,
                        const char *path, const char *type)
{
    if (!st->ops->write_file)
        return AVERROR(ENOSYS);
    return st->ops->write_file(st, key, path, type);
}

int cs_store_list(struct cs_store *st, const char *prefix,
                  cs_store_list_fn fn, void *opaque)
{
    if (!st->ops->list)
        return AVERROR(ENOSYS);
    return st->ops->list(st, prefix, fn, opaque);
}

int cs_store_remove(struct cs_store *st, const char *key)
{
    return st->ops->remove(st, key);
}

int cs_store_stat(struct cs_store *st, const char *key, int64_t *size,
                  char etag[80])
{
    if (!st->ops->stat)
        return AVERROR(ENOSYS);
    return st->ops->stat(st, key, size, etag);
}

int cs_store_locate(struct cs_store *st, const char *key, int expires,
                    char **where)
{
    *where = NULL;
    if (!st->ops->locate)
        return AVERROR(ENOSYS);
    return st->ops->locate(st, key, expires, where);
}

int cs_store_put(struct cs_store *st, const char *key, const void *data,
                 size_t len, enum cs_file_kind kind, struct cs_err *err)
{
    int ret = st->ops->write(st, key, data, len, cs_mime_type(key),
                             cs_cache_control(kind, CS_CACHE_STORED));

    if (ret < 0)
        return cs_store_fail(st, err, ret, "cannot write '%s' to '%s'", key,
                             st->location);
    return ret;
}

int cs_store_delete(struct cs_store *st, const char *key)
{
    int ret = st->ops->remove(st, key);

    if (ret == AVERROR(ENOENT))
        return 0;
    if (ret < 0)
        cs_warn("cannot delete '%s' from '%s': %s", key, st->location,
                CS_ERRSTR(ret));
    return ret;
}

struct mem {
    char *data;
    size_t len, max;
};

static int mem_sink(void *opaque, const void *p, size_t n)
{
    struct mem *m = opaque;
    char *d;

    if (m->len + n > m->max)
        return CS_EDATA;
    d = realloc(m->data, m->len + n + 1);
    if (!d)
        return AVERROR(ENOMEM);
    memcpy(d + m->len, p, n);
    m->data = d;
    m->len += n;
    d[m->len] = 0;
    return 0;
}

static int mem_reset(void *opaque)
{
    ((struct mem *)opaque)->len = 0;
    return 0;
}

int cs_store_read_mem(struct cs_store *st, const char *key, size_t max,
                      char **data, size_t *len)
{
    struct mem m = { .max = max };
    int ret = st->ops->read(st, key, mem_sink, mem_reset, &m, NULL);

    if (ret >= 0 && !m.data)
        m.data = calloc(1, 1);
    if (ret >= 0 && !m.data)
        ret = AVERROR(ENOMEM);
    if (ret < 0) {
        free(m.data);
        m.data = NULL;
        m.len = 0;
    }
    *data = m.data;
    *len = m.len;
    return ret;
}

/* Bytes gathered before a write: libcurl hands over 16 KiB at a time, and
 * a syscall each costs more than the copy. */
#define FDOUT_BUF (1 << 20)

struct fdout {
    int fd;
    int64_t done;           /* bytes given to the sink */
    void (*progress)(void *opaque, int64_t done);
    void *opaque;
    uint8_t *buf;           /* NULL: write through */
    size_t len;
};

static int write_out(int fd, const uint8_t *c, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, c, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return AVERROR(errno);
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fd_flush(struct fdout *o)
{
    int ret = write_out(o->fd, o->buf, o->len);

    o->len = 0;
    return ret;
}

static int fd_sink(void *opaque, const void *p, size_t n)
{
    struct fdout *o = opaque;
    int ret = 0;

    if (!o->buf)
        ret = write_out(o->fd, p, n);
    else {
        if (o->len + n > FDOUT_BUF)
            ret = fd_flush(o);
        if (ret >= 0 && n >= FDOUT_BUF)
            ret = write_out(o->fd, p, n);
        else if (ret >= 0) {
            memcpy(o->buf + o->len, p, n);
            o->len += n;
        }
    }
    if (ret < 0)
        return ret;
    o->done += (int64_t)n;
    if (o->progress)
        o->progress(o->opaque, o->done);
    return cs_stopping() ? CS_ESTOP : 0;
}

static int fd_reset(void *opaque)
{
    struct fdout *o = opaque;

    o->done = 0;
    o->len = 0;
    if (ftruncate(o->fd, 0) < 0 || lseek(o->fd, 0, SEEK_SET) < 0)
        return AVERROR(errno);
    return 0;
}

int cs_store_read_fd(struct cs_store *st, const char *key, int fd,
                     int64_t *size, void (*progress)(void *opaque,
                                                     int64_t done),
                     void *opaque)
{
    struct fdout o = { .fd = fd, .progress = progress, .opaque = opaque,
                       .buf = malloc(FDOUT_BUF) };
    int ret = st->ops->read(st, key, fd_sink, fd_reset, &o, size);
    /* what came before a failure is out too, as it was unbuffered */
    int flushed = o.buf ? fd_flush(&o) : 0;

    free(o.buf);
    return ret < 0 ? ret : flushed;
}

int cs_store_read_file(struct cs_store *st, const char *key,
                       const char *path, int64_t *size,
                       void (*progress)(void *opaque, int64_t done),
                       void *opaque)
{
    char name[4096];
    int fd, ret, tmp = cs_write_name(name, sizeof(name), path);

    if (tmp < 0)
        return tmp;
    fd = open(name, tmp ? O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
                        : O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return AVERROR(errno);
    ret = cs_store_read_fd(st, key, fd, size, progress, opaque);
    if (close(fd) < 0 && ret >= 0)
        ret = AVERROR(errno);
    tmp = cs_write_done(name, path, ret >= 0);
    return ret < 0 ? ret : tmp;
}
