/* presign.c: SigV4 query-string signing for a GET any HTTP client can
 * follow (a player, ffmpeg) without holding the credentials. libcurl signs
 * only requests it sends itself, so this one is signed here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "store/digest.h"
#include "store/s3_internal.h"

static int signing_key(const struct cs_s3 *s3, const char *day,
                       uint8_t key[32])
{
    const char *parts[] = { day, s3->region, "s3", "aws4_request" };
    char *k0 = NULL;
    int ret;

    if (asprintf(&k0, "AWS4%s", s3->secret_key) < 0)
        return AVERROR(ENOMEM);
    ret = cs_hmac_sha256((uint8_t *)k0, strlen(k0), parts[0], key);
    for (int i = 1; ret >= 0 && i < 4; i++)
        ret = cs_hmac_sha256(key, 32, parts[i], key);
    memset(k0, 0, strlen(k0));
    free(k0);
    return ret;
}

static char *canonical_query(const struct cs_s3 *s3, const char *stamp,
                             const char *day, int expires)
{
    char *cred = NULL, *q = NULL, *tok = strdup(""), *c = strdup("");
    int ok;

    ok = tok && c && asprintf(&cred, "%s/%s/%s/s3/aws4_request",
                              s3->access_key, day, s3->region) >= 0 &&
         cs_s3i_append_enc(&c, cred, 0) >= 0 &&
         (!s3->token || cs_s3i_append_enc(&tok, s3->token, 0) >= 0) &&
         asprintf(&q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s"
                  "&X-Amz-Date=%s&X-Amz-Expires=%d%s%s"
                  "&X-Amz-SignedHeaders=host", c, stamp, expires,
                  s3->token ? "&X-Amz-Security-Token=" : "", tok) >= 0;
    free(cred);
    free(tok);
    free(c);
    return ok ? q : NULL;
}

static int sign(const struct cs_s3 *s3, const char *url, const char *query,
                const char *stamp, const char *day, char hex[65])
{
    const char *host = strstr(url, "//") + 2, *path = strchr(host, '/');
    char *creq = NULL, *sts = NULL, chash[65];
    uint8_t key[32], sig[32];
    int ret = AVERROR(ENOMEM);

    if (asprintf(&creq, "GET\n%s\n%s\nhost:%.*s\n\nhost\nUNSIGNED-PAYLOAD",
                 path, query, (int)(path - host), host) < 0)
        goto out;
    ret = cs_sha256_hex(creq, strlen(creq), chash);
    if (ret < 0)
        goto out;
    ret = AVERROR(ENOMEM);
    if (asprintf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s",
                 stamp, day, s3->region, chash) < 0)
        goto out;
    ret = signing_key(s3, day, key);
    if (ret >= 0)
        ret = cs_hmac_sha256(key, sizeof(key), sts, sig);
    if (ret >= 0)
        cs_hex(sig, sizeof(sig), hex);
    memset(key, 0, sizeof(key));
out:
    free(creq);
    free(sts);
    return ret;
}

int cs_s3_presign(struct cs_s3 *s3, const char *bucket, const char *key,
                  int expires, char **url)
{
    char stamp[20], day[9], hex[65];
    char *base = NULL, *q = NULL;
    const char *why;
    time_t now = time(NULL);
    struct tm tm;
    int ret = cs_s3i_url(s3, bucket, key, NULL, &base, &why);

    *url = NULL;
    if (why) {
        pthread_mutex_lock(&s3->lock);
        snprintf(s3->errmsg, sizeof(s3->errmsg), "refused: %s", why);
        pthread_mutex_unlock(&s3->lock);
    }
    if (ret >= 0 && (expires < 1 || expires > 604800))
        ret = CS_EUSAGE;
    if (ret < 0)
        goto out;
    ret = AVERROR(ENOMEM);
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    strftime(day, sizeof(day), "%Y%m%d", &tm);
    q = canonical_query(s3, stamp, day, expires);
    if (!q)
        goto out;
    ret = sign(s3, base, q, stamp, day, hex);
    if (ret >= 0 && asprintf(url, "%s?%s&X-Amz-Signature=%s", base, q,
                             hex) < 0) {
        *url = NULL;
        ret = AVERROR(ENOMEM);
    }
out:
    free(base);
    free(q);
    return ret;
}
