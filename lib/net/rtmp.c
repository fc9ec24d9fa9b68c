/* rtmp.c: RTMP and RTMPS through libavformat. cs-send pushes FLV as OBS
 * does (rtmp://host/app/key); cs-recv pulls, or listens (?listen=1 or
 * mode=listener) for one publisher at a time whose stream key it checks
 * (rtmpgate.c). */
#include "net/endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libavutil/dict.h>
#include <libavutil/mem.h>

#include "err.h"
#include "net/remux.h"
#include "net/rtmpgate.h"

struct rtmp_priv {
    struct cs_remux *remux;
    struct cs_rtmpgate *gate;
    int inner;              /* libavformat's listener port */
};

/* A free loopback TCP port for libavformat's listener. */
static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int start_session(struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    struct rtmp_priv *p = ep->priv;
    AVDictionary *o = NULL;
    char url[1400];
    int ret;

    if (p->inner > 0) {
        snprintf(url, sizeof(url), "rtmp://127.0.0.1:%d%s", p->inner,
                 c->path);
        ret = av_dict_set(&o, "listen", "1", 0);
    } else {
        snprintf(url, sizeof(url), "%s://%s:%d%s", c->scheme, c->host,
                 c->port, c->path);
        ret = av_dict_set_int(&o, "rw_timeout",
                              (int64_t)(c->timeout * 1e6), 0);
        if (ret >= 0 && !strcmp(c->scheme, "rtmps"))
            ret = av_dict_set(&o, "tls_verify", "1", 0);
    }
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
    int ret;

    if (!p)
        return AVERROR(ENOMEM);
    ep->priv = p;
    if (!key || key == c->path || !key[1])
        return cs_endpoint_fail(ep, CS_EUSAGE,
                                "expected rtmp://HOST/APP/STREAMKEY");
    if (c->mode == CS_NET_LISTENER) {
        p->inner = free_port();
        if (p->inner < 0)
            return cs_endpoint_fail(ep, CS_ENET, "no free port");
        ret = cs_rtmpgate_start(&p->gate, ep, p->inner, key + 1);
        if (ret < 0)
            return ret;
    }
    return start_session(ep);
}

static int rtmp_accept(struct cs_endpoint *ep)
{
    struct rtmp_priv *p = ep->priv;

    cs_remux_stop(&p->remux);
    return start_session(ep);
}

static int rtmp_read(struct cs_endpoint *ep, uint8_t *buf, int size)
{
    struct rtmp_priv *p = ep->priv;

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

    if (p->remux)
        cs_remux_stats(p->remux, o);
}

static void rtmp_close(struct cs_endpoint *ep)
{
    struct rtmp_priv *p = ep->priv;

    cs_remux_stop(&p->remux);
    cs_rtmpgate_stop(&p->gate);
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
    .close = rtmp_close,
};

const struct cs_endpoint_ops cs_net_rtmps = {
    .scheme = "rtmps",
    .dirs = 1 << CS_NET_SEND | 1 << CS_NET_RECV,
    .modes = 1 << CS_NET_CALLER,
    .open = rtmp_open,
    .read = rtmp_read,
    .write = rtmp_write,
    .stats = rtmp_stats,
    .close = rtmp_close,
};
