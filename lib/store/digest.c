#include "store/digest.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <libavutil/base64.h>
#include <libavutil/hmac.h>
#include <libavutil/md5.h>
#include <libavutil/mem.h>

#include "err.h"

void cs_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

/* GnuTLS's SHA-256 uses the CPU's SHA extensions where there are any:
 * about five times libavutil's C code, which matters for a whole upload. */
int cs_sha256_hex(const void *data, size_t len, char hex[65])
{
    uint8_t d[32];

    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, d) < 0)
        return AVERROR(ENOMEM);
    cs_hex(d, sizeof(d), hex);
    return 0;
}

void cs_md5(const void *data, size_t len, uint8_t md5[16])
{
    av_md5_sum(md5, data, len);
}

void cs_md5_base64(const void *data, size_t len, char b64[25])
{
    uint8_t d[16];

    cs_md5(data, len, d);
    av_base64_encode(b64, 25, d, sizeof(d));
}

struct md5_job {
    const void *data;
    size_t len;
    char *b64;
};

static void *md5_main(void *arg)
{
    struct md5_job *j = arg;

    cs_md5_base64(j->data, j->len, j->b64);
    return NULL;
}

int cs_body_digests(const void *data, size_t len, char sha[65],
                    char md5[25])
{
    struct md5_job j = { data, len, md5 };
    pthread_t t;
    int threaded, ret;

    /* below a few MiB a thread costs more than it saves */
    threaded = len >= (4 << 20) && !pthread_create(&t, NULL, md5_main, &j);
    if (!threaded)
        md5_main(&j);
    ret = cs_sha256_hex(data, len, sha);
    if (threaded)
        pthread_join(t, NULL);
    return ret;
}

int cs_hmac_sha256(const uint8_t *key, size_t keylen, const char *msg,
                   uint8_t out[32])
{
    AVHMAC *h = av_hmac_alloc(AV_HMAC_SHA256);

    if (!h)
        return AVERROR(ENOMEM);
    av_hmac_calc(h, (const uint8_t *)msg, (unsigned)strlen(msg), key,
                 (unsigned)keylen, out, 32);
    av_hmac_free(h);
    return 0;
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

int cs_file_etag(const char *path, int64_t part_size, char etag[80])
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
