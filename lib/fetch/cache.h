/* cache.h: a folder of downloaded assets under a size bound, filled by a
 * prefetch thread. Files are named after their key (percent-encoded) and
 * written through a temporary name, so a file present is a whole one. */
#ifndef CS_FETCH_CACHE_H
#define CS_FETCH_CACHE_H

#include <stdint.h>

#include "store/store.h"

struct cs_cache;

/* Open (create) DIR holding at most BOUND bytes beyond the KEEP files most
 * recently taken, which are never evicted. Files already there count. */
int cs_cache_open(struct cs_cache **out, const char *dir, int64_t bound,
                  int keep);

/* Wait for a running prefetch and release everything (NULL-safe). */
void cs_cache_close(struct cs_cache **c);

/* Start downloading KEY (SIZE bytes as listed) from ST in a thread, unless
 * it is cached already. One prefetch at a time: a running one is awaited
 * first. */
int cs_cache_prefetch(struct cs_cache *c, struct cs_store *st,
                      const char *key, int64_t size);

/* The local path of KEY (malloc'ed): waits for its prefetch, or downloads
 * it now. The file is pinned among the KEEP most recent; then files are
 * evicted, least recently used first, until the bound holds. */
int cs_cache_take(struct cs_cache *c, struct cs_store *st, const char *key,
                  int64_t size, char **path);

#endif
