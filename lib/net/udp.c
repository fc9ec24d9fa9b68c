/* udp.c: MPEG-TS over plain UDP, unicast or multicast (7 packets a
 * datagram, as ffmpeg and VLC send it). UDP has no connection: a receiver
 * learns that the sender went away from --timeout. */
#include "net/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libavutil/mem.h>

#include "err.h"

struct udp_priv {
    int fd;
    int64_t packets;
};

static int is_multicast(const struct addrinfo *ai)
{
    if (ai->ai_family == AF_INET)
        return IN_MULTICAST(ntohl(
            ((const struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr));
    if (ai->ai_family == AF_INET6)
        return IN6_IS_ADDR_MULTICAST(
            &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
    return 0;
}

static int join(struct cs_endpoint *ep, int fd, const struct addrinfo *ai)
{
    const struct cs_net_conf *c = ep->conf;
    struct ip_mreq mr = { 0 };
    struct ipv6_mreq mr6 = { 0 };
    int r;

    if (ai->ai_family == AF_INET) {
        mr.imr_multiaddr = ((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
        mr.imr_interface.s_addr = htonl(INADDR_ANY);
        if (c->localaddr[0] &&
            inet_pton(AF_INET, c->localaddr, &mr.imr_interface) != 1)
            return cs_endpoint_fail(ep, CS_EUSAGE, "bad localaddr");
        r = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr));
    } else {
        mr6.ipv6mr_multiaddr =
            ((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        r = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr6, sizeof(mr6));
    }
    if (r < 0)
        return cs_endpoint_fail(ep, CS_ENET, "cannot join the group: %s",
                                CS_ERRSTR(AVERROR(errno)));
    return 0;
}

static int sender_opts(struct cs_endpoint *ep, int fd,
                       const struct addrinfo *ai)
{
    const struct cs_net_conf *c = ep->conf;
    struct in_addr ifa;
    int ttl = c->ttl;

    if (!is_multicast(ai) || ai->ai_family != AF_INET)
        return 0;
    if (ttl >= 0 &&
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0)
        return cs_endpoint_fail(ep, CS_ENET, "%s", CS_ERRSTR(AVERROR(errno)));
    if (c->localaddr[0]) {
        if (inet_pton(AF_INET, c->localaddr, &ifa) != 1)
            return cs_endpoint_fail(ep, CS_EUSAGE, "bad localaddr");
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa,
                       sizeof(ifa)) < 0)
            return cs_endpoint_fail(ep, CS_ENET, "%s", CS_ERRSTR(AVERROR(errno)));
    }
    return 0;
}

static int udp_open(struct cs_endpoint *ep)
{
    int recv = ep->conf->dir == CS_NET_RECV, ret;
    struct addrinfo *ai = NULL;
    struct udp_priv *p = av_mallocz(sizeof(*p));

    if (!p)
        return AVERROR(ENOMEM);
    ep->priv = p;
    ret = cs_net_resolve(ep, SOCK_DGRAM, recv, &ai);
    if (ret < 0)
        goto out;
    p->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        ret = cs_endpoint_fail(ep, AVERROR(errno), "%s", CS_ERRSTR(AVERROR(errno)));
        goto out;
    }
    if (recv) {
        int size = 4 << 20;

        ret = cs_net_sockopt(ep, p->fd, SOL_SOCKET, SO_REUSEADDR, 1,
                             "SO_REUSEADDR");
        if (ret >= 0)
            ret = cs_net_sockopt(ep, p->fd, SOL_SOCKET, SO_RCVBUF, size,
                                 "SO_RCVBUF");
        if (ret < 0)
            goto out;
        if (bind(p->fd, ai->ai_addr, ai->ai_addrlen) < 0)
            ret = cs_endpoint_fail(ep, CS_ENET, "cannot bind: %s",
                                   CS_ERRSTR(AVERROR(errno)));
        else if (is_multicast(ai))
            ret = join(ep, p->fd, ai);
    } else {
        ret = sender_opts(ep, p->fd, ai);
        if (ret >= 0 && connect(p->fd, ai->ai_addr, ai->ai_addrlen) < 0)
            ret = cs_endpoint_fail(ep, CS_ENET, "%s", CS_ERRSTR(AVERROR(errno)));
    }
out:
    if (ai)
        freeaddrinfo(ai);
    return ret;
}

static int udp_read(struct cs_endpoint *ep, uint8_t *buf, int size)
{
    struct udp_priv *p = ep->priv;
    ssize_t n;
    int ret = cs_net_wait(ep, p->fd, POLLIN, ep->conf->timeout);

    if (ret < 0)
        return ret;
    n = recv(p->fd, buf, (size_t)size, 0);
    if (n < 0)
        return cs_endpoint_fail(ep, AVERROR(errno), "%s", CS_ERRSTR(AVERROR(errno)));
    p->packets++;
    return (int)n;
}

static int udp_write(struct cs_endpoint *ep, const uint8_t *buf, int size)
{
    struct udp_priv *p = ep->priv;

    /* A receiver that is not there yet answers with ICMP: not an error. */
    if (send(p->fd, buf, (size_t)size, 0) < 0 && errno != ECONNREFUSED)
        return cs_endpoint_fail(ep, AVERROR(errno), "%s", CS_ERRSTR(AVERROR(errno)));
    p->packets++;
    return 0;
}

static void udp_stats(struct cs_endpoint *ep, cJSON *o)
{
    struct udp_priv *p = ep->priv;

    cJSON_AddNumberToObject(o, ep->conf->dir == CS_NET_SEND
                               ? "packets_sent" : "packets_received",
                            (double)p->packets);
}

static void udp_close(struct cs_endpoint *ep)
{
    struct udp_priv *p = ep->priv;

    if (p->fd > 0)
        close(p->fd);
    av_freep(&ep->priv);
}

const struct cs_endpoint_ops cs_net_udp = {
    .scheme = "udp",
    .dirs = 1 << CS_NET_SEND | 1 << CS_NET_RECV,
    .modes = 1 << CS_NET_CALLER | 1 << CS_NET_LISTENER,
    .open = udp_open,
    .read = udp_read,
    .write = udp_write,
    .stats = udp_stats,
    .close = udp_close,
};
