/* http/server.h: cs-serve, the low-latency HTTP origin (libmicrohttpd,
 * epoll, its own threads, blocked LL-HLS requests held as suspended
 * connections). */
#ifndef CS_HTTP_SERVER_H
#define CS_HTTP_SERVER_H

#include <stdint.h>

struct cs_serve_cfg {
    const char *root;          /* folder of streams */
    const char *listen;        /* "127.0.0.1:8080", "[::1]:8080", ":8080" */
    const char *ingest_token;  /* NULL: PUT/DELETE answer 405 */
    const char *assets;        /* hls.js dist folder, or NULL: found */
    const char *cors_origin;   /* Access-Control-Allow-Origin */
    int threads;               /* libmicrohttpd thread pool */
    int max_conns;             /* connection limit */
    int max_per_addr;          /* connections from one client address */
    int max_blocked;           /* blocking requests held at once */
    double timeout;            /* idle seconds once a request came */
    double header_timeout;     /* seconds to send a whole request head */
    int64_t max_header;        /* request line + headers, bytes */
    int64_t max_upload;        /* ingest body, bytes */
};

/* Defaults for every field. */
void cs_serve_defaults(struct cs_serve_cfg *cfg);

struct cs_err;
struct cs_stats;

/* Serve until a stop is requested (sig.h). Returns 0 on a clean stop, or
 * a negative code with ERR (may be NULL) saying what failed: CS_EUSAGE for
 * a bad configuration, CS_ENET when the address cannot be listened on.
 * STATS (may be NULL) is taken over: written to once a second and
 * closed. */
int cs_serve_run(const struct cs_serve_cfg *cfg, struct cs_stats *stats,
                 struct cs_err *err);

#endif
