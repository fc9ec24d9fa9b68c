/* libFuzzer target: the MPEG-TS reader (cs_tsin, what cs-send reads) and
 * the continuity/timestamp remuxer (cs_tsout, what cs-recv writes) of
 * lib/net/tsbuf.c. The input is cut into chunks; a 0xff byte at a chunk
 * start begins a new publisher's session. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "net/tsbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int out_fd = -1;
static struct cs_tsout out;
static uint8_t buf[64 * CS_TS_PACKET];

static void read_all(const uint8_t *data, size_t size)
{
    struct cs_tsin in;
    int fd = memfd_create("fuzz-ts", MFD_CLOEXEC);

    if (fd < 0)
        return;
    if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0) {
        cs_tsin_init(&in, fd, 0);
        while (cs_tsin_read(&in, buf, (int)sizeof(buf)) > 0)
            ;
    }
    close(fd);
}

static void remux_all(const uint8_t *data, size_t size)
{
    size_t off = 0;

    cs_tsout_init(&out, out_fd);
    while (off < size) {
        size_t n = 1 + data[off] * 7u;

        if (data[off] == 0xff)
            cs_tsout_new_session(&out);
        off++;
        if (n > size - off)
            n = size - off;
        if (cs_tsout_write(&out, data + off, (int)n) < 0)
            break;
        off += n;
    }
    (void)cs_tsout_flush(&out);     /* the stream ends, as in cs-recv */
    cs_tsout_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (out_fd < 0)
        out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    read_all(data, size);
    remux_all(data, size);
    return 0;
}
