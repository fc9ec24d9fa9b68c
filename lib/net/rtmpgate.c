/* rtmpgate.c: the stream-key check in front of the RTMP listener.
 *
 * libavformat's RTMP listener accepts any stream name (it only warns), so
 * publishers connect to this gate instead. It relays the connection to
 * libavformat's listener on an internal loopback port, reading the RTMP
 * chunk stream from the client until its "publish" command, and cuts the
 * connection when the stream key is not the one expected.
 */
#include "net/rtmpgate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libavutil/mem.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "sig.h"

#define HANDSHAKE (1 + 1536 + 1536)     /* C0 C1 C2 */
#define SNIFF_MAX 65536                 /* no publish by then: refuse */
#define MSG_MAX 4096
#define SLOTS 8

enum { PENDING = 0, KEY_OK = 1, KEY_BAD = 2, MALFORMED = 3 };

struct slot {
    int csid;
    uint32_t len, got;
    int type, ext;
    uint8_t data[MSG_MAX];
};

struct sniff {
    uint32_t chunk;
    struct slot s[SLOTS];
};

static uint32_t be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | p[1] << 8 | p[2];
}

static struct slot *slot_for(struct sniff *sn, int csid)
{
    for (int i = 0; i < SLOTS; i++)
        if (sn->s[i].csid == csid)
            return &sn->s[i];
    for (int i = 0; i < SLOTS; i++)
        if (!sn->s[i].csid) {
            sn->s[i].csid = csid;
            return &sn->s[i];
        }
    return NULL;
}

/* An AMF0 string at P (room N): its length, or -1. */
static int amf_string(const uint8_t *p, uint32_t n, const uint8_t **str)
{
    int len;

    if (n < 3 || p[0] != 2)
        return -1;
    len = p[1] << 8 | p[2];
    if ((uint32_t)len + 3 > n)
        return -1;
    *str = p + 3;
    return len;
}

/* "publish", transaction id (number), null, stream name. */
static int check_command(const uint8_t *d, uint32_t n, const char *key)
{
    const uint8_t *name;
    int len = amf_string(d, n, &name), klen;
    uint32_t at;

    if (len != 7 || memcmp(name, "publish", 7))
        return PENDING;
    at = 3 + 7;
    if (at + 9 + 1 > n || d[at] != 0 || d[at + 9] != 5)
        return MALFORMED;
    at += 10;
    len = amf_string(d + at, n - at, &name);
    if (len < 0)
        return MALFORMED;
    klen = (int)strcspn((const char *)name, "?");
    if (klen > len)
        klen = len;
    return klen == (int)strlen(key) && !memcmp(name, key, (size_t)klen)
           ? KEY_OK : KEY_BAD;
}

static int on_message(struct sniff *sn, struct slot *m, const char *key)
{
    uint32_t n = m->len < MSG_MAX ? m->len : MSG_MAX;

    if (m->type == 1 && n >= 4)
        sn->chunk = ((uint32_t)(m->data[0] & 0x7f) << 24) |
                    ((uint32_t)m->data[1] << 16) | (m->data[2] << 8) |
                    m->data[3];
    if (m->type == 20)
        return check_command(m->data, n, key);
    if (m->type == 17 && n > 1)
        return check_command(m->data + 1, n - 1, key);
    return PENDING;
}

/* Parse the chunk stream BUF[0..N) from the start. */
static int sniff(const uint8_t *buf, size_t n, const char *key)
{
    static const int mh_size[4] = { 11, 7, 3, 0 };
    struct sniff *sn = av_mallocz(sizeof(*sn));
    size_t pos = 0;
    int verdict = PENDING;

    if (!sn)
        return MALFORMED;
    sn->chunk = 128;
    while (verdict == PENDING && pos < n) {
        int fmt = buf[pos] >> 6, csid = buf[pos] & 63, hl = 1;
        struct slot *m;
        size_t p;
        uint32_t take;

        if (csid < 2) {
            hl = csid == 0 ? 2 : 3;
            if (pos + (size_t)hl > n)
                break;
            csid = 64 + buf[pos + 1] + (csid ? buf[pos + 2] * 256 : 0);
        }
        p = pos + (size_t)hl;
        m = slot_for(sn, csid);
        if (!m || p + (size_t)mh_size[fmt] > n)
            break;
        if (fmt <= 2)
            m->ext = be24(buf + p) == 0xffffff;
        if (fmt <= 1) {
            m->len = be24(buf + p + 3);
            m->type = buf[p + 6];
        }
        p += (size_t)mh_size[fmt] + (m->ext ? 4 : 0);
        take = m->len - m->got < sn->chunk ? m->len - m->got : sn->chunk;
        if (p + take > n)
            break;
        if (m->got + take <= MSG_MAX)
            memcpy(m->data + m->got, buf + p, take);
        m->got += take;
        pos = p + take;
        if (m->got >= m->len) {
            verdict = on_message(sn, m, key);
            m->got = 0;
        }
    }
    av_free(sn);
    return verdict;
}

struct cs_rtmpgate {
    struct cs_endpoint *ep;
    int lsn;
    int inner;
    char key[256];
    pthread_t thread;
    atomic_int quit;
};

static int connect_inner(struct cs_rtmpgate *g)
{
    struct sockaddr_in a = { .sin_family = AF_INET };

    a.sin_port = htons((uint16_t)g->inner);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* libavformat's listener may be between two publishers: wait a bit. */
    for (int i = 0; i < 30 && !atomic_load(&g->quit); i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        cs_sleep_until_us(cs_now_us() + 100000);
    }
    return -1;
}

static int send_all(int fd, const uint8_t *b, ssize_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, b, (size_t)n, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= w;
    }
    return 0;
}

/* Client bytes: look for the verdict, then pass them on (or not). */
static int from_client(struct cs_rtmpgate *g, uint8_t *acc, size_t *alen,
                       int *verdict, const uint8_t *b, ssize_t n, int sfd)
{
    if (*verdict == PENDING) {
        if (*alen + (size_t)n > HANDSHAKE + SNIFF_MAX) {
            *verdict = MALFORMED;
            return -1;
        }
        memcpy(acc + *alen, b, (size_t)n);
        *alen += (size_t)n;
        if (*alen > HANDSHAKE)
            *verdict = sniff(acc + HANDSHAKE, *alen - HANDSHAKE, g->key);
        if (*verdict == KEY_BAD || *verdict == MALFORMED)
            return -1;
    }
    return send_all(sfd, b, n);
}

static void relay(struct cs_rtmpgate *g, int cfd, const char *peer)
{
    uint8_t *acc = av_malloc(HANDSHAKE + SNIFF_MAX), buf[16384];
    size_t alen = 0;
    int verdict = PENDING, sfd = connect_inner(g);

    if (sfd < 0 || !acc)
        cs_warn("turned away a publisher from %s: busy", peer);
    while (sfd >= 0 && acc && !atomic_load(&g->quit)) {
        struct pollfd p[2] = { { cfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
        ssize_t n;

        if (poll(p, 2, 200) <= 0)
            continue;
        if (p[0].revents) {
            n = recv(cfd, buf, sizeof(buf), 0);
            if (n <= 0 || from_client(g, acc, &alen, &verdict, buf, n, sfd))
                break;
        }
        if (p[1].revents) {
            n = recv(sfd, buf, sizeof(buf), 0);
            if (n <= 0 || send_all(cfd, buf, n))
                break;
        }
    }
    if (verdict == KEY_BAD)
        cs_warn("rejected a publisher from %s: wrong stream key", peer);
    else if (verdict == MALFORMED)
        cs_warn("rejected a publisher from %s: not RTMP", peer);
    if (sfd >= 0)
        close(sfd);
    close(cfd);
    av_free(acc);
}

static void *gate_thread(void *opaque)
{
    struct cs_rtmpgate *g = opaque;

    while (!atomic_load(&g->quit)) {
        struct pollfd p = { g->lsn, POLLIN, 0 };
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        char peer[INET6_ADDRSTRLEN] = "?";
        int cfd;

        if (poll(&p, 1, 200) <= 0)
            continue;
        cfd = accept4(g->lsn, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
        if (cfd < 0)
            continue;
        if (sa.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, peer,
                      sizeof(peer));
        else if (sa.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr,
                      peer, sizeof(peer));
        relay(g, cfd, peer);
    }
    return NULL;
}

int cs_rtmpgate_start(struct cs_rtmpgate **out, struct cs_endpoint *ep,
                      int inner, const char *key)
{
    struct cs_rtmpgate *g = av_mallocz(sizeof(*g));
    struct addrinfo *ai = NULL;
    int ret;

    *out = g;
    if (!g)
        return AVERROR(ENOMEM);
    g->ep = ep;
    g->lsn = -1;
    g->inner = inner;
    snprintf(g->key, sizeof(g->key), "%s", key);
    ret = cs_net_resolve(ep, SOCK_STREAM, 1, &ai);
    if (ret < 0)
        return ret;
    g->lsn = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (g->lsn >= 0)
        ret = cs_net_sockopt(ep, g->lsn, SOL_SOCKET, SO_REUSEADDR, 1,
                             "SO_REUSEADDR");
    if (ret >= 0 && (g->lsn < 0 ||
                     bind(g->lsn, ai->ai_addr, ai->ai_addrlen) < 0 ||
                     listen(g->lsn, 4) < 0))
        ret = cs_endpoint_fail(ep, CS_ENET, "cannot listen: %s",
                               CS_ERRSTR(AVERROR(errno)));
    freeaddrinfo(ai);
    if (ret >= 0 && pthread_create(&g->thread, NULL, gate_thread, g) != 0)
        ret = AVERROR(EAGAIN);
    if (ret < 0) {
        if (g->lsn >= 0)
            close(g->lsn);
        av_freep(out);
    }
    return ret;
}

void cs_rtmpgate_stop(struct cs_rtmpgate **pg)
{
    struct cs_rtmpgate *g = *pg;

    if (!g)
        return;
    atomic_store(&g->quit, 1);
    pthread_join(g->thread, NULL);
    close(g->lsn);
    av_freep(pg);
}
