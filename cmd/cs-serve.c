/* cs-serve: the low-latency HTTP origin for what cs-segment writes. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "err.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "http/server.h"

enum {
    K_ROOT = 'r',
    K_LISTEN = 'l',
    K_TOKEN = CS_OPT_KEY(0),
    K_ASSETS,
    K_CORS,
    K_THREADS,
    K_MAXCONN,
    K_PERADDR,
    K_TIMEOUT,
    K_HDRTIME,
    K_HEADER,
    K_UPLOAD,
};

static const struct cs_opt opts[] = {
    { "root", K_ROOT, "DIR", "folder of streams to serve", ".", "dir" },
    { "listen", K_LISTEN, "HOST:PORT", "address to listen on",
      "127.0.0.1:8080", NULL },
    { "ingest-token", K_TOKEN, "TOKEN",
      "accept PUT/DELETE with 'Authorization: Bearer TOKEN' "
      "(or set CS_INGEST_TOKEN)", NULL, NULL },
    { "assets", K_ASSETS, "DIR", "hls.js dist folder for the player page",
      "node_modules/hls.js/dist beside the program", "dir" },
    { "cors-origin", K_CORS, "ORIGIN", "Access-Control-Allow-Origin", "*",
      NULL },
    { "threads", K_THREADS, "N", "server threads (epoll each)", "2", NULL },
    { "max-connections", K_MAXCONN, "N",
      "connections held at once, blocked ones included (at most the open "
      "file limit less a reserve)", "10000", NULL },
    { "max-per-address", K_PERADDR, "N",
      "connections held at once for one client address", "64", NULL },
    { "timeout", K_TIMEOUT, "SECONDS",
      "close a connection idle this long after a request", "30", NULL },
    { "header-timeout", K_HDRTIME, "SECONDS",
      "close a connection that has not sent a whole request head by then",
      "5", NULL },
    { "max-header-size", K_HEADER, "BYTES",
      "memory for a request line and headers (longer: 414/431)", "32K",
      NULL },
    { "max-upload", K_UPLOAD, "BYTES", "largest PUT body", "256M", NULL },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-serve", "[options]",
    "Serve HLS, LL-HLS and DASH from a folder: blocking playlist reload, "
    "delta updates, ingest, metrics and a player page.",
    opts,
    "Routes: / (streams), /STREAM/ (player), /metrics, /healthz; files "
    "below --root.\n",
    NULL, /* no subcommands */
};

static int parse_long(const char *opt, const char *arg, long min, long max,
                      int *out)
{
    long v;

    if (cs_parse_int(arg, min, max, &v) < 0)
        return cs_opt_bad(opt, arg, "a whole number in range");
    *out = (int)v;
    return 0;
}

static int on_opt(void *p, int key, const char *arg)
{
    struct cs_serve_cfg *cfg = p;

    switch (key) {
    case K_ROOT: cfg->root = arg; return 0;
    case K_LISTEN: cfg->listen = arg; return 0;
    case K_TOKEN:
        if (!*arg)
            return cs_opt_bad("ingest-token", arg, "a non-empty token");
        cfg->ingest_token = arg;
        return 0;
    case K_ASSETS: cfg->assets = arg; return 0;
    case K_CORS: cfg->cors_origin = arg; return 0;
    case K_THREADS:
        return parse_long("threads", arg, 1, 64, &cfg->threads);
    case K_MAXCONN:
        return parse_long("max-connections", arg, 1, 1000000,
                          &cfg->max_conns);
    case K_PERADDR:
        return parse_long("--max-per-address", arg, 1, 1000000,
                          &cfg->max_per_addr);
    case K_TIMEOUT:
        if (cs_parse_seconds(arg, &cfg->timeout) < 0 || cfg->timeout < 1)
            return cs_opt_bad("timeout", arg, "seconds, at least 1");
        return 0;
    case K_HDRTIME:
        if (cs_parse_seconds(arg, &cfg->header_timeout) < 0 ||
            cfg->header_timeout < 1)
            return cs_opt_bad("--header-timeout", arg,
                              "seconds, at least 1");
        return 0;
    case K_HEADER:
        if (cs_parse_bytes(arg, &cfg->max_header) < 0 ||
            cfg->max_header < 4096 || cfg->max_header > (16 << 20))
            return cs_opt_bad("max-header-size", arg,
                              "a size from 4K to 16M");
        return 0;
    case K_UPLOAD:
        if (cs_parse_bytes(arg, &cfg->max_upload) < 0 || cfg->max_upload < 1)
            return cs_opt_bad("max-upload", arg, "a size like 64M");
        return 0;
    }
    return CS_EUSAGE;
}

/* Each connection is a socket, plus a file while a segment is sent:
 * raise the open file limit to the hard limit where allowed, keep a
 * quarter of it (at least 64) for files, the watch and the logs, and hold
 * no more connections than the rest, so that a flood is turned away at
 * accept() and never leaves the server without descriptors. */
static void fit_fd_limit(struct cs_serve_cfg *cfg)
{
    struct rlimit rl;
    rlim_t reserve, room;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    reserve = rl.rlim_cur / 4 > 64 ? rl.rlim_cur / 4 : 64;
    room = rl.rlim_cur > reserve * 2 ? rl.rlim_cur - reserve :
                                       rl.rlim_cur / 2;
    if ((rlim_t)cfg->max_conns <= room)
        return;
    cs_warn("open file limit %llu: holding at most %llu connections, "
            "not %d", (unsigned long long)rl.rlim_cur,
            (unsigned long long)room, cfg->max_conns);
    cfg->max_conns = room > 0 ? (int)room : 1;
}

int main(int argc, char **argv)
{
    struct cs_serve_cfg cfg;
    struct cs_common common;
    int ret;

    cs_serve_defaults(&cfg);
    cfg.ingest_token = getenv("CS_INGEST_TOKEN");
    if (cfg.ingest_token && !*cfg.ingest_token)
        cfg.ingest_token = NULL;
    ret = cs_opt_parse(&cmd, argc, argv, &common, on_opt, &cfg);
    if (ret <= 0)
        return ret == CS_OPT_EXIT ? CS_EXIT_OK : CS_EXIT_USAGE;
    if (ret < argc) {
        cs_error("unexpected argument '%s'", argv[ret]);
        return CS_EXIT_USAGE;
    }
    cfg.stats = common.stats;
    cs_sig_install();
    fit_fd_limit(&cfg);
    ret = cs_serve_run(&cfg);
    return cs_exit_status(ret);
}
