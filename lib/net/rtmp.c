/* rtmp.c: RTMP and RTMPS. cs-send pushes FLV as OBS does
 * (rtmp://host/app/key) and cs-recv pulls, both through libavformat;
 * cs-recv listens (?listen=1 or mode=listener) with a server of our own
 * (rtmpserv.c), over TLS for rtmps:// (--cert and --key). */
#include "net/endpoint.h"

#include <stdio.h>
#include <string.h>

#include <libavutil/dict.h>
#include <libavutil/mem.h>

#include "err.h"
#include "net/remux.h"
#include "net/rtmpserv.h"

struct rtmp_priv {
    struct cs_remux *remux;
    struct cs_rtmpserv *serv;   /* listener */
};

static int start_session(struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    struct rtmp_priv *p = ep->priv;
    AVDictionary *o = NULL;
    char url[1400];
    int ret;

    snprintf(url, sizeof(url), "%s://%s:%d%s", c->scheme, c->host,
             c->port, c->path);
    ret = av_dict_set_int(&o, "rw_timeout", (int64_t)(c->timeout * 1e6), 0);
    if (ret >= 0 && !strcmp(c->scheme, "rtmps"))
        ret = av_dict_set(&o, "tls_verify", "1", 0);
    if (ret >= 0)
        ret = cs_remux_start(&p->remux, ep, url, "flv", o);
    av_dict_free(&o);
    return ret;
}

static int rtmp_open(struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    const char *key = strrchr(c->path, '/');
    struct rtmp_priv *p = av_mallocz(sizeof(*p));

    if (!p)
        return AVERROR(ENOMEM);
    ep->priv = p;
    if (c->mode == CS_NET_LISTENER)
        return cs_rtmpserv_open(&p->serv, ep);
    if (!key || key == c->path || !key[1])
        return cs_endpoint_fail(ep, CS_EUSAGE,
                                "expected rtmp://HOST/APP/STREAMKEY");
    return start_session(ep);
}

static int rtmp_accept(struct cs_endpoint *ep)
{
    struct rtmp_priv *p = ep->priv;

    if (p->serv) {
        cs_rtmpserv_next(p->serv);
        return 0;
    }
    cs_remux_stop(&p->remux);
    return start_session(ep);
}

static int rtmp_read(struct cs_endpoint *ep, uint8_t *buf, int size)
{
    struct rtmp_priv *p = ep->priv;

    if (p->serv)
        return cs_rtmpserv_read(p->serv, buf, size);
    return cs_remux_read(p->remux, buf, size);
}

static int rtmp_write(struct cs_endpoint *ep, const uint8_t *buf, int size)
{
    struct rtmp_priv *p = ep->priv;

    return cs_remux_write(p->remux, buf, size);
}

static void rtmp_stats(struct cs_endpoint *ep, cJSON *o)
{
    struct rtmp_priv *p = ep->priv;

    if (p->serv)
        cs_rtmpserv_stats(p->serv, o);
    else if (p->remux)
        cs_remux_stats(p->remux, o);
}

static int rtmp_serve(struct cs_endpoint *ep, struct cs_streams *streams)
{
    struct rtmp_priv *p = ep->priv;

    if (!p->serv)
        return cs_endpoint_fail(ep, CS_EUSAGE, "not a listener");
    return cs_rtmpserv_serve(p->serv, streams);
}

static void rtmp_close(struct cs_endpoint *ep)
{
    struct rtmp_priv *p = ep->priv;

    cs_remux_stop(&p->remux);
    cs_rtmpserv_close(&p->serv);
    av_freep(&ep->priv);
}

const struct cs_endpoint_ops cs_net_rtmp = {
    .scheme = "rtmp",
    .dirs = 1 << CS_NET_SEND | 1 << CS_NET_RECV,
    .modes = 1 << CS_NET_CALLER | 1 << CS_NET_LISTENER,
    .open = rtmp_open,
    .accept = rtmp_accept,
    .read = rtmp_read,
    .write = rtmp_write,
    .stats = rtmp_stats,
    .serve = rtmp_serve,
    .close = rtmp_close,
};

const struct cs_endpoint_ops cs_net_rtmps = {
    .scheme = "rtmps",
    .dirs = 1 << CS_NET_SEND | 1 << CS_NET_RECV,
    .modes = 1 << CS_NET_CALLER | 1 << CS_NET_LISTENER,
    .open = rtmp_open,
    .accept = rtmp_accept,
    .serve = rtmp_serve,
    .read = rtmp_read,
    .write = rtmp_write,
    .stats = rtmp_stats,
    .close = rtmp_close,
};
