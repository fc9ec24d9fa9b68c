/* cs-recv: MPEG-TS from the network to standard output, one stream across
 * publishers. */
#include "err.h"
#include "log.h"
#include "net/transfer.h"
#include "opt.h"

enum {
    OPT_ONCE = CS_OPT_KEY(0),
    OPT_ACCESS,
};

static const struct cs_opt opts[] = {
    { "timeout", 't', "SECONDS",
      "give up on a peer that does not answer or send for this long", "5",
      NULL },
    { "retry", 'r', "N|forever",
      "caller: reconnect up to N times after a failure, with back-off", "0",
      "forever" },
    { "once", OPT_ONCE, NULL,
      "listener: stop when the first publisher leaves", NULL, NULL },
    { "access", OPT_ACCESS, "FILE",
      "SRT listener: stream ids, passphrases and modes allowed to publish",
      NULL, "file" },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-recv", "[options] URL",
    "Receive MPEG-TS over SRT, RTMP, RTSP, RIST, UDP or TCP and write it "
    "to standard output.",
    opts,
    "URLs: srt://HOST:PORT?mode=caller|listener|rendezvous&latency=MS&\n"
    "        passphrase=..&pbkeylen=16|24|32&streamid=..&maxbw=BYTES\n"
    "      rtmp://HOST:PORT/APP/KEY?listen=1 (listener: checks KEY),\n"
    "      rtmp://HOST/APP/KEY (pull), rtsp://HOST:PORT/PATH (pull,\n"
    "        or mode=listener for a client that pushes)\n"
    "      rist://@HOST:PORT?profile=simple|main&buffer=MS&passphrase=..\n"
    "      udp://HOST:PORT, tcp://HOST:PORT?listen=1\n",
    NULL, /* no subcommands */
};

static int on_opt(void *p, int key, const char *arg)
{
    struct cs_transfer_args *a = p;

    switch (key) {
    case OPT_ONCE:
        a->once = 1;
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
    struct cs_transfer_args a = { .timeout = 5 };

    return cs_transfer_main(&cmd, argc, argv, &a, on_opt, CS_NET_RECV);
}
