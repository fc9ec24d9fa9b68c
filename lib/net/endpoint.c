/* endpoint.c: what every protocol shares: open/close, failure causes,
 * name resolution. */
#include "net/endpoint.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "err.h"
#include "sig.h"

int cs_endpoint_fail(struct cs_endpoint *ep, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ep->why, sizeof(ep->why), fmt, ap);
    va_end(ap);
    return err;
}

int cs_endpoint_open(struct cs_endpoint *ep, const struct cs_net_conf *c)
{
    memset(ep, 0, sizeof(*ep));
    ep->ops = c->ops;
    ep->conf = c;
    return ep->ops->open(ep);
}

void cs_endpoint_close(struct cs_endpoint *ep)
{
    if (ep->ops && ep->priv)
        ep->ops->close(ep);
    ep->priv = NULL;
}

int cs_net_sockopt(struct cs_endpoint *ep, int fd, int level, int name,
                   int value, const char *what)
{
    int ret;

    if (setsockopt(fd, level, name, &value, sizeof(value)) == 0)
        return 0;
    ret = AVERROR(errno);
    return cs_endpoint_fail(ep, ret, "cannot set %s: %s", what,
                            CS_ERRSTR(ret));
}

int cs_net_resolve(struct cs_endpoint *ep, int type, int passive,
                   struct addrinfo **res)
{
    const struct cs_net_conf *c = ep->conf;
    struct addrinfo hints = { 0 };
    char port[16];
    int ret;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = type;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    snprintf(port, sizeof(port), "%d", c->port);
    ret = getaddrinfo(c->host[0] ? c->host : NULL, port, &hints, res);
    if (ret != 0) {
        *res = NULL;
        return cs_endpoint_fail(ep, CS_ENET, "cannot resolve '%s': %s",
                                c->host, gai_strerror(ret));
    }
    return 0;
}

int cs_net_wait(struct cs_endpoint *ep, int fd, short events, double timeout)
{
    int64_t until = cs_now_us() + (int64_t)(timeout * 1e6);

    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = fd, .events = events },
            { .fd = cs_sig_fd(), .events = POLLIN },
        };
        int64_t left = until - cs_now_us();
        int ms = timeout > 0 ? (int)(left / 1000) + 1 : -1;
        int n;

        if (timeout > 0 && left <= 0)
            return cs_endpoint_fail(ep, AVERROR(ETIMEDOUT),
                                    "nothing for %g s", timeout);
        n = poll(pfd, pfd[1].fd >= 0 ? 2 : 1, ms);
        if (cs_stopping())
            return CS_ESTOP;
        if (n < 0 && errno != EINTR)
            return cs_endpoint_fail(ep, AVERROR(errno), "%s",
                                    CS_ERRSTR(AVERROR(errno)));
        if (n > 0 && pfd[0].revents)
            return 0;
    }
}
