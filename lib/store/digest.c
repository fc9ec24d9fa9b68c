#include "store/digest.h"

#include <string.h>

#include <libavutil/base64.h>
#include <libavutil/hmac.h>
#include <libavutil/md5.h>
#include <libavutil/mem.h>
#include <libavutil/sha.h>

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

int cs_sha256_hex(const void *data, size_t len, char hex[65])
{
    struct AVSHA *sha = av_sha_alloc();
    uint8_t d[32];

    if (!sha)
        return AVERROR(ENOMEM);
    av_sha_init(sha, 256);
    av_sha_update(sha, data, len);
    av_sha_final(sha, d);
    av_free(sha);
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
