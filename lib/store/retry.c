#include "store/retry.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "sig.h"

void cs_retry_init(struct cs_retry *r, int max, uint64_t seed)
{
    r->max = max;
    r->attempt = 0;
    r->base = 0.2;
    r->cap = 5.0;
    r->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

static double uniform(struct cs_retry *r)
{
    uint64_t x = r->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->rng = x;
    return (double)(x >> 11) / (double)(1ull << 53);
}

double cs_retry_next_delay(struct cs_retry *r, double retry_after)
{
    double ceil = r->base;

    for (int i = 0; i < r->attempt && ceil < r->cap; i++)
        ceil *= 2;
    if (ceil > r->cap)
        ceil = r->cap;
    r->attempt++;
    if (retry_after > 0)
        return retry_after < 10 * r->cap ? retry_after : 10 * r->cap;
    return ceil * uniform(r);
}

int cs_retry_wait(struct cs_retry *r, double retry_after)
{
    double d;
    struct pollfd p = { .fd = cs_sig_fd(), .events = POLLIN };

    if (cs_stopping())
        return CS_ESTOP;
    if (r->attempt >= r->max)
        return 0;
    d = cs_retry_next_delay(r, retry_after);
    if (p.fd >= 0) {
        if (poll(&p, 1, (int)(d * 1000)) > 0)
            return CS_ESTOP;
    } else {
        struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };

        nanosleep(&ts, NULL);
    }
    return cs_stopping() ? CS_ESTOP : 1;
}

int cs_retry_http(long status, const char *code)
{
    static const char *const transient[] = {
        "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
        "BadDigest", "IncompleteBody", NULL,
    };

    if (status >= 500 || status == 429)
        return 1;
    for (int i = 0; code && transient[i]; i++)
        if (!strcmp(code, transient[i]))
            return 1;
    return 0;
}

int cs_retry_curl(int curl_code)
{
    switch (curl_code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

double cs_retry_after_parse(const char *value)
{
    char *end;
    double s;
    time_t t, now;

    if (!value || !*value)
        return 0;
    s = strtod(value, &end);
    if (end != value && (*end == 0 || *end == '\r' || *end == '\n'))
        return s > 0 ? s : 0;
    t = curl_getdate(value, NULL);
    now = time(NULL);
    return t > now ? (double)(t - now) : 0;
}
