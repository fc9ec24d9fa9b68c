/* store.c: opening a store by location, and what every kind shares. */
#include "store/store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/md5.h>
#include <libavutil/mem.h>

#include "err.h"
#include "fsutil.h"
#include "log.h"
#include "sig.h"
#include "store/digest.h"
#include "store/s3.h"

#define DEFAULT_PART (8 << 20)

static int open_s3(struct cs_store *st, const char *location)
{
    char *bucket = NULL, *prefix = NULL;
    int ret = cs_s3_parse_url(location, &bucket, &prefix);

    if (ret == CS_EUSAGE)
        cs_error("invalid location '%s': expected s3://BUCKET[/PREFIX]",
                 location);
    if (ret < 0)
        goto out;
    if (*prefix && prefix[strlen(prefix) - 1] != '/') {
        ret = asprintf(&st->root, "%s/", prefix) < 0 ? AVERROR(ENOMEM) : 0;
    } else {
        st->root = prefix;
        prefix = NULL;
    }
    if (ret >= 0)
        ret = cs_store_s3_init(st, bucket);
out:
    free(bucket);
    free(prefix);
    return ret;
}

int cs_store_open(struct cs_store **out, const char *location,
                  int64_t part_size)
{
    struct cs_store *st = calloc(1, sizeof(*st));
    int ret = AVERROR(ENOMEM);

    *out = NULL;
    if (!st)
        return ret;
    st->part_size = part_size > 0 ? part_size : DEFAULT_PART;
    st->location = strdup(location);
    if (!st->location)
        goto fail;
    if (!strncmp(location, "s3://", 5)) {
        ret = open_s3(st, location);
    } else {
        st->root = strdup(location);
        ret = st->root ? cs_store_dir_init(st) : AVERROR(ENOMEM);
    }
    if (ret < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    cs_store_close(&st);
    return ret;
}

int cs_store_open_object(struct cs_store **out, char **key,
                         const char *location, int64_t part_size)
{
    const char *slash = strrchr(location, '/');
    char *parent = NULL;
    int ret;

    *out = NULL;
    *key = NULL;
    if (!strncmp(location, "s3://", 5))
        slash = strchr(location + 5, '/');
    if ((!slash && !strncmp(location, "s3://", 5)) || (slash && !slash[1])) {
        cs_error("invalid location '%s': expected STORE/KEY", location);
        return CS_EUSAGE;
    }
    parent = slash ? strndup(location, (size_t)(slash - location + 1))
                   : strdup(".");
    *key = strdup(slash ? slash + 1 : location);
    ret = parent && *key ? cs_store_open(out, parent, part_size)
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

int cs_store_get_mem(struct cs_store *st, const char *key, size_t max,
                     char **data, size_t *len)
{
    struct mem m = { .max = max };
    int ret = st->ops->get(st, key, mem_sink, mem_reset, &m, NULL);

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

struct fdout {
    int fd;
    int64_t done;
    void (*progress)(void *opaque, int64_t done);
    void *opaque;
};

static int fd_sink(void *opaque, const void *p, size_t n)
{
    struct fdout *o = opaque;
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(o->fd, c, n);

        if (w < 0)
            return AVERROR(errno);
        c += w;
        n -= (size_t)w;
        o->done += w;
    }
    if (o->progress)
        o->progress(o->opaque, o->done);
    return cs_stopping() ? CS_ESTOP : 0;
}

static int fd_reset(void *opaque)
{
    struct fdout *o = opaque;

    o->done = 0;
    if (ftruncate(o->fd, 0) < 0 || lseek(o->fd, 0, SEEK_SET) < 0)
        return AVERROR(errno);
    return 0;
}

int cs_store_get_fd(struct cs_store *st, const char *key, int fd,
                    int64_t *size, void (*progress)(void *opaque,
                                                    int64_t done),
                    void *opaque)
{
    struct fdout o = { .fd = fd, .progress = progress, .opaque = opaque };

    return st->ops->get(st, key, fd_sink, fd_reset, &o, size);
}

int cs_store_get_file(struct cs_store *st, const char *key, const char *path,
                      int64_t *size, void (*progress)(void *opaque,
                                                      int64_t done),
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
    ret = cs_store_get_fd(st, key, fd, size, progress, opaque);
    if (close(fd) < 0 && ret >= 0)
        ret = AVERROR(errno);
    tmp = cs_write_done(name, path, ret >= 0);
    return ret < 0 ? ret : tmp;
}

static int md5_range(int fd, int64_t off, int64_t len, uint8_t out[16])
{
    struct AVMD5 *md5 = av_md5_alloc();
    uint8_t buf[65536];
    int ret = md5 ? 0 : AVERROR(ENOMEM);

    if (md5)
        av_md5_init(md5);
    while (ret >= 0 && len > 0) {
        ssize_t n = pread(fd, buf, len < (int64_t)sizeof(buf) ?
                          (size_t)len : sizeof(buf), off);

        if (n <= 0) {
            ret = n < 0 ? AVERROR(errno) : AVERROR_EOF;
            break;
        }
        av_md5_update(md5, buf, (size_t)n);
        off += n;
        len -= n;
    }
    if (ret >= 0)
        av_md5_final(md5, out);
    av_free(md5);
    return ret;
}

int cs_store_file_etag(const char *path, int64_t part_size, char etag[80])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat s;
    uint8_t *all = NULL, d[16];
    int64_t parts;
    int ret;

    if (fd < 0)
        return AVERROR(errno);
    ret = fstat(fd, &s) < 0 ? AVERROR(errno) : 0;
    if (ret < 0 || s.st_size <= part_size) {
        if (ret >= 0)
            ret = md5_range(fd, 0, s.st_size, d);
        if (ret >= 0)
            cs_hex(d, 16, etag);
        goto out;
    }
    parts = (s.st_size + part_size - 1) / part_size;
    all = malloc((size_t)parts * 16);
    ret = all ? 0 : AVERROR(ENOMEM);
    for (int64_t i = 0; ret >= 0 && i < parts; i++)
        ret = md5_range(fd, i * part_size, s.st_size - i * part_size <
                        part_size ? s.st_size - i * part_size : part_size,
                        all + 16 * i);
    if (ret >= 0) {
        cs_md5(all, (size_t)parts * 16, d);
        cs_hex(d, 16, etag);
        snprintf(etag + 32, 48, "-%lld", (long long)parts);
    }
out:
    free(all);
    close(fd);
    return ret;
}

const char *cs_store_mime(const char *key)
{
    static const char *const map[][2] = {
        { ".mp4", "video/mp4" }, { ".m4s", "video/iso.segment" },
        { ".ts", "video/mp2t" }, { ".m3u8", "application/vnd.apple.mpegurl" },
        { ".mpd", "application/dash+xml" }, { ".json", "application/json" },
        { ".mkv", "video/x-matroska" }, { ".webm", "video/webm" },
        { ".jpg", "image/jpeg" }, { ".png", "image/png" },
        { ".txt", "text/plain" },
    };
    const char *dot = strrchr(key, '.');

    for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcasecmp(dot, map[i][0]))
            return map[i][1];
    return "application/octet-stream";
}

const char *cs_store_cause(struct cs_store *st, int err, char *buf,
                           size_t size)
{
    const char *c = st && st->ops && st->ops->cause ? st->ops->cause(st)
                                                    : NULL;

    return c && *c ? c : cs_strerror(err, buf, size);
}
