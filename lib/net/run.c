/* run.c: the part of cs-send and cs-recv after option parsing. */
#include "net/transfer.h"

#include <string.h>

#include "err.h"
#include "net/access.h"
#include "opt.h"

int cs_transfer_parse_retry(const char *arg, int *out)
{
    long n;

    if (!strcmp(arg, "forever")) {
        *out = -1;
        return 0;
    }
    if (cs_parse_int(arg, 0, 1000000, &n) < 0)
        return CS_EUSAGE;
    *out = (int)n;
    return 0;
}

/* Read the access file now, so that a bad line is named in ERR (the
 * listener loads it again when it starts, and then knows only a code).
 * The message for a file that cannot be read is the listener's. */
static int check_access(const struct cs_net_conf *net, struct cs_err *err)
{
    int ret = cs_access_check(net->access, err);

    if (ret < 0)
        return cs_err_set(err, CS_EUSAGE,
                          "'%s': cannot read access file '%s': %s",
                          net->shown, net->access, CS_ERRSTR(ret));
    return 0;
}

/* whip:// or whep://: the WebRTC endpoints (HTTP signalling). */
static int is_webrtc(const struct cs_net_conf *c)
{
    return !strcmp(c->scheme, "whip") || !strcmp(c->scheme, "whep");
}

/* A listener that serves TLS with --cert and --key. */
static int takes_cert(const struct cs_net_conf *c)
{
    return c->mode == CS_NET_LISTENER &&
           (is_webrtc(c) || c->ops == &cs_net_rtmps);
}

int cs_transfer_check_tls(const struct cs_net_conf *c, struct cs_err *err)
{
    if ((c->cert || c->key) && (!c->cert || !c->key || !takes_cert(c)))
        return cs_err_set(err, CS_EUSAGE, "--cert and --key go together, "
                          "with a whip://, whep:// or rtmps:// URL in "
                          "listener mode");
    if (c->ops == &cs_net_rtmps && c->mode == CS_NET_LISTENER && !c->cert)
        return cs_err_set(err, CS_EUSAGE, "'%s': an rtmps:// listener "
                          "needs --cert and --key", c->shown);
    return 0;
}

int cs_transfer_run(const struct cs_transfer_args *a, enum cs_net_dir dir,
                    struct cs_stats **stats, struct cs_err *err)
{
    struct cs_transfer t = { .fd = dir == CS_NET_SEND ? 0 : 1 };
    struct cs_net_conf net = { 0 };
    int ret;

    ret = cs_net_conf_parse(&net, a->url, dir, err);
    if (ret < 0) {
        cs_err_code(err, ret, "invalid URL '%s'", a->url);
        goto out;
    }
    net.timeout = a->timeout;
    net.access = a->access;
    net.max_conn = a->max_conn;
    net.max_viewers = a->max_viewers;
    net.rendition = a->rendition;
    if (a->access && (net.mode != CS_NET_LISTENER ||
                      (net.ops != &cs_net_srt && net.ops != &cs_net_rtmp &&
                       net.ops != &cs_net_rtmps && !is_webrtc(&net)))) {
        ret = cs_err_set(err, CS_EUSAGE, "--access needs an srt://, "
                         "rtmp[s]://, whip:// or whep:// URL in listener "
                         "mode");
        goto out;
    }
    net.cert = a->cert;
    net.key = a->key;
    ret = cs_transfer_check_tls(&net, err);
    if (ret < 0)
        goto out;
    ret = a->access ? check_access(&net, err) : 0;
    if (ret < 0)
        goto out;
    t.pace = a->pace;
    t.retry = a->retry;
    t.once = a->once;
    t.stats = *stats;
    *stats = NULL;
    ret = dir == CS_NET_SEND ? cs_transfer_send(&net, &t)
                             : cs_transfer_recv(&net, &t);
    if (ret < 0 && ret != CS_ESTOP)
        cs_err_set(err, ret, "%s", t.err[0] ? t.err : CS_ERRSTR(ret));
out:
    cs_stats_close(&t.stats, NULL);
    cs_stats_close(stats, NULL);
    cs_net_conf_free(&net);
    return ret;
}
