/* retry.h: when and how long to wait before trying a request again.
 *
 * Exponential back-off with full jitter (a delay drawn uniformly from
 * [0, min(cap, base * 2^attempt)]), a server's Retry-After taking its place
 * when given. The wait is cut short by a stop request (sig.h).
 */
#ifndef CS_STORE_RETRY_H
#define CS_STORE_RETRY_H

#include <stdint.h>

struct cs_retry {
    int max;        /* retries after the first attempt */
    int attempt;    /* retries done so far */
    double base;    /* first back-off ceiling, seconds */
    double cap;     /* largest wait, seconds */
    uint64_t rng;   /* xorshift state, never 0 */
};

/* Start a retry budget of MAX retries; SEED makes the jitter vary between
 * processes (any value). */
void cs_retry_init(struct cs_retry *r, int max, uint64_t seed);

/* The next delay in seconds (jittered), or RETRY_AFTER when > 0 (capped at
 * 10 times cap). Advances the attempt count. */
double cs_retry_next_delay(struct cs_retry *r, double retry_after);

/* After a transient failure: 1 after sleeping the next delay when a retry
 * is left, 0 when the budget is spent, CS_ESTOP when a stop was requested. */
int cs_retry_wait(struct cs_retry *r, double retry_after);

/* True for an HTTP status / S3 error code worth retrying: 5xx, 429,
 * SlowDown, RequestTimeout, InternalError, ServiceUnavailable. */
int cs_retry_http(long status, const char *code);

/* True for a libcurl result worth retrying (timeouts, resets, refused or
 * dropped connections, truncated transfers). */
int cs_retry_curl(int curl_code);

/* Seconds from a Retry-After header value (delta-seconds or an HTTP date);
 * 0 if absent or unparsable. */
double cs_retry_after_parse(const char *value);

#endif
