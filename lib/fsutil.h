/* fsutil.h: files written whole or not at all. */
#ifndef CS_FSUTIL_H
#define CS_FSUTIL_H

#include <stddef.h>

/* A temporary name beside PATH ("dir/.name.tmp-PID-N"), unique within the
 * process, so that rename(2) to PATH is atomic. */
int cs_tmp_path(char *buf, size_t size, const char *path);

/* True when PATH exists and is not a regular file (a device such as
 * /dev/null, a FIFO, a socket): such a path is written in place, never
 * replaced by a rename. */
int cs_path_is_special(const char *path);

/* Write LEN bytes to PATH through a temporary name and rename(2). On
 * failure nothing is left behind and PATH is untouched. */
int cs_file_write_atomic(const char *path, const void *data, size_t len);

/* Read a whole file (at most MAX bytes) into a malloc'ed buffer with a
 * terminating NUL (not counted in *len). The caller frees *data. */
int cs_file_read(const char *path, size_t max, char **data, size_t *len);

/* mkdir -p PATH (mode 0755). */
int cs_mkdirs(const char *path);

#endif
