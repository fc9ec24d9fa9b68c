/* s3.h: a small S3 client (AWS or any S3-compatible endpoint).
 *
 * Requests are signed by libcurl (CURLOPT_AWS_SIGV4); the payload hash
 * (x-amz-content-sha256) and Content-MD5 are computed here and sent, so the
 * server checks every byte it stores. Transient failures (5xx, SlowDown,
 * timeouts, reset connections, a 200 that carries an <Error>) are retried
 * with exponential back-off and jitter, honouring Retry-After.
 *
 * Secrets (the secret key and the session token) are never logged.
 *
 * Errors, as negative codes for cs_exit_status():
 *   AVERROR(ENOENT)  the bucket or key does not exist        (exit 3)
 *   CS_EUSAGE        credentials rejected (403), bad setting,
 *                    a bucket name or key refused (store/key.h:
 *                    an empty, '.' or '..' segment)          (exit 2)
 *   CS_ENET          peer unavailable after the retries      (exit 4)
 *   CS_EDATA         a reply that is not what S3 sends, a length or
 *                    ETag mismatch on download               (exit 3)
 *
 * A client may be shared by several threads: requests on one client are
 * serialised (one connection, kept alive). Use one client per thread for
 * parallel transfers.
 */
#ifndef CS_STORE_S3_H
#define CS_STORE_S3_H

#include <stddef.h>
#include <stdint.h>

struct cs_err;
struct cs_s3;

/* Settings; NULL strings take the environment's value. */
struct cs_s3_config {
    const char *access_key;     /* AWS_ACCESS_KEY_ID */
    const char *secret_key;     /* AWS_SECRET_ACCESS_KEY */
    const char *session_token;  /* AWS_SESSION_TOKEN (optional) */
    const char *region;         /* AWS_REGION, AWS_DEFAULT_REGION, us-east-1 */
    const char *endpoint;       /* AWS_ENDPOINT_URL(_S3); NULL: AWS */
    int path_style;             /* -1 auto (path-style iff endpoint set) */
    int retries;                /* attempts after the first; <0: from
                                 * AWS_MAX_ATTEMPTS, else 5 */
    double timeout;             /* seconds without progress; <=0: 30 */
};

/* One object of a listing. */
struct cs_s3_object {
    const char *key;
    int64_t size;
    const char *etag;           /* with its quotes removed */
    const char *last_modified;  /* ISO 8601 as the server sent it */
};

/* Called once per object by cs_s3_list(); a negative return stops the
 * listing and is returned. The strings live only during the call. */
typedef int (*cs_s3_list_fn)(void *opaque, const struct cs_s3_object *obj);

/* Called with each block of a downloaded body; negative stops. */
typedef int (*cs_s3_sink_fn)(void *opaque, const void *data, size_t len);

/* Create a client from CFG (may be NULL: all from the environment).
 * Missing credentials or a bad endpoint give CS_EUSAGE with ERR saying
 * which. Free with cs_s3_free(). */
int cs_s3_new(struct cs_s3 **out, const struct cs_s3_config *cfg,
              struct cs_err *err);

/* The same as cs_s3_new(out, NULL, err). */
int cs_s3_new_from_env(struct cs_s3 **out, struct cs_err *err);

/* Release a client and clear *s3 (NULL-safe). */
void cs_s3_free(struct cs_s3 **s3);

/* Split "s3://bucket/prefix" into malloc'ed *bucket and *key (the key
 * without a leading '/', "" when absent). CS_EUSAGE if not an s3:// URL. */
int cs_s3_parse_url(const char *url, char **bucket, char **key);

/* The cause of the last failed request on this client, for an error line
 * ("HTTP 403 InvalidAccessKeyId", "connection refused"); "" if none. Only
 * meaningful when the client is not shared between threads. */
const char *cs_s3_errmsg(struct cs_s3 *s3);

/* PUT LEN bytes from DATA as BUCKET/KEY. content_type and cache_control
 * may be NULL (application/octet-stream, none). */
int cs_s3_put(struct cs_s3 *s3, const char *bucket, const char *key,
              const void *data, size_t len, const char *content_type,
              const char *cache_control);

/* Upload the file PATH: one PUT up to PART_SIZE bytes, a multipart upload
 * (parts of PART_SIZE, at least 5 MiB, each retried) above it. A failed
 * multipart upload is aborted so that no part stays stored. */
int cs_s3_put_file(struct cs_s3 *s3, const char *bucket, const char *key,
                   const char *path, int64_t part_size,
                   const char *content_type, const char *cache_control);

/* GET BUCKET/KEY into a malloc'ed buffer (*data, NUL-terminated, *len
 * bytes not counting the NUL); more than MAX bytes is CS_EDATA. The caller
 * frees *data. */
int cs_s3_get(struct cs_s3 *s3, const char *bucket, const char *key,
              size_t max, uint8_t **data, size_t *len);

/* GET BUCKET/KEY into SINK. A connection broken midway is resumed where it
 * stopped (a Range request), so the sink sees each byte once, in order.
 * The length and, for single-part objects, the MD5 ETag are checked; on a
 * mismatch RESET (may be NULL: no second try) is called to discard what
 * the sink got, and the object is fetched again. *size (may be NULL) gets
 * the object size. */
int cs_s3_get_sink(struct cs_s3 *s3, const char *bucket, const char *key,
                   cs_s3_sink_fn sink, int (*reset)(void *opaque),
                   void *opaque, int64_t *size);

/* HEAD BUCKET/KEY: size and ETag (etag may be NULL, else a buffer of at
 * least 80 bytes). AVERROR(ENOENT) when absent. */
int cs_s3_head(struct cs_s3 *s3, const char *bucket, const char *key,
               int64_t *size, char *etag);

/* DELETE BUCKET/KEY (deleting an absent key succeeds, as in S3). */
int cs_s3_delete(struct cs_s3 *s3, const char *bucket, const char *key);

/* List every key under PREFIX (ListObjectsV2, following continuation
 * tokens past 1000 keys), in key order. */
int cs_s3_list(struct cs_s3 *s3, const char *bucket, const char *prefix,
               cs_s3_list_fn fn, void *opaque);

/* A presigned GET URL for BUCKET/KEY valid for EXPIRES seconds (1 to
 * 604800). The caller frees *url. */
int cs_s3_presign(struct cs_s3 *s3, const char *bucket, const char *key,
                  int expires, char **url);

#endif
