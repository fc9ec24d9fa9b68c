/* send.c: stdin (MPEG-TS, paced) -> endpoint, reconnecting with back-off. */
#include "net/transfer.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/mem.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "net/tsbuf.h"
#include "sig.h"

/* Worth another attempt: the peer or the network, not our settings. */
static int retryable(int err)
{
    return cs_exit_status(err) == CS_EXIT_NET;
}

int cs_transfer_retry(const struct cs_net_conf *c, struct cs_transfer *t,
                      struct cs_endpoint *ep, int *attempt, int err)
{
    double wait;

    if (!retryable(err) || (t->retry >= 0 && *attempt >= t->retry))
        return err;
    (*attempt)++;
    wait = 0.5 * (1 << (*attempt < 5 ? *attempt - 1 : 4)); /* 0.5 .. 8 s */
    if (t->retry < 0)
        cs_warn("'%s': %s; reconnecting in %g s (attempt %d)", c->shown,
                ep->why[0] ? ep->why : CS_ERRSTR(err), wait, *attempt);
    else
        cs_warn("'%s': %s; reconnecting in %g s (attempt %d of %d)",
                c->shown, ep->why[0] ? ep->why : CS_ERRSTR(err), wait,
                *attempt, t->retry);
    cs_endpoint_close(ep);
    if (cs_sleep_until_us(cs_now_us() + (int64_t)(wait * 1e6)))
        return CS_ESTOP;
    return 0;
}

void cs_transfer_stats(struct cs_transfer *t, struct cs_endpoint *ep,
                       cJSON *obj, int final)
{
    if (!obj)
        return;
    if (ep->priv && ep->ops->stats)
        ep->ops->stats(ep, obj);
    if (final)
        cs_stats_close(&t->stats, obj);
    else
        cs_stats_emit(t->stats, obj);
}

static int connect_retrying(const struct cs_net_conf *c,
                            struct cs_transfer *t, struct cs_endpoint *ep,
                            int *attempt)
{
    for (;;) {
        int ret = cs_endpoint_open(ep, c);

        if (ret >= 0) {
            if (*attempt)
                cs_info("connected to '%s' again", c->shown);
            *attempt = 0;
            return 0;
        }
        if (ret == CS_ESTOP)
            return ret;
        snprintf(t->err, sizeof(t->err), "cannot %s '%s': %s",
                 c->mode == CS_NET_LISTENER ? "listen on" : "connect to",
                 c->shown, ep->why[0] ? ep->why : CS_ERRSTR(ret));
        ret = cs_transfer_retry(c, t, ep, attempt, ret);
        if (ret < 0) {
            cs_endpoint_close(ep);
            return ret;
        }
    }
}

static cJSON *send_obj(const struct cs_tsin *in, int reconnects)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "ts_packets", (double)in->packets);
    cJSON_AddNumberToObject(o, "bytes", (double)in->packets * CS_TS_PACKET);
    cJSON_AddNumberToObject(o, "reconnects", reconnects);
    return o;
}

int cs_transfer_send(const struct cs_net_conf *c, struct cs_transfer *t)
{
    struct cs_endpoint ep = { 0 };
    struct cs_tsin *in = av_mallocz(sizeof(*in));
    uint8_t chunk[CS_NET_CHUNK * 2];
    int attempt = 0, reconnects = 0, n = 0, ret;
    int size = c->payload / CS_TS_PACKET * CS_TS_PACKET;

    if (!in)
        return AVERROR(ENOMEM);
    cs_tsin_init(in, t->fd, t->pace);
    ret = connect_retrying(c, t, &ep, &attempt);
    while (ret >= 0) {
        if (!n)
            n = cs_tsin_read(in, chunk, size);
        if (n <= 0) {
            ret = n;
            if (n == 0 && ep.ops->finish)
                ep.ops->finish(&ep);
            if (n == CS_EDATA)
                snprintf(t->err, sizeof(t->err), "invalid input: not an "
                         "MPEG-TS stream (no sync byte)");
            break;
        }
        ret = ep.ops->write(&ep, chunk, n);
        if (ret >= 0)
            n = 0;          /* else: send it again after reconnecting */
        if (ret < 0 && ret != CS_ESTOP) {
            /* a stream the protocol cannot carry (WebRTC) is no loss */
            snprintf(t->err, sizeof(t->err), "%s'%s': %s",
                     ret == CS_EUSAGE || ret == CS_EDATA ? "" : "lost ",
                     c->shown, ep.why[0] ? ep.why : CS_ERRSTR(ret));
            ret = cs_transfer_retry(c, t, &ep, &attempt, ret);
            if (ret >= 0) {
                reconnects++;
                ret = connect_retrying(c, t, &ep, &attempt);
            }
        }
        if (cs_stats_due(t->stats))
            cs_transfer_stats(t, &ep, send_obj(in, reconnects), 0);
    }
    if (t->stats)
        cs_transfer_stats(t, &ep, send_obj(in, reconnects), 1);
    cs_endpoint_close(&ep);
    av_free(in);
    return ret;
}
