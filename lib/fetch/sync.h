/* sync.h: make a store hold what a local folder holds. */
#ifndef CS_FETCH_SYNC_H
#define CS_FETCH_SYNC_H

#include "store/store.h"

struct cs_err;

struct cs_sync_result {
    int uploaded;   /* new or changed files sent */
    int unchanged;  /* files the store already held byte for byte */
    int failed;     /* files that could not be sent */
};

/* Upload each regular file under DIR (names starting with '.' skipped) to
 * ST under its relative path, when the key is absent or its size or ETag
 * (MD5, or the multipart form for the store's part size) differs. A file
 * that fails does not stop the others: the first failure is returned and
 * recorded in ERR, the later ones are warnings. */
int cs_sync_dir(struct cs_store *st, const char *dir,
                struct cs_sync_result *res, struct cs_err *err);

#endif
