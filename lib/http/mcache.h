/* http/mcache.h: the DASH manifests cs-serve has read, kept with their
 * gzip'ed form until the file changes, so that a manifest polled by every
 * player is read and compressed once per version, not once per request.
 * Entries are shared by reference: a response holds one until its last
 * byte is sent. */
#ifndef CS_HTTP_MCACHE_H
#define CS_HTTP_MCACHE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CS_MCACHE_SLOTS 32

/* One version of one file. */
struct cs_blob {
    atomic_int refs;
    char *path;               /* absolute */
    char etag[80];            /* the file's validator when read */
    char *text;
    size_t len;
    char *gz;                 /* NULL: not compressible (or failed) */
    size_t gzlen;
};

struct cs_mcache {
    pthread_mutex_t mu;
    struct cs_blob *slot[CS_MCACHE_SLOTS];
    unsigned next;            /* slot replaced when none matches */
    atomic_llong hits, misses;
};

int cs_mcache_init(struct cs_mcache *c);
void cs_mcache_free(struct cs_mcache *c);

/* The version of PATH whose validator is ETAG (at most MAX bytes), read
 * and compressed if it is not cached. The caller owns a reference. */
int cs_mcache_get(struct cs_mcache *c, const char *path, const char *etag,
                  int64_t max, struct cs_blob **out);

/* Drop a reference (a libmicrohttpd free callback); NULL-safe. */
void cs_blob_unref(void *blob);

#endif
