/* s3xml.h: the few S3 XML replies this client reads, parsed with expat:
 * Error, ListBucketResult (ListObjectsV2), InitiateMultipartUploadResult
 * and CompleteMultipartUploadResult. */
#ifndef CS_STORE_S3XML_H
#define CS_STORE_S3XML_H

#include <stdint.h>

#include "store/s3.h"

struct cs_s3xml {
    /* results */
    char root[64];          /* name of the document element */
    char code[64];          /* <Error><Code> */
    char message[256];      /* <Error><Message> */
    char upload_id[512];    /* <UploadId> */
    char token[1024];       /* <NextContinuationToken> */
    char etag[128];         /* <ETag> of a completed upload */
    int truncated;          /* <IsTruncated>true */
    int keys;               /* <Contents> seen */
    /* called for each <Contents> of a listing (may be NULL) */
    cs_s3_list_fn fn;
    void *opaque;
    int fn_ret;             /* the first negative return of fn */
    /* parser state */
    int depth;
    int overflow;           /* a text longer than its buffer: stops */
    void *parser;           /* the XML_Parser, while parsing */
    size_t text_len;
    char text[2048];
    char key[1040];
    char obj_etag[128];
    char mtime[64];
    int64_t size;
};

/* Parse LEN bytes of XML into X (fn/opaque set by the caller, the rest is
 * cleared). CS_EDATA when the document is not well-formed or a text is
 * longer than its field (the parse stops there: fn never sees a key cut
 * short); fn's negative return when it stopped the listing. */
int cs_s3xml_parse(struct cs_s3xml *x, const char *data, size_t len);

#endif
