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

    n = snprintf(buf, size, "%.*s.%s.tmp-%d-%u", dirlen, path,
                 slash ? slash + 1 : path, (int)getpid(),
                 atomic_fetch_add(&counter, 1));
    if (n < 0 || (size_t)n >= size)
        return AVERROR(ENAMETOOLONG);
    return 0;
}

int cs_path_is_special(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

int cs_file_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4096];
    const char *p = data;
    int special = cs_path_is_special(path);
    int fd, ret;

    ret = special ? 0 : cs_tmp_path(tmp, sizeof(tmp), path);
    if (ret < 0)
        return ret;
    if (special)
        snprintf(tmp, sizeof(tmp), "%s", path);
    fd = open(tmp, special ? O_WRONLY | O_CLOEXEC
                           : O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return AVERROR(errno);
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            ret = AVERROR(errno);
            goto fail;
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) < 0) {
        fd = -1;
        ret = AVERROR(errno);
        goto fail;
    }
    fd = -1;
    if (!special && rename(tmp, path) < 0) {
        ret = AVERROR(errno);
        goto fail;
    }
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    if (!special)
        unlink(tmp);
    return ret;
}

int cs_file_read(const char *path, size_t max, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
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
