/* cs-send: MPEG-TS on standard input to the network, in real time. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "net/transfer.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"

enum {
    OPT_TIMEOUT = CS_OPT_KEY(0),
    OPT_RETRY,
    OPT_NO_PACE,
    OPT_ACCESS,
};

static const struct cs_opt opts[] = {
    { "timeout", OPT_TIMEOUT, "SECONDS",
      "give up on a peer that does not answer or read for this long", "5",
      NULL },
    { "retry", OPT_RETRY, "N|forever",
      "reconnect up to N times after a failure, with back-off", "0",
      "forever" },
    { "no-pace", OPT_NO_PACE, NULL,
      "send as fast as the peer takes it (the input is already live)",
      NULL, NULL },
    { "access", OPT_ACCESS, "FILE",
      "SRT listener: stream ids, passphrases and modes allowed to connect",
      NULL, "file" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-send", "[options] URL",
    "Send MPEG-TS from standard input over SRT, RTMP(S), RTSP, RIST, UDP "
    "or TCP.",
    opts,
    "URLs: srt://HOST:PORT?mode=caller|listener|rendezvous&latency=MS&\n"
    "        passphrase=..&pbkeylen=16|24|32&streamid=..&maxbw=BYTES\n"
    "      rtmp://HOST/APP/KEY, rtmps://HOST/APP/KEY, rtsp://HOST:PORT/PATH\n"
    "      rist://HOST:PORT?profile=simple|main&buffer=MS&passphrase=..\n"
    "      udp://HOST:PORT?ttl=N&localaddr=IP, tcp://HOST:PORT?listen=1\n",
};

struct config {
    double timeout;
    int retry;
    int pace;
    const char *access;
};

static int on_opt(void *p, int key, const char *arg)
{
    struct config *cfg = p;
    long n;

    switch (key) {
    case OPT_TIMEOUT:
        if (cs_parse_seconds(arg, &cfg->timeout) < 0 || cfg->timeout <= 0)
            return cs_opt_bad("--timeout", arg, "seconds, like 5 or 0.5");
        return 0;
    case OPT_RETRY:
        if (!strcmp(arg, "forever"))
            cfg->retry = -1;
        else if (cs_parse_int(arg, 0, 1000000, &n) < 0)
            return cs_opt_bad("--retry", arg, "a count or 'forever'");
        else
            cfg->retry = (int)n;
        return 0;
    case OPT_NO_PACE:
        cfg->pace = 0;
        return 0;
    case OPT_ACCESS:
        cfg->access = arg;
        return 0;
    }
    return CS_EUSAGE;
}

int main(int argc, char **argv)
{
    struct config cfg = { .timeout = 5, .retry = 0, .pace = 1 };
    struct cs_common common = { 0 };
    struct cs_transfer t = { .fd = 0 };
    struct cs_net_conf net = { 0 };
    int ret, first;

    first = cs_opt_parse(&cmd, argc, argv, &common, on_opt, &cfg);
    if (first <= 0)
        return first == CS_OPT_EXIT ? CS_EXIT_OK : CS_EXIT_USAGE;
    if (argc - first != 1) {
        cs_error("expected one URL (see --help)");
        return CS_EXIT_USAGE;
    }
    ret = cs_net_conf_parse(&net, argv[first], CS_NET_SEND);
    if (ret < 0)
        goto out;
    net.timeout = cfg.timeout;
    net.access = cfg.access;
    if (cfg.access && (net.ops != &cs_net_srt ||
                       net.mode != CS_NET_LISTENER)) {
        cs_error("--access needs an srt:// URL in listener mode");
        ret = CS_EUSAGE;
        goto out;
    }
    t.pace = cfg.pace;
    t.retry = cfg.retry;
    ret = cs_sig_install();
    if (ret >= 0)
        ret = cs_stats_open(&t.stats, common.stats);
    if (ret < 0) {
        cs_error("cannot start: %s", CS_ERRSTR(ret));
        goto out;
    }
    ret = cs_transfer_send(&net, &t);
    if (ret < 0 && ret != CS_ESTOP)
        cs_error("%s", t.err[0] ? t.err : CS_ERRSTR(ret));
out:
    cs_stats_close(&t.stats, NULL);
    cs_net_conf_free(&net);
    return cs_exit_status(ret);
}
