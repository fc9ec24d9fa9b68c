/* s3url.c: the one place a bucket and a key become a URL (s3_internal.h), for
 * every request (s3req.c) and presigned URL (presign.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store/key.h"
#include "store/s3_internal.h"

int cs_s3i_append_enc(char **dst, const char *s, int keep_slash)
{
    size_t n = *dst ? strlen(*dst) : 0;
    char *d = realloc(*dst, n + 3 * strlen(s) + 1);

    if (!d)
        return AVERROR(ENOMEM);
    *dst = d;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keep_slash && c == '/'))
            d[n++] = (char)c;
        else
            n += (size_t)sprintf(d + n, "%%%02X", c);
    }
    d[n] = 0;
    return 0;
}

static int append_raw(char **dst, const char *s)
{
    size_t n = strlen(*dst);
    char *d = realloc(*dst, n + strlen(s) + 1);

    if (!d)
        return AVERROR(ENOMEM);
    strcpy(d + n, s);
    *dst = d;
    return 0;
}

/* S3's bucket names: letters, digits, '.', '-' and (in old buckets) '_';
 * anything else would change the host or the path of the URL. */
static int bucket_ok(const char *b)
{
    if (!*b || !strcmp(b, ".") || !strcmp(b, ".."))
        return 0;
    for (; *b; b++)
        if (!isalnum((unsigned char)*b) && !strchr(".-_", *b))
            return 0;
    return 1;
}

static char *base_url(const struct cs_s3 *s3, const char *bucket)
{
    const char *host = s3->endpoint ? strstr(s3->endpoint, "//") + 2 : NULL;
    /* a dotted bucket name would not match the wildcard certificate of a
     * virtual host: path-style for those */
    int path = s3->path_style || strchr(bucket, '.');
    char *u = NULL;
    int n;

    if (path && s3->endpoint)
        n = asprintf(&u, "%s/%s/", s3->endpoint, bucket);
    else if (path)
        n = asprintf(&u, "https://s3.%s.amazonaws.com/%s/", s3->region,
                     bucket);
    else if (s3->endpoint)
        n = asprintf(&u, "%.*s%s.%s/", (int)(host - s3->endpoint),
                     s3->endpoint, bucket, host);
    else
        n = asprintf(&u, "https://%s.s3.%s.amazonaws.com/", bucket,
                     s3->region);
    return n < 0 ? NULL : u;
}

int cs_s3i_url(const struct cs_s3 *s3, const char *bucket, const char *key,
               const char *query, char **url, const char **why)
{
    char *u;

    *url = NULL;
    *why = NULL;
    if (!bucket_ok(bucket))
        *why = "not a bucket name";
    else if (key && cs_key_check_path(key) < 0)
        *why = CS_KEY_PATH_WHY;
    if (*why)
        return CS_EUSAGE;
    u = base_url(s3, bucket);
    if (!u || (key && cs_s3i_append_enc(&u, key, 1) < 0) ||
        (query && (append_raw(&u, "?") < 0 || append_raw(&u, query) < 0))) {
        free(u);
        return AVERROR(ENOMEM);
    }
    *url = u;
    return 0;
}
