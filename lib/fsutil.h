/* fsutil.h: files written whole or not at all. */
#ifndef CS_FSUTIL_H
#define CS_FSUTIL_H

#include <stddef.h>

/* A temporary name beside PATH ("dir/.name.tmp-PID-N", the name cut to 200
 * bytes so that it fits NAME_MAX when PATH's does), unique within the
 * process, so that rename(2) to PATH is atomic. */
int cs_tmp_path(char *buf, size_t size, const char *path);

/* The name to write PATH under, in BUF: a temporary name (returns 1; write
 * it whole, then cs_write_done renames it into place), or PATH itself
 * (returns 0) when PATH exists and is not a regular file: a device such as
 * /dev/null or a FIFO is written in place, never renamed over. */
int cs_write_name(char *buf, size_t size, const char *path);

/* Finish what cs_write_name began: on OK rename the temporary name to PATH,
 * else remove it. Nothing to do for a path written in place. */
int cs_write_done(const char *name, const char *path, int ok);

/* Write LEN bytes to PATH through a temporary name and rename(2). On
 * failure nothing is left behind and PATH is untouched. */
int cs_file_write_atomic(const char *path, const void *data, size_t len);

/* Read a whole file (at most MAX bytes) into a malloc'ed buffer with a
 * terminating NUL (not counted in *len). The caller frees *data. */
int cs_file_read(const char *path, size_t max, char **data, size_t *len);
/* The same from FD, which it takes (closed in every case). */
int cs_fd_read(int fd, size_t max, char **data, size_t *len);

/* mkdir -p PATH (mode 0755). */
int cs_mkdirs(const char *path);

#endif
