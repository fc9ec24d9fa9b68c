/* digest.h: the hashes S3 wants, in the spellings it wants them, and the
 * ETag of a local file to compare with one of S3's. */
#ifndef CS_STORE_DIGEST_H
#define CS_STORE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of LEN bytes as 64 lower-case hex digits + NUL (hex[65]). */
int cs_sha256_hex(const void *data, size_t len, char hex[65]);

/* MD5 of LEN bytes: raw (md5[16]). */
void cs_md5(const void *data, size_t len, uint8_t md5[16]);

/* Lower-case hex of N bytes into OUT (2 * N + 1 bytes). */
void cs_hex(const uint8_t *in, size_t n, char *out);

/* Base64 of the MD5 of LEN bytes (Content-MD5), b64[25]. */
void cs_md5_base64(const void *data, size_t len, char b64[25]);

/* Both digests of an upload's body: the hex SHA-256 (x-amz-content-sha256)
 * and the base64 MD5 (Content-MD5), the two on two threads for a large
 * body. 0, or a negative code. */
int cs_body_digests(const void *data, size_t len, char sha[65],
                    char md5[25]);

/* HMAC-SHA256 of MSG with KEY into out[32]. */
int cs_hmac_sha256(const uint8_t *key, size_t keylen, const char *msg,
                   uint8_t out[32]);

/* The ETag S3 gives the file PATH when uploaded with PART_SIZE parts: the
 * hex MD5 for a single part, else MD5 of the parts' MD5s + "-N". */
int cs_file_etag(const char *path, int64_t part_size, char etag[80]);

#endif
