#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int cs_tmp_path(char *buf, size_t size, const char *path)
{
    static atomic_uint counter;
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    int n;

    /* At most 200 bytes of the name: with the dot and the suffix it
     * stays within NAME_MAX (255) when the name itself is that long. */
    n = snprintf(buf, size, "%.*s.%.200s.tmp-%d-%u", dirlen, path,
                 slash ? slash + 1 : path, (int)getpid(),
                 atomic_fetch_add(&counter, 1));
    if (n < 0 || (size_t)n >= size)
        return AVERROR(ENAMETOOLONG);
    return 0;
}

int cs_write_name(char *buf, size_t size, const char *path)
{
    struct stat st;
    int n;

    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        n = snprintf(buf, size, "%s", path);
        return n < 0 || (size_t)n >= size ? AVERROR(ENAMETOOLONG) : 0;
    }
    n = cs_tmp_path(buf, size, path);
    return n < 0 ? n : 1;
}

int cs_write_done(const char *name, const char *path, int ok)
{
    if (!strcmp(name, path))
        return 0;
    if (ok && rename(name, path) == 0)
        return 0;
    ok = ok ? AVERROR(errno) : 0;
    unlink(name);
    return ok;
}

int cs_file_write_atomic(const char *path, const void *data, size_t len)
{
    char name[4096];
    const char *p = data;
    int fd, ret, tmp;

    tmp = cs_write_name(name, sizeof(name), path);
    if (tmp < 0)
        return tmp;
    fd = open(name, tmp ? O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
                        : O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        return AVERROR(errno);
    ret = 0;
    while (len > 0 && ret >= 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno != EINTR)
            ret = AVERROR(errno);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
        }
    }
    if (close(fd) < 0 && ret >= 0)
        ret = AVERROR(errno);
    tmp = cs_write_done(name, path, ret >= 0);
    return ret < 0 ? ret : tmp;
}

static int read_all(FILE *f, size_t max, char **data, size_t *len);

int cs_file_read(const char *path, size_t max, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    return read_all(fopen(path, "rb"), max, data, len);
}

int cs_fd_read(int fd, size_t max, char **data, size_t *len)
{
    FILE *f = fdopen(fd, "rb");

    *data = NULL;
    *len = 0;
    if (!f)
        close(fd);
    return f ? read_all(f, max, data, len) : AVERROR(errno);
}

/* Takes F (NULL: errno says why). */
static int read_all(FILE *f, size_t max, char **data, size_t *len)
{
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int ret = 0;

    *data = NULL;
    *len = 0;
    if (!f)
        return AVERROR(errno);
    for (;;) {
        size_t r;

        if (cap - n < 4096) {
            char *nb;

            cap = cap ? cap * 2 : 8192;
            nb = realloc(buf, cap + 1);
            if (!nb) {
                ret = AVERROR(ENOMEM);
                goto out;
            }
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n > max) {
            ret = AVERROR(EFBIG);
            goto out;
        }
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        ret = AVERROR(EIO);
        goto out;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    fclose(f);
    return ret;
}

int cs_mkdirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return AVERROR(EINVAL);
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;

            *p = 0;
            if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return AVERROR(errno);
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}
