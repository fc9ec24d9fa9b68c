/* libFuzzer target: the SRT access file (lib/net/access.c), then stream
 * ids looked up in it. The input is the file; its last line is also
 * tried as a stream id. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "err.h"
#include "net/access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookups(const struct cs_access *a, const uint8_t *data,
                    size_t size)
{
    char id[600];
    const uint8_t *nl = size ? memrchr(data, '\n', size) : NULL;
    size_t off = nl ? (size_t)(nl - data) + 1 : 0, n = size - off;
    unsigned mode;

    if (n >= sizeof(id))
        n = sizeof(id) - 1;
    memcpy(id, data + off, n);
    id[n] = 0;
    cs_access_find(a, id, &mode);
    cs_access_find(a, "#!::r=live/cat,m=publish", &mode);
    cs_access_find(a, "", &mode);
    cs_access_find(a, NULL, &mode);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cs_access *a = NULL;
    struct cs_err err = { 0 };
    char path[64];
    int fd = memfd_create("fuzz-access", MFD_CLOEXEC);

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    cs_access_check(path, &err);
    if (cs_access_load(&a, path) == 0)
        lookups(a, data, size);
    cs_access_free(&a);
    close(fd);
    return 0;
}
