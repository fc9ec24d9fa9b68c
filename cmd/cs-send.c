/* cs-send: MPEG-TS on standard input to the network, in real time. */
#include "err.h"
#include "log.h"
#include "net/transfer.h"
#include "opt.h"

enum {
    OPT_NO_PACE = CS_OPT_KEY(0),
    OPT_ACCESS,
};

static const struct cs_opt opts[] = {
    { "timeout", 't', "SECONDS",
      "give up on a peer that does not answer or read for this long", "5",
      NULL },
    { "retry", 'r', "N|forever",
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
    NULL, /* no subcommands */
};

static int on_opt(void *p, int key, const char *arg)
{
    struct cs_transfer_args *a = p;

    switch (key) {
    case OPT_NO_PACE:
        a->pace = 0;
        return 0;
    case OPT_ACCESS:
        a->access = arg;
        return 0;
    default:
        return cs_transfer_opt(a, key, arg);
    }
}

int main(int argc, char **argv)
{
    struct cs_transfer_args a = { .timeout = 5, .pace = 1 };

    return cs_transfer_main(&cmd, argc, argv, &a, on_opt, CS_NET_SEND);
}
