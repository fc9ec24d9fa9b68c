/* multipart.c: upload a file, in parts when it is larger than one part.
 *
 * Each part is a request of its own, retried by the request core; when a
 * part fails for good (or a stop is requested) the upload is aborted, so no
 * half-written object becomes visible and no stored part is left behind. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "sig.h"
#include "store/s3_internal.h"
#include "store/s3xml.h"

#define MIN_PART (5 << 20)
#define MAX_PARTS 10000

struct upload {
    struct cs_s3 *s3;
    const char *bucket, *key;
    char id[512];
    char (*etags)[80];
    int parts;
};

static int read_full(int fd, uint8_t *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, off);

        if (n < 0)
            return AVERROR(errno);
        if (n == 0)
            return AVERROR_EOF;
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int initiate(struct upload *u, const char *ct, const char *cc)
{
    struct cs_s3xml x = { 0 };
    struct s3_req r = {
        .method = "POST", .bucket = u->bucket, .key = u->key,
        .query = "uploads=", .body = "", .content_type = ct,
        .cache_control = cc, .error_in_200 = 1,
    };
    int ret = cs_s3i_request(u->s3, &r);

    if (ret >= 0)
        ret = cs_s3xml_parse(&x, r.resp ? r.resp : "", r.resp_len);
    if (ret >= 0 && !x.upload_id[0])
        ret = CS_EDATA;
    if (ret >= 0)
        snprintf(u->id, sizeof(u->id), "%s", x.upload_id);
    cs_s3i_req_release(&r);
    return ret;
}

static int query(char **q, const char *fmt, int n, const char *id)
{
    char *e = strdup("");

    *q = NULL;
    if (!e || cs_s3i_append_enc(&e, id, 0) < 0 ||
        (n > 0 ? asprintf(q, fmt, n, e) : asprintf(q, fmt, e)) < 0) {
        free(e);
        *q = NULL;
        return AVERROR(ENOMEM);
    }
    free(e);
    return 0;
}

static int put_part(struct upload *u, int n, const uint8_t *buf, size_t len)
{
    struct s3_req r = {
        .method = "PUT", .bucket = u->bucket, .key = u->key,
        .body = buf, .body_len = len, .check_etag = 1,
    };
    char *q;
    int ret = query(&q, "partNumber=%d&uploadId=%s", n, u->id);

    if (ret < 0)
        return ret;
    r.query = q;
    ret = cs_s3i_request(u->s3, &r);
    if (ret >= 0 && !r.etag[0])
        ret = CS_EDATA;
    if (ret >= 0)
        snprintf(u->etags[n - 1], sizeof(u->etags[0]), "%.78s", r.etag);
    cs_s3i_req_release(&r);
    free(q);
    return ret;
}

static char *complete_body(const struct upload *u)
{
    size_t cap = 64 + (size_t)u->parts * 140, n;
    char *b = malloc(cap);

    if (!b)
        return NULL;
    n = (size_t)snprintf(b, cap, "<CompleteMultipartUpload>");
    for (int i = 0; i < u->parts; i++)
        n += (size_t)snprintf(b + n, cap - n, "<Part><PartNumber>%d"
                              "</PartNumber><ETag>\"%s\"</ETag></Part>",
                              i + 1, u->etags[i]);
    snprintf(b + n, cap - n, "</CompleteMultipartUpload>");
    return b;
}

static int finish(struct upload *u, int abort)
{
    struct s3_req r = {
        .method = abort ? "DELETE" : "POST", .bucket = u->bucket,
        .key = u->key, .error_in_200 = 1, .content_type = "application/xml",
    };
    char *q, *body = abort ? NULL : complete_body(u);
    int ret = query(&q, "uploadId=%s", 0, u->id);

    if (ret >= 0 && !abort && !body)
        ret = AVERROR(ENOMEM);
    if (ret >= 0) {
        r.query = q;
        r.body = body;
        r.body_len = body ? strlen(body) : 0;
        ret = cs_s3i_request(u->s3, &r);
    }
    cs_s3i_req_release(&r);
    free(body);
    free(q);
    return ret;
}

static int upload_parts(struct upload *u, int fd, int64_t size,
                        int64_t part)
{
    uint8_t *buf = malloc((size_t)part);
    int ret = buf ? 0 : AVERROR(ENOMEM);

    for (int i = 0; ret >= 0 && i < u->parts; i++) {
        int64_t off = (int64_t)i * part;
        size_t len = (size_t)(size - off < part ? size - off : part);

        if (cs_stopping()) {
            ret = CS_ESTOP;
            break;
        }
        ret = read_full(fd, buf, len, off);
        if (ret >= 0)
            ret = put_part(u, i + 1, buf, len);
        cs_verbose("'%s': part %d of %d %s", u->key, i + 1, u->parts,
                   ret >= 0 ? "stored" : "failed");
    }
    free(buf);
    return ret;
}

static int multipart(struct cs_s3 *s3, const char *bucket, const char *key,
                     int fd, int64_t size, int64_t part, const char *ct,
                     const char *cc)
{
    struct upload u = { .s3 = s3, .bucket = bucket, .key = key };
    char saved[sizeof(s3->errmsg)];
    int ret;

    u.parts = (int)((size + part - 1) / part);
    u.etags = calloc((size_t)u.parts, sizeof(*u.etags));
    if (!u.etags)
        return AVERROR(ENOMEM);
    ret = initiate(&u, ct, cc);
    if (ret < 0)
        goto out;
    ret = upload_parts(&u, fd, size, part);
    if (ret >= 0)
        ret = finish(&u, 0);
    if (ret < 0) {
        /* keep the cause of the failure, not the abort's */
        snprintf(saved, sizeof(saved), "%s", s3->errmsg);
        if (finish(&u, 1) < 0)
            cs_warn("could not abort the upload of '%s': %s", key,
                    s3->errmsg);
        snprintf(s3->errmsg, sizeof(s3->errmsg), "%s", saved);
    }
out:
    free(u.etags);
    return ret;
}

/* One PUT of the whole file, from a mapping of it: no copy of the file in
 * memory and no page faults of a fresh buffer before the hashes start. */
static int put_whole(struct cs_s3 *s3, const char *bucket, const char *key,
                     int fd, size_t size, const char *ct, const char *cc)
{
    uint8_t *buf;
    int ret;

    if (!size)
        return cs_s3_put(s3, bucket, key, "", 0, ct, cc);
    buf = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (buf == MAP_FAILED) {
        /* not mappable (a FIFO, say, or no address space): read it in */
        buf = malloc(size);
        ret = buf ? read_full(fd, buf, size, 0) : AVERROR(ENOMEM);
        if (ret >= 0)
            ret = cs_s3_put(s3, bucket, key, buf, size, ct, cc);
        free(buf);
        return ret;
    }
    madvise(buf, size, MADV_SEQUENTIAL);
    ret = cs_s3_put(s3, bucket, key, buf, size, ct, cc);
    munmap(buf, size);
    return ret;
}

int cs_s3_put_file(struct cs_s3 *s3, const char *bucket, const char *key,
                   const char *path, int64_t part_size,
                   const char *content_type, const char *cache_control)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int ret;

    if (fd < 0)
        return AVERROR(errno);
    ret = fstat(fd, &st) < 0 ? AVERROR(errno) : 0;
    if (ret < 0)
        goto out;
    if (part_size < MIN_PART)
        part_size = MIN_PART;
    while (st.st_size / part_size >= MAX_PARTS)
        part_size *= 2;
    if (st.st_size > part_size) {
        ret = multipart(s3, bucket, key, fd, st.st_size, part_size,
                        content_type, cache_control);
        goto out;
    }
    ret = put_whole(s3, bucket, key, fd, (size_t)st.st_size, content_type,
                    cache_control);
out:
    close(fd);
    return ret;
}
