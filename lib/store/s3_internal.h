/* store/s3_internal.h: what s3.c shares with multipart.c and presign.c. Not an API. */
#ifndef CS_STORE_S3_INTERNAL_H
#define CS_STORE_S3_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>

#include "store/md5pipe.h"
#include "store/s3.h"

struct cs_s3 {
    char *access_key;
    char *secret_key;       /* never logged */
    char *token;            /* never logged */
    char *region;
    char *endpoint;         /* scheme://host[:port], no trailing '/' */
    int path_style;
    int retries;
    double timeout;
    char sigv4[96];         /* "aws:amz:REGION:s3" */
    CURL *curl;
    pthread_mutex_t lock;   /* guards curl, seed, errmsg */
    uint64_t seed;
    char errmsg[320];
};

/* One request and its outcome. */
struct s3_req {
    const char *method;         /* GET PUT POST DELETE HEAD */
    const char *bucket;
    const char *key;            /* NULL: the bucket itself */
    const char *query;          /* encoded, keys sorted; NULL: none */
    const void *body;
    size_t body_len;
    const char *content_type;
    const char *cache_control;
    cs_s3_sink_fn sink;         /* the body of a 2xx reply, else buffered */
    void *opaque;
    size_t max_resp;            /* cap for a buffered body */
    int error_in_200;           /* a 200 may carry <Error> (POST replies) */
    int check_etag;             /* an upload: the ETag answered must be the
                                   MD5 of the body (unless the store
                                   encrypts with KMS or a customer key) */
    /* results */
    long status;
    int64_t length;             /* Content-Length of the reply, -1 if none */
    int64_t got;                /* body bytes given to the sink, over all
                                   attempts: a retry resumes there with a
                                   Range request */
    int64_t offset;             /* where this attempt started */
    int64_t skip;               /* bytes of a 200 reply to drop (the server
                                   ignored the Range) */
    int64_t expect;             /* object size the reply implies, -1 */
    int started;                /* the body of this attempt began */
    int etag_bad;               /* an attempt's ETag was not the body's */
    int encrypted;              /* SSE-KMS or SSE-C: the ETag is no MD5 */
    char etag[128];
    double retry_after;
    char *resp;                 /* buffered body, NUL-terminated */
    size_t resp_len;
    size_t resp_cap;
    struct cs_md5pipe *md5;     /* over the sink's bytes, when set */
    CURL *curl;                 /* set by cs_s3i_request */
    int sink_ret;
};

/* Run R with retries; 0 on a 2xx reply, else a negative code (see s3.h)
 * with the cause in s3->errmsg. Frees nothing: call s3_req_release. */
int cs_s3i_request(struct cs_s3 *s3, struct s3_req *r);

/* Append N bytes at P to the NUL-terminated buffer *data (*len used, *cap
 * allocated): CS_EDATA past MAX bytes. */
int cs_s3i_grow(char **data, size_t *len, size_t *cap, size_t max,
                const void *p, size_t n);

/* Free the buffered reply of R. */
void cs_s3i_req_release(struct s3_req *r);

/* The URL of BUCKET/KEY (KEY may be NULL: the bucket) with QUERY (encoded
 * already), malloc'ed in *url: the one place a key becomes a URL, for
 * every request and presigned URL. The key is percent-encoded as SigV4
 * signs it (all but A-Z a-z 0-9 - . _ ~ and '/'), and requests send the
 * path as is (CURLOPT_PATH_AS_IS), so what is signed is what the server
 * gets. CS_EUSAGE, with *why saying which, for a bucket that is not a
 * bucket name or a key that cs_key_check_path() refuses: a server or a
 * client normalising the path would address another object. */
int cs_s3i_url(const struct cs_s3 *s3, const char *bucket, const char *key,
               const char *query, char **url, const char **why);

/* Append S percent-encoded (RFC 3986 unreserved kept; '/' kept when
 * KEEP_SLASH) to the malloc'ed string *dst. */
int cs_s3i_append_enc(char **dst, const char *s, int keep_slash);

#endif
