/* cs-send: MPEG-TS on standard input to the network, in real time. */
#include <stddef.h>

#include "common.h"
#include "err.h"
#include "net/transfer.h"
#include "opt.h"
#include "stats.h"

enum {
    OPT_NO_PACE = CS_OPT_KEY(0),
};

#define AT(field) offsetof(struct cs_transfer_args, field)

static const struct cs_opt opts[] = {
    { "timeout", 't', "SECONDS",
      "give up on a peer that does not answer or read for this long", "5",
      NULL, CS_OPT_SECONDS, AT(timeout), 0.001, 86400 },
    { "retry", 'r', "N|forever",
      "reconnect up to N times after a failure, with back-off", "0",
      "forever" },
    { "no-pace", OPT_NO_PACE, NULL,
      "send as fast as the peer takes it (the input is already live)",
      NULL, NULL },
    { "access", 0, "FILE",
      "SRT listener: stream ids, passphrases and modes allowed to connect",
      NULL, "file", CS_OPT_STRING, AT(access) },
    { "max-viewers", 0, "N",
      "whep:// listener: viewers at once (503 past them)", "100",
      NULL, CS_OPT_INT, AT(max_viewers), 1, 10000 },
    { "rendition", 0, "NAME",
      "whip://, whep://: the ladder rung to send (cs-ladder's name)", NULL,
      NULL, CS_OPT_STRING, AT(rendition), 0, 0, "the first" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-send", "[options] URL",
    "Send MPEG-TS from standard input over SRT, RTMP(S), RTSP, RIST, UDP, "
    "TCP or WebRTC (WHIP, WHEP).",
    opts,
    "URLs: srt://HOST:PORT?mode=caller|listener|rendezvous&latency=MS&\n"
    "        passphrase=..&pbkeylen=16|24|32&streamid=..&maxbw=BYTES\n"
    "      rtmp://HOST/APP/KEY, rtmps://HOST/APP/KEY, rtsp://HOST:PORT/PATH\n"
    "      rist://HOST:PORT?profile=simple|main&buffer=MS&passphrase=..\n"
    "      udp://HOST:PORT?ttl=N&localaddr=IP, tcp://HOST:PORT?listen=1\n"
    "      whip://HOST:PORT/PATH?token=.. (push to a WHIP server)\n"
    "      whep://HOST:PORT/PATH?mode=listener&token=.. (serve viewers)\n",
    NULL, /* no subcommands */
};

static int on_opt(void *p, int key, const char *arg, struct cs_err *err)
{
    struct cs_transfer_args *a = p;

    switch (key) {
    case OPT_NO_PACE:
        a->pace = 0;
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
    struct cs_transfer_args a = { .pace = 1 };
    struct cs_common common;
    struct cs_stats *stats = NULL;
    struct cs_err err = { 0 };
    int ret, first, status;

    first = cs_cmd_parse(&cmd, argc, argv, &common, on_opt, &a, &status);
    if (first <= 0)
        return status;
    if (argc - first != 1)
        return cs_cmd_usage("expected one URL");
    a.url = argv[first];
    ret = cs_cmd_start(&stats, common.stats, &err);
    if (ret >= 0)
        ret = cs_transfer_run(&a, CS_NET_SEND, &stats, &err);
    return cs_cmd_exit(&err, ret);
}
