/* cs-recv: MPEG-TS from the network to standard output, one stream across
 * publishers. */
#include <stddef.h>

#include "common.h"
#include "err.h"
#include "net/transfer.h"
#include "opt.h"
#include "stats.h"

enum {
    OPT_ONCE = CS_OPT_KEY(0),
};

#define AT(field) offsetof(struct cs_transfer_args, field)

static const struct cs_opt opts[] = {
    { "timeout", 't', "SECONDS",
      "give up on a peer that does not answer or send for this long", "10",
      NULL, CS_OPT_SECONDS, AT(timeout), 0.001, 86400 },
    { "retry", 'r', "N|forever",
      "caller: reconnect up to N times after a failure, with back-off", "0",
      "forever" },
    { "once", OPT_ONCE, NULL,
      "listener: stop when the first publisher leaves", NULL, NULL },
    { "access", 0, "FILE",
      "listener: streams (SRT stream ids, WHIP paths), their secrets (SRT "
      "passphrase, RTMP stream key, WHIP token) and modes allowed to publish",
      NULL, "file", CS_OPT_STRING, AT(access) },
    { "max-conn", 0, "N",
      "RTMP listener: clients connected at once (4 at most from one "
      "address)", "100", NULL, CS_OPT_INT, AT(max_conn), 1, 10000 },
    { "exec", 0, "COMMAND",
      "listeners: run COMMAND (/bin/sh) for each publishing stream, its "
      "MPEG-TS on stdin, CS_STREAM, CS_PROTOCOL and CS_REMOTE set",
      NULL, NULL, CS_OPT_STRING, AT(exec) },
    { "linger", 0, "SECONDS",
      "with --exec: keep a stream's command this long for its publisher "
      "to come back", "10", NULL, CS_OPT_SECONDS, AT(linger), 0, 86400 },
    { "cert", 0, "FILE",
      "WHIP or RTMPS listener: serve TLS with this PEM certificate (with "
      "--key)",
      NULL, "file", CS_OPT_STRING, AT(cert) },
    { "key", 0, "FILE",
      "WHIP or RTMPS listener: the PEM private key of --cert",
      NULL, "file", CS_OPT_STRING, AT(key) },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-recv", "[options] URL [URL...]",
    "Receive MPEG-TS over SRT, RTMP, RTSP, RIST, UDP, TCP or WebRTC (WHIP) "
    "and write it to standard output, or with --exec to one command per "
    "stream.",
    opts,
    "URLs: srt://HOST:PORT?mode=caller|listener|rendezvous&latency=MS&\n"
    "        passphrase=..&pbkeylen=16|24|32&streamid=..&maxbw=BYTES\n"
    "      rtmp[s]://HOST:PORT[/APP[/KEY]]?listen=1 (listener: takes KEY,\n"
    "        or the keys --access grants; rtmps with --cert/--key),\n"
    "      rtmp://HOST/APP/KEY (pull), rtsp://HOST:PORT/PATH (pull,\n"
    "        or mode=listener for a client that pushes)\n"
    "      rist://@HOST:PORT?profile=simple|main&buffer=MS&passphrase=..\n"
    "      udp://HOST:PORT, tcp://HOST:PORT?listen=1\n"
    "      whip://HOST:PORT/PATH?token=.. (a WHIP endpoint publishers POST\n"
    "        their offer to at http://HOST:PORT/PATH; one at a time)\n",
    NULL, /* no subcommands */
};

static int on_opt(void *p, int key, const char *arg, struct cs_err *err)
{
    struct cs_transfer_args *a = p;

    switch (key) {
    case OPT_ONCE:
        a->once = 1;
        return 0;
    case 'r':
        if (cs_transfer_parse_retry(arg, &a->retry) < 0)
            return cs_opt_bad(err, "retry", arg, "a count or 'forever'");
        return 0;
    default:
        return CS_EUSAGE;
    }
}

int main(int argc, char **argv)
{
    struct cs_transfer_args a = { 0 };
    struct cs_common common;
    struct cs_stats *stats = NULL;
    struct cs_err err = { 0 };
    int ret, first, status;

    first = cs_cmd_parse(&cmd, argc, argv, &common, on_opt, &a, &status);
    if (first <= 0)
        return status;
    if (argc - first < 1)
        return cs_cmd_usage("expected a URL");
    if (argc - first > 1 && !a.exec)
        return cs_cmd_usage("several URLs need --exec");
    if (a.exec && a.once)
        return cs_cmd_usage("--once and --exec do not go together");
    a.url = argv[first];
    a.urls = argv + first;
    a.nurls = argc - first;
    ret = cs_cmd_start(&stats, common.stats, &err);
    if (ret >= 0 && a.exec)
        ret = cs_ingest_run(&a, &stats, &err);
    else if (ret >= 0)
        ret = cs_transfer_run(&a, CS_NET_RECV, &stats, &err);
    return cs_cmd_exit(&err, ret);
}
