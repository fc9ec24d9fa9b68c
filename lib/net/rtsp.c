/* rtsp.c: RTSP through libavformat: push (ANNOUNCE/RECORD) from cs-send,
 * pull from cs-recv, or a listener that accepts a pushing client
 * (rtsp_flags=listen). Interleaved TCP transport: it crosses NATs and
 * firewalls and does not lose packets. */
#include "net/endpoint.h"

#include <stdio.h>

#include <libavutil/dict.h>

#include "err.h"
#include "net/remux.h"

static int rtsp_start(struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    struct cs_remux *r = NULL;
    AVDictionary *o = NULL;
    char url[1400];
    int ret;

    snprintf(url, sizeof(url), "rtsp://%s:%d%s", c->host[0] ? c->host
             : "0.0.0.0", c->port, c->path);
    ret = av_dict_set(&o, "rtsp_transport", "tcp", 0);
    if (ret >= 0 && c->mode == CS_NET_LISTENER)
        ret = av_dict_set(&o, "rtsp_flags", "listen", 0);
    else if (ret >= 0)
        ret = av_dict_set_int(&o, "timeout", (int64_t)(c->timeout * 1e6), 0);
    if (ret >= 0)
        ret = cs_remux_start(&r, ep, url, "rtsp", o);
    av_dict_free(&o);
    ep->priv = r;
    return ret;
}

static int rtsp_accept(struct cs_endpoint *ep)
{
    struct cs_remux *r = ep->priv;

    cs_remux_stop(&r);
    ep->priv = NULL;
    return rtsp_start(ep);
}

static int rtsp_read(struct cs_endpoint *ep, uint8_t *buf, int size)
{
    return cs_remux_read(ep->priv, buf, size);
}

static int rtsp_write(struct cs_endpoint *ep, const uint8_t *buf, int size)
{
    return cs_remux_write(ep->priv, buf, size);
}

static void rtsp_stats(struct cs_endpoint *ep, cJSON *o)
{
    cs_remux_stats(ep->priv, o);
}

static void rtsp_close(struct cs_endpoint *ep)
{
    struct cs_remux *r = ep->priv;

    cs_remux_stop(&r);
    ep->priv = NULL;
}

const struct cs_endpoint_ops cs_net_rtsp = {
    .scheme = "rtsp",
    .dirs = 1 << CS_NET_SEND | 1 << CS_NET_RECV,
    .modes = 1 << CS_NET_CALLER | 1 << CS_NET_LISTENER,
    .open = rtsp_start,
    .accept = rtsp_accept,
    .read = rtsp_read,
    .write = rtsp_write,
    .stats = rtsp_stats,
    .close = rtsp_close,
};
