/* cs-serve: the low-latency HTTP origin for what cs-segment writes. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common.h"
#include "err.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "http/server.h"
#include "stats.h"

#define AT(field) offsetof(struct cs_serve_cfg, field)

static const struct cs_opt opts[] = {
    { "root", 'r', "DIR", "folder of streams to serve", ".", "dir",
      CS_OPT_STRING, AT(root) },
    { "listen", 'l', "HOST:PORT", "address to listen on", "127.0.0.1:8080",
      NULL, CS_OPT_STRING, AT(listen) },
    { "ingest-token", 0, "TOKEN",
      "accept PUT/DELETE with 'Authorization: Bearer TOKEN'", NULL, NULL,
      CS_OPT_STRING, AT(ingest_token), .shown = "$CS_INGEST_TOKEN" },
    { "assets", 0, "DIR", "hls.js dist folder for the player page", NULL,
      "dir", CS_OPT_STRING, AT(assets),
      .shown = "node_modules/hls.js/dist beside the program" },
    { "cors-origin", 0, "ORIGIN", "Access-Control-Allow-Origin", "*", NULL,
      CS_OPT_STRING, AT(cors_origin) },
    { "threads", 0, "N", "server threads (epoll each)", "2", NULL,
      CS_OPT_INT, AT(threads), 1, 64 },
    { "max-connections", 0, "N",
      "connections held at once, blocked ones included (at most the open "
      "file limit less a reserve)", "10000", NULL, CS_OPT_INT,
      AT(max_conns), 1, 1000000 },
    { "max-per-address", 0, "N",
      "connections held at once for one client address", "64", NULL,
      CS_OPT_INT, AT(max_per_addr), 1, 1000000 },
    { "max-blocked", 0, "N",
      "blocking playlist and part requests held at once (past it: 503 "
      "with Retry-After)", "8000", NULL, CS_OPT_INT, AT(max_blocked), 1,
      1000000 },
    { "timeout", 0, "SECONDS",
      "close a connection idle this long after a request", "30", NULL,
      CS_OPT_SECONDS, AT(timeout), 1, 86400 },
    { "header-timeout", 0, "SECONDS",
      "close a connection that has not sent a whole request head by then",
      "5", NULL, CS_OPT_SECONDS, AT(header_timeout), 1, 86400 },
    { "max-header-size", 0, "BYTES",
      "memory for a request line and headers (longer: 414/431)", "8K",
      NULL, CS_OPT_BYTES, AT(max_header), 4096, 16 << 20 },
    { "max-upload", 0, "BYTES", "largest PUT body", "256M", NULL,
      CS_OPT_BYTES, AT(max_upload), 1, 1e12 },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-serve", "[options]",
    "Serve HLS, LL-HLS and DASH from a folder: blocking playlist reload, "
    "delta updates, ingest, metrics and a player page.",
    opts,
    "Routes: / (streams), /STREAM/ (player), /metrics, /healthz, /time; "
    "files below --root.\n",
    NULL, /* no subcommands */
};

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
    struct cs_stats *stats = NULL;
    struct cs_err err = { 0 };
    int ret, status;

    cs_serve_defaults(&cfg);
    cfg.ingest_token = getenv("CS_INGEST_TOKEN");
    if (cfg.ingest_token && !*cfg.ingest_token)
        cfg.ingest_token = NULL;
    ret = cs_cmd_parse(&cmd, argc, argv, &common, NULL, &cfg, &status);
    if (ret <= 0)
        return status;
    if (ret < argc)
        return cs_cmd_usage("unexpected argument '%s'", argv[ret]);
    ret = cs_cmd_start(&stats, common.stats, &err);
    if (ret < 0)
        return cs_cmd_exit(&err, ret);
    fit_fd_limit(&cfg);
    ret = cs_serve_run(&cfg, stats, &err);
    return cs_cmd_exit(&err, ret);
}
