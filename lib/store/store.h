/* store.h: a store, a flat namespace of keys holding bytes: where cs-fetch
 * keeps assets and where the packager writes a stream.
 *
 * One small struct of function pointers per kind, chosen by the scheme of
 * the location through one table (store.c): a local folder (dir.c, the
 * default: files written atomically), S3 (s3store.c, on the client of
 * s3.h) and an HTTP origin taking PUT and DELETE (http.c: cs-serve's
 * ingest, nginx dav). A new kind is one file and one line of that table.
 *
 * Keys are relative to the store's root ("cats/2024-01-01.mp4",
 * "v0/12.m4s"), '/' separated, with no empty, '.' or '..' segment (refused
 * with CS_EUSAGE by every kind: store/key.h). Every write is whole or not
 * at all.
 *
 * Errors are negative codes: AVERROR(ENOENT) for a missing key, CS_EUSAGE
 * for a configuration problem, CS_ENET for an unavailable peer,
 * AVERROR(ENOSYS) for what a kind cannot do (an HTTP origin cannot list).
 * The functions taking a struct cs_err fill it (err.h's rule: the
 * first failure wins); a kind's own account of a failure ("HTTP 403
 * InvalidAccessKeyId") goes into the message through cs_store_fail().
 */
#ifndef CS_STORE_STORE_H
#define CS_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/mime.h"

struct cs_err;
struct cs_store;

/* How to reach a store; zero-initialised fields take the defaults. */
struct cs_store_opts {
    int64_t part_size;      /* S3: multipart threshold and part size;
                               <= 0: 8 MiB */
    const char *token;      /* HTTP: bearer token, or NULL */
    int retries;            /* HTTP: attempts after a failed request */
    int timeout_ms;         /* HTTP: per request; <= 0: 10 s. S3: without
                               a byte moving (then retried); <= 0: 30 s */
};

struct cs_store_entry {
    const char *key;
    int64_t size;
    const char *etag;       /* S3's ETag; "" for a folder */
};

/* Called for each key in key order; a negative return stops the listing. */
typedef int (*cs_store_list_fn)(void *opaque,
                                const struct cs_store_entry *e);

/* Where read bytes go; a negative return stops the transfer. */
typedef int (*cs_store_sink_fn)(void *opaque, const void *data, size_t len);

/* One kind of store. Only open, read, write, remove and close are
 * required; a NULL member answers AVERROR(ENOSYS). */
struct cs_store_ops {
    const char *kind;   /* "dir", "s3", "http" */
    /* set st->root and st->priv from st->location; ERR gets the
     * usage errors (a malformed location, missing credentials) */
    int (*open)(struct cs_store *st, const struct cs_store_opts *opts,
                struct cs_err *err);
    /* stream KEY into SINK; RESET (may be NULL) discards what the sink
     * got before a second try; *size (may be NULL) gets the length */
    int (*read)(struct cs_store *st, const char *key, cs_store_sink_fn sink,
                int (*reset)(void *opaque), void *opaque, int64_t *size);
    /* store LEN bytes as KEY with these headers (NULL: none) */
    int (*write)(struct cs_store *st, const char *key, const void *data,
                 size_t len, const char *type, const char *cache);
    /* store the file PATH as KEY (S3: in parts above part_size) */
    int (*write_file)(struct cs_store *st, const char *key, const char *path,
                      const char *type);
    int (*list)(struct cs_store *st, const char *prefix, cs_store_list_fn fn,
                void *opaque);
    /* remove KEY; AVERROR(ENOENT) may or may not say it was absent */
    int (*remove)(struct cs_store *st, const char *key);
    /* size and a content hash comparable with cs_file_etag() */
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
    char *root;         /* the folder, the key prefix ("" or "p/"), the URL */
    char *location;     /* as given, for messages */
    int64_t part_size;  /* multipart threshold and part size (S3) */
    void *priv;
};

/* The kinds, for the table in store.c. */
extern const struct cs_store_ops cs_store_dir;
extern const struct cs_store_ops cs_store_s3;
extern const struct cs_store_ops cs_store_http;

/* Open LOCATION: "s3://bucket[/prefix]", "http(s)://host/path/" or a
 * folder path (created when absent). OPTS may be NULL. Free with
 * cs_store_close(). */
int cs_store_open(struct cs_store **out, const char *location,
                  const struct cs_store_opts *opts, struct cs_err *err);

/* Open the store holding the object LOCATION ("s3://b/k/x.mp4",
 * "assets/x.mp4") and give its key (malloc'ed, the caller frees). */
int cs_store_open_object(struct cs_store **out, char **key,
                         const char *location,
                         const struct cs_store_opts *opts,
                         struct cs_err *err);

/* Close ST and clear *st (NULL-safe). */
void cs_store_close(struct cs_store **st);

/* Record CODE in ERR as "FMT: CAUSE", CAUSE being the store's own account
 * of its last failure when it has one, else the code's description. ST
 * may be NULL. Returns CODE. */
int cs_store_fail(struct cs_store *st, struct cs_err *err, int code,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The members of cs_store_ops, AVERROR(ENOSYS) when the kind has none. */
int cs_store_write_file(struct cs_store *st, const char *key,
                        const char *path, const char *type);
int cs_store_list(struct cs_store *st, const char *prefix,
                  cs_store_list_fn fn, void *opaque);
int cs_store_remove(struct cs_store *st, const char *key);
int cs_store_stat(struct cs_store *st, const char *key, int64_t *size,
                  char etag[80]);
int cs_store_locate(struct cs_store *st, const char *key, int expires,
                    char **where);

/* Store LEN bytes as KEY with the Content-Type of its name and the
 * Cache-Control of KIND (mime.h, as stored). On failure ERR says
 * "cannot write 'KEY' to 'LOCATION': CAUSE". */
int cs_store_put(struct cs_store *st, const char *key, const void *data,
                 size_t len, enum cs_file_kind kind, struct cs_err *err);

/* Remove KEY; an absent key is no failure. A failure is a warning (what
 * leaves a live window may stay behind) and returned. */
int cs_store_delete(struct cs_store *st, const char *key);

/* Read KEY whole (at most MAX bytes) into a malloc'ed NUL-terminated
 * buffer. The caller frees *data. */
int cs_store_read_mem(struct cs_store *st, const char *key, size_t max,
                      char **data, size_t *len);

/* Read KEY to the file descriptor FD (a file or a pipe); a stop request
 * ends it with CS_ESTOP. PROGRESS (may be NULL) is called with the bytes
 * written so far after each block. *size (may be NULL) gets the count. */
int cs_store_read_fd(struct cs_store *st, const char *key, int fd,
                     int64_t *size, void (*progress)(void *opaque,
                                                     int64_t done),
                     void *opaque);

/* Read KEY into the file PATH through a temporary name, so PATH is whole
 * or absent; otherwise as cs_store_read_fd(). */
int cs_store_read_file(struct cs_store *st, const char *key,
                       const char *path, int64_t *size,
                       void (*progress)(void *opaque, int64_t done),
                       void *opaque);

#endif
