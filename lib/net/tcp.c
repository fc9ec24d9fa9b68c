/* tcp.c: MPEG-TS over a TCP stream, as ffmpeg's tcp:// (?listen=1 for the
 * listening side). */
#include "net/endpoint.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libavutil/mem.h>

#include "err.h"

struct tcp_priv {
    int lsn;
    int fd;
    int64_t bytes;
};

static int tcp_accept(struct cs_endpoint *ep)
{
    struct tcp_priv *p = ep->priv;
    int ret;

    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    ret = cs_net_wait(ep, p->lsn, POLLIN, 0);
    if (ret < 0)
        return ret;
    p->fd = accept4(p->lsn, NULL, NULL, SOCK_CLOEXEC);
    if (p->fd < 0)
        return cs_endpoint_fail(ep, CS_ENET, "%s", CS_ERRSTR(AVERROR(errno)));
    return 0;
}

static int do_connect(struct cs_endpoint *ep, struct tcp_priv *p,
                      const struct addrinfo *ai)
{
    int err = 0, ret;
    socklen_t len = sizeof(err);

    p->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                   0);
    if (p->fd < 0)
        return cs_endpoint_fail(ep, AVERROR(errno), "%s", CS_ERRSTR(AVERROR(errno)));
    if (connect(p->fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
        errno != EINPROGRESS)
        return cs_endpoint_fail(ep, AVERROR(errno), "%s", CS_ERRSTR(AVERROR(errno)));
    ret = cs_net_wait(ep, p->fd, POLLOUT, ep->conf->timeout);
    if (ret < 0)
        return ret;
    getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err)
        return cs_endpoint_fail(ep, AVERROR(err), "%s", CS_ERRSTR(AVERROR(err)));
    return 0;
}

static int tcp_open(struct cs_endpoint *ep)
{
    int listener = ep->conf->mode == CS_NET_LISTENER, ret;
    struct addrinfo *ai = NULL;
    struct tcp_priv *p = av_mallocz(sizeof(*p));

    if (!p)
        return AVERROR(ENOMEM);
    ep->priv = p;
    p->lsn = p->fd = -1;
    ret = cs_net_resolve(ep, SOCK_STREAM, listener, &ai);
    if (ret < 0)
        goto out;
    if (!listener) {
        ret = do_connect(ep, p, ai);
        goto out;
    }
    p->lsn = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->lsn < 0) {
        ret = cs_endpoint_fail(ep, AVERROR(errno), "%s", CS_ERRSTR(AVERROR(errno)));
        goto out;
    }
    ret = cs_net_sockopt(ep, p->lsn, SOL_SOCKET, SO_REUSEADDR, 1,
                         "SO_REUSEADDR");
    if (ret < 0)
        goto out;
    if (bind(p->lsn, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(p->lsn, 1) < 0) {
        ret = cs_endpoint_fail(ep, CS_ENET, "cannot listen: %s",
                               CS_ERRSTR(AVERROR(errno)));
        goto out;
    }
    ret = tcp_accept(ep);
out:
    if (ai)
        freeaddrinfo(ai);
    return ret;
}

static int tcp_read(struct cs_endpoint *ep, uint8_t *buf, int size)
{
    struct tcp_priv *p = ep->priv;
    ssize_t n;
    int ret = cs_net_wait(ep, p->fd, POLLIN, ep->conf->timeout);

    if (ret < 0)
        return ret;
    n = recv(p->fd, buf, (size_t)size, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return tcp_read(ep, buf, size);
    if (n < 0)
        return errno == ECONNRESET ? 0 : AVERROR(errno);
    p->bytes += n;
    return (int)n;
}

static int tcp_write(struct cs_endpoint *ep, const uint8_t *buf, int size)
{
    struct tcp_priv *p = ep->priv;

    while (size > 0) {
        int ret = cs_net_wait(ep, p->fd, POLLOUT, ep->conf->timeout);
        ssize_t n;

        if (ret < 0)
            return ret;
        n = send(p->fd, buf, (size_t)size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return cs_endpoint_fail(ep, AVERROR(errno), "%s",
                                    CS_ERRSTR(AVERROR(errno)));
        if (n > 0) {
            buf += n;
            size -= (int)n;
            p->bytes += n;
        }
    }
    return 0;
}

static void tcp_stats(struct cs_endpoint *ep, cJSON *o)
{
    struct tcp_priv *p = ep->priv;

    cJSON_AddNumberToObject(o, ep->conf->dir == CS_NET_SEND ? "bytes_sent"
                                                            : "bytes_received",
                            (double)p->bytes);
}

static void tcp_close(struct cs_endpoint *ep)
{
    struct tcp_priv *p = ep->priv;

    if (p->fd >= 0) {
        shutdown(p->fd, SHUT_WR);
        close(p->fd);
    }
    if (p->lsn >= 0)
        close(p->lsn);
    av_freep(&ep->priv);
}

const struct cs_endpoint_ops cs_net_tcp = {
    .scheme = "tcp",
    .dirs = 1 << CS_NET_SEND | 1 << CS_NET_RECV,
    .modes = 1 << CS_NET_CALLER | 1 << CS_NET_LISTENER,
    .open = tcp_open,
    .accept = tcp_accept,
    .read = tcp_read,
    .write = tcp_write,
    .stats = tcp_stats,
    .close = tcp_close,
};
