/* out/out.h: where a packager's files go. A folder, an HTTP origin (PUT and
 * DELETE) or an S3 bucket, behind one small struct of function pointers, so
 * that a new destination is one file.
 *
 * Names are relative to the output root ("720p/12.m4s"). Every put is whole
 * or not at all: a folder writes a temporary name and renames it, HTTP and
 * S3 replace an object in one request.
 */
#ifndef CS_OUT_H
#define CS_OUT_H

#include <stddef.h>
#include <stdint.h>

/* What a file is, which decides its Content-Type and Cache-Control. */
enum cs_out_kind {
    CS_OUT_PLAYLIST,    /* .m3u8, .mpd: changes every part: max-age=1 */
    CS_OUT_MEDIA,       /* segments, parts, init segments: immutable */
    CS_OUT_STATE,       /* the packager's private restart state */
};

struct cs_out_opts {
    const char *token;      /* bearer token for HTTP outputs, or NULL */
    int retries;            /* attempts after a failed request (HTTP, S3) */
    int timeout_ms;         /* per request (HTTP, S3) */
};

struct cs_out;

struct cs_out_ops {
    const char *name;
    int (*open)(struct cs_out *o, const char *url,
                const struct cs_out_opts *opts);
    int (*put)(struct cs_out *o, const char *name, const void *data,
               size_t len, const char *type, const char *cache);
    int (*del)(struct cs_out *o, const char *name);
    /* Read a whole object (at most MAX bytes) into a malloc'ed buffer;
     * AVERROR(ENOENT) when it does not exist. */
    int (*get)(struct cs_out *o, const char *name, size_t max, char **data,
               size_t *len);
    void (*close)(struct cs_out *o);
};

struct cs_out {
    const struct cs_out_ops *ops;
    void *priv;
    char *url;              /* as given, for messages (no secrets in it) */
};

/* Open URL: a folder path, "http(s)://host/path/" or "s3://bucket/prefix/".
 * The folder is created when missing. *out is freed with cs_out_free(). */
int cs_out_open(struct cs_out **out, const char *url,
                const struct cs_out_opts *opts);

/* Store DATA under NAME with the headers fitting KIND. */
int cs_out_put(struct cs_out *o, const char *name, const void *data,
               size_t len, enum cs_out_kind kind);

/* Remove NAME; a missing file is not an error. */
int cs_out_delete(struct cs_out *o, const char *name);

/* Read NAME (see cs_out_ops.get). The caller frees *data. */
int cs_out_get(struct cs_out *o, const char *name, size_t max, char **data,
               size_t *len);

/* The Content-Type for a file name ("video/iso.segment" for .m4s ...). */
const char *cs_out_content_type(const char *name);

/* The Cache-Control value for a kind of file. */
const char *cs_out_cache_control(enum cs_out_kind kind);

void cs_out_free(struct cs_out **o);

extern const struct cs_out_ops cs_out_dir;
extern const struct cs_out_ops cs_out_http;
extern const struct cs_out_ops cs_out_s3;

#endif
