/* store.h: an asset store, a flat namespace of keys holding bytes.
 *
 * Two kinds behind one small struct of function pointers: a local folder
 * (dir.c, the embedded default: files written atomically) and S3
 * (s3store.c, on the client of s3.h). Keys are relative to the store's
 * root ("cats/2024-01-01.mp4"), '/' separated, with no empty, '.' or '..'
 * segment (refused with CS_EUSAGE by both kinds: store/key.h).
 *
 * Errors are the codes of s3.h: AVERROR(ENOENT) for a missing key,
 * CS_EUSAGE for a configuration problem, CS_ENET for an unavailable peer.
 */
#ifndef CS_STORE_STORE_H
#define CS_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct cs_store;

struct cs_store_entry {
    const char *key;
    int64_t size;
    const char *etag;       /* S3's ETag; "" for a folder */
};

/* Called for each key in key order; a negative return stops the listing. */
typedef int (*cs_store_list_fn)(void *opaque,
                                const struct cs_store_entry *e);

/* Where downloaded bytes go; a negative return stops the transfer. */
typedef int (*cs_store_sink_fn)(void *opaque, const void *data, size_t len);

struct cs_store_ops {
    const char *kind;   /* "dir" or "s3" */
    int (*get)(struct cs_store *st, const char *key, cs_store_sink_fn sink,
               int (*reset)(void *opaque), void *opaque, int64_t *size);
    int (*put_file)(struct cs_store *st, const char *key, const char *path,
                    const char *content_type);
    int (*put_mem)(struct cs_store *st, const char *key, const void *data,
                   size_t len, const char *content_type);
    int (*list)(struct cs_store *st, const char *prefix, cs_store_list_fn fn,
                void *opaque);
    int (*remove)(struct cs_store *st, const char *key);
    /* size and a content hash comparable with cs_store_file_etag() */
    int (*stat)(struct cs_store *st, const char *key, int64_t *size,
                char etag[80]);
    /* a path or URL a player can open for KEY; malloc'ed */
    int (*locate)(struct cs_store *st, const char *key, int expires,
                  char **where);
    /* the cause of the last failure ("HTTP 403 ..."), or NULL */
    const char *(*cause)(struct cs_store *st);
    void (*close)(struct cs_store *st);
};

struct cs_store {
    const struct cs_store_ops *ops;
    char *root;         /* the folder, or the key prefix ("" or "p/") */
    char *location;     /* as given, for messages */
    int64_t part_size;  /* multipart threshold and part size (S3) */
    void *priv;
};

/* Open LOCATION: "s3://bucket[/prefix]" or a folder path (created when
 * absent). PART_SIZE <= 0 takes 8 MiB. Free with cs_store_close(). */
int cs_store_open(struct cs_store **out, const char *location,
                  int64_t part_size);

/* Open the store holding the object LOCATION ("s3://b/k/x.mp4",
 * "assets/x.mp4") and give its key (malloc'ed, the caller frees). */
int cs_store_open_object(struct cs_store **out, char **key,
                         const char *location, int64_t part_size);

/* Close ST and clear *st (NULL-safe). */
void cs_store_close(struct cs_store **st);

/* Open a folder store (dir.c) or an S3 store (s3store.c) on ST, whose
 * location and root are set. Used by cs_store_open(). */
int cs_store_dir_init(struct cs_store *st);
int cs_store_s3_init(struct cs_store *st, const char *bucket);

/* Read KEY whole (at most MAX bytes) into a malloc'ed NUL-terminated
 * buffer. The caller frees *data. */
int cs_store_get_mem(struct cs_store *st, const char *key, size_t max,
                     char **data, size_t *len);

/* Download KEY to the file descriptor FD (a file or a pipe); a stop
 * request ends it with CS_ESTOP. PROGRESS (may be NULL) is called with the
 * bytes written so far after each block. *size (may be NULL) gets the byte
 * count. */
int cs_store_get_fd(struct cs_store *st, const char *key, int fd,
                    int64_t *size, void (*progress)(void *opaque,
                                                    int64_t done),
                    void *opaque);

/* Download KEY into the file PATH through a temporary name, so PATH is
 * whole or absent. *size (may be NULL) gets the byte count. PROGRESS (may
 * be NULL) is called with the bytes written so far after each block. */
int cs_store_get_file(struct cs_store *st, const char *key, const char *path,
                      int64_t *size, void (*progress)(void *opaque,
                                                      int64_t done),
                      void *opaque);

/* The ETag S3 gives PATH when uploaded with PART_SIZE parts: the hex MD5
 * for a single part, else MD5 of the parts' MD5s + "-N". */
int cs_store_file_etag(const char *path, int64_t part_size, char etag[80]);

/* The cause of ERR for an error line: the store's own account of its last
 * failure when it has one, else cs_strerror(). ST may be NULL. */
const char *cs_store_cause(struct cs_store *st, int err, char *buf,
                           size_t size);

/* A Content-Type from KEY's extension (video/mp4, application/json, ...). */
const char *cs_store_mime(const char *key);

#endif
