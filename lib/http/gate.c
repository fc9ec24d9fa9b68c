/* The pre-accept gate (gate.h): one thread, one epoll set, a fixed table
 * of waiting sockets kept in accept order (so the oldest is the next to
 * time out), and a fixed hash of per-address counts shared with the
 * threads that release handed-over sockets. */
#include "http/gate.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"

#define TAG_LISTEN UINT64_MAX
#define TAG_STOP   (UINT64_MAX - 1)
#define BACKLOG    4096
#define RETRY_US   (100 * 1000)      /* after EMFILE and the like */

enum { HEAD_MORE = 0, HEAD_NEXT = 1, HEAD_OK = 200 };

struct addr_key {
    uint8_t b[16];
    uint8_t family;
};

struct addr_ent {
    struct addr_key k;
    int count;                       /* 0: a free entry */
};

struct slot {
    int fd;
    int prev, next;                  /* waiting list, or free list (next) */
    int64_t deadline_us;
    struct sockaddr_storage ss;
    socklen_t len;
    struct addr_key k;
};

struct cs_gate {
    struct cs_gate_cfg cfg;
    int lfd, ep, efd;                /* listening socket, epoll, stop */
    int armed;                       /* the listening socket is polled */
    int64_t rearm_us;                /* not before this, after EMFILE */
    pthread_t thread;
    int running;
    char *buf;                       /* peeked heads, max_header bytes */
    struct slot *slots;              /* max_conns of them */
    int free_slot, head, tail, waiting;
    pthread_mutex_t lock;            /* guards addrs and held */
    struct addr_ent *addrs;
    size_t addr_size;                /* a power of two >= 2 max_conns */
    int held;                        /* handed over, not yet released */
    atomic_llong refused;
};

/* ---- request heads ---- */

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* At B[*K], a line end: LF, or CR LF. */
static int line_end(const unsigned char *b, size_t n, size_t *k)
{
    if (*k < n && b[*k] == '\r')
        ++*k;
    if (*k == n)
        return HEAD_MORE;
    if (b[*k] != '\n')
        return 400;
    ++*k;
    return HEAD_NEXT;
}

/* METHOD SP target SP HTTP/1.x, after any empty lines (RFC 9112, 2.2). */
static int request_line(const unsigned char *b, size_t n, size_t *pos)
{
    static const char ver[] = "HTTP/1.";
    size_t k = 0, i;

    while (k < n && (b[k] == '\r' || b[k] == '\n'))
        if (line_end(b, n, &k) != HEAD_NEXT)
            return k == n ? HEAD_MORE : 400;
    for (i = k; k < n && is_tchar(b[k]); k++)
        ;
    if (k == n)
        return HEAD_MORE;
    if (k == i || b[k] != ' ')
        return 400;
    for (i = ++k; k < n && b[k] > ' ' && b[k] != 0x7f; k++)
        ;
    if (k == n)
        return HEAD_MORE;
    if (k == i || b[k] != ' ')
        return 400;
    for (i = 0, k++; i < 8; i++, k++) {
        if (k == n)
            return HEAD_MORE;
        if (i < 7 ? b[k] != ver[i] : b[k] < '0' || b[k] > '9')
            return 400;
    }
    *pos = k;
    return line_end(b, n, pos);
}

/* One plain decimal (OWS around it), once: 400 otherwise, or when it
 * does not fit 64 bits; 413 above MAX. */
static int content_length(const unsigned char *v, size_t len, int *seen,
                          int64_t max)
{
    size_t a = 0, z = len;
    uint64_t x = 0;

    while (a < z && (v[a] == ' ' || v[a] == '\t'))
        a++;
    while (z > a && (v[z - 1] == ' ' || v[z - 1] == '\t'))
        z--;
    if (a == z || (*seen)++)
        return 400;
    for (; a < z; a++) {
        unsigned d = (unsigned)(v[a] - '0');

        if (v[a] < '0' || v[a] > '9' || x > (UINT64_MAX - d) / 10)
            return 400;
        x = x * 10 + d;
    }
    return x > (uint64_t)max ? 413 : HEAD_NEXT;
}

/* The header line at B[*POS]: `name: value`, nothing folded, no CR or
 * NUL inside. HEAD_OK for the empty line that ends the head. */
static int header_line(const unsigned char *b, size_t n, size_t *pos,
                       int *seen_cl, int64_t max_upload)
{
    const unsigned char *lf = memchr(b + *pos, '\n', n - *pos);
    size_t i = *pos, k, end;

    if (!lf)
        return HEAD_MORE;
    end = (size_t)(lf - b);
    *pos = end + 1;
    if (end > i && b[end - 1] == '\r')
        end--;
    if (end == i)
        return HEAD_OK;
    for (k = i; k < end && is_tchar(b[k]); k++)
        ;
    if (k == i || k == end || b[k] != ':')
        return 400;
    if (memchr(b + k, '\r', end - k) || memchr(b + k, 0, end - k))
        return 400;
    if (k - i == 14 && !strncasecmp((const char *)b + i, "content-length", 14))
        return content_length(b + k + 1, end - k - 1, seen_cl, max_upload);
    return HEAD_NEXT;
}

/* HEAD_MORE, HEAD_OK for a whole good head, or the status to answer. */
static int check_head(const char *buf, size_t n, int64_t max_upload)
{
    const unsigned char *b = (const unsigned char *)buf;
    size_t pos = 0;
    int ret = request_line(b, n, &pos), seen_cl = 0;

    while (ret == HEAD_NEXT)
        ret = header_line(b, n, &pos, &seen_cl, max_upload);
    return ret;
}

/* ---- per-address counts (under the lock) ---- */

static void addr_key(const struct sockaddr *sa, struct addr_key *k)
{
    memset(k, 0, sizeof(*k));
    k->family = (uint8_t)sa->sa_family;
    if (sa->sa_family == AF_INET)
        memcpy(k->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa->sa_family == AF_INET6)
        memcpy(k->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

static size_t addr_hash(const struct cs_gate *g, const struct addr_key *k)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < sizeof(k->b); i++)
        h = (h ^ k->b[i]) * 1099511628211ull;
    return (size_t)(h ^ k->family) & (g->addr_size - 1);
}

/* The entry for K, or the free one where it would go (never NULL: the
 * table has twice as many entries as sockets can be counted). */
static struct addr_ent *addr_find(struct cs_gate *g, const struct addr_key *k)
{
    size_t i = addr_hash(g, k);

    while (g->addrs[i].count && memcmp(&g->addrs[i].k, k, sizeof(*k)))
        i = (i + 1) & (g->addr_size - 1);
    return &g->addrs[i];
}

/* Count one out; an entry that reaches 0 is removed by shifting back the
 * ones probed past it (linear probing without tombstones). */
static void addr_put(struct cs_gate *g, const struct addr_key *k)
{
    struct addr_ent *e = addr_find(g, k);
    size_t mask = g->addr_size - 1, i, j, h;

    if (!e->count || --e->count)
        return;
    i = j = (size_t)(e - g->addrs);
    for (;;) {
        j = (j + 1) & mask;
        if (!g->addrs[j].count)
            return;
        h = addr_hash(g, &g->addrs[j].k);
        if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) {
            g->addrs[i] = g->addrs[j];
            g->addrs[j].count = 0;
            i = j;
        }
    }
}

/* Count one in, unless its address holds its share already. */
static int addr_take(struct cs_gate *g, const struct addr_key *k)
{
    struct addr_ent *e;
    int ok;

    pthread_mutex_lock(&g->lock);
    e = addr_find(g, k);
    ok = e->count < g->cfg.max_per_addr;
    if (ok) {
        e->k = *k;
        e->count++;
    }
    pthread_mutex_unlock(&g->lock);
    return ok;
}

void cs_gate_release(struct cs_gate *g, const struct sockaddr *sa)
{
    struct addr_key k;

    addr_key(sa, &k);
    pthread_mutex_lock(&g->lock);
    g->held--;
    addr_put(g, &k);
    pthread_mutex_unlock(&g->lock);
}

long long cs_gate_refused(const struct cs_gate *g)
{
    return atomic_load(&g->refused);
}

/* ---- waiting sockets (the gate's thread only) ---- */

static int room(struct cs_gate *g)
{
    int n;

    pthread_mutex_lock(&g->lock);
    n = g->held;
    pthread_mutex_unlock(&g->lock);
    return n + g->waiting < g->cfg.max_conns;
}

static void unlink_slot(struct cs_gate *g, int i)
{
    struct slot *s = &g->slots[i];

    if (s->prev >= 0)
        g->slots[s->prev].next = s->next;
    else
        g->head = s->next;
    if (s->next >= 0)
        g->slots[s->next].prev = s->prev;
    else
        g->tail = s->prev;
    s->fd = -1;
    s->next = g->free_slot;
    g->free_slot = i;
    g->waiting--;
}

static void drop(struct cs_gate *g, int i)
{
    close(g->slots[i].fd);
    pthread_mutex_lock(&g->lock);
    addr_put(g, &g->slots[i].k);
    pthread_mutex_unlock(&g->lock);
    unlink_slot(g, i);
}

static const char *reason(int status)
{
    switch (status) {
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    default: return "Bad Request";
    }
}

/* One answer, then close: what the client sent is read first and the
 * sending side shut, so that closing does not reset the connection
 * before the answer is read. */
static void refuse(struct cs_gate *g, int i, int status)
{
    int fd = g->slots[i].fd;
    char msg[256], body[64];
    int64_t left = g->cfg.max_header * 4;
    ssize_t r;
    int nb, n;

    do {
        r = recv(fd, g->buf, (size_t)g->cfg.max_header, MSG_DONTWAIT);
        left -= r;
    } while (r > 0 && left > 0);
    nb = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
    n = snprintf(msg, sizeof(msg),
                 "HTTP/1.1 %d %s\r\nConnection: close\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Cache-Control: no-store\r\nContent-Length: %d\r\n\r\n%s",
                 status, reason(status), nb, body);
    r = send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)r;
    shutdown(fd, SHUT_WR);
    atomic_fetch_add(&g->refused, 1);
    drop(g, i);
}

static void hand_over(struct cs_gate *g, int i)
{
    struct slot s = g->slots[i];

    epoll_ctl(g->ep, EPOLL_CTL_DEL, s.fd, NULL);
    unlink_slot(g, i);
    pthread_mutex_lock(&g->lock);
    g->held++;
    pthread_mutex_unlock(&g->lock);
    if (g->cfg.pass(g->cfg.arg, s.fd, (struct sockaddr *)&s.ss, s.len) < 0)
        cs_gate_release(g, (struct sockaddr *)&s.ss);
}

/* Look at what socket I has sent so far (EVENTS: what epoll said). */
static void check(struct cs_gate *g, int i, uint32_t events)
{
    ssize_t n = recv(g->slots[i].fd, g->buf, (size_t)g->cfg.max_header,
                     MSG_PEEK | MSG_DONTWAIT);
    int st;

    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        drop(g, i);
        return;
    }
    st = check_head(g->buf, (size_t)n, g->cfg.max_upload);
    if (st == HEAD_MORE && n >= g->cfg.max_header)
        st = 431;
    if (st == HEAD_MORE) {
        /* the peer will send nothing more: the head never ends */
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            drop(g, i);
    } else if (st == HEAD_OK) {
        hand_over(g, i);
    } else {
        refuse(g, i, st);
    }
}

/* A new socket: counted, registered, and looked at once (its head may
 * have come with the connection). */
static void take(struct cs_gate *g, int fd, const struct sockaddr_storage *ss,
                 socklen_t len)
{
    struct epoll_event ev = { EPOLLIN | EPOLLRDHUP | EPOLLET, { 0 } };
    struct slot *s;
    struct addr_key k;
    int i = g->free_slot;

    addr_key((const struct sockaddr *)ss, &k);
    if (i < 0 || !addr_take(g, &k)) {
        close(fd);
        return;
    }
    s = &g->slots[i];
    g->free_slot = s->next;
    *s = (struct slot){ .fd = fd, .prev = g->tail, .next = -1, .ss = *ss,
                        .len = len, .k = k };
    s->deadline_us = cs_now_us() + (int64_t)(g->cfg.header_timeout * 1e6);
    if (g->tail >= 0)
        g->slots[g->tail].next = i;
    else
        g->head = i;
    g->tail = i;
    g->waiting++;
    ev.data.u64 = (uint64_t)i;
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        drop(g, i);
    else
        check(g, i, 0);
}

static void arm(struct cs_gate *g, int on, int64_t retry_us)
{
    struct epoll_event ev = { on ? EPOLLIN : 0, { .u64 = TAG_LISTEN } };

    if (on == g->armed)
        return;
    if (epoll_ctl(g->ep, EPOLL_CTL_MOD, g->lfd, &ev) == 0)
        g->armed = on;
    g->rearm_us = retry_us;
}

static void accept_some(struct cs_gate *g)
{
    for (int n = 0; n < 64; n++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd;

        if (!room(g)) {
            arm(g, 0, 0);
            return;
        }
        fd = accept4(g->lfd, (struct sockaddr *)&ss, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            take(g, fd, &ss, len);
        } else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                   errno == ENOMEM) {
            arm(g, 0, cs_now_us() + RETRY_US);
            return;
        } else if (errno != ECONNABORTED && errno != EINTR &&
                   errno != EPROTO) {
            return;
        }
    }
}

/* Close the waiting sockets past their deadline; milliseconds until the
 * next deadline or listening check (-1: none). */
static int expire(struct cs_gate *g)
{
    int64_t now = cs_now_us(), next = -1;

    while (g->head >= 0 && g->slots[g->head].deadline_us <= now)
        drop(g, g->head);
    if (!g->armed && (!g->rearm_us || g->rearm_us <= now) && room(g))
        arm(g, 1, 0);
    if (g->head >= 0)
        next = g->slots[g->head].deadline_us - now;
    if (!g->armed && (next < 0 || next > RETRY_US))
        next = RETRY_US;
    return next < 0 ? -1 : (int)(next / 1000 + 1);
}

static void *run(void *arg)
{
    struct cs_gate *g = arg;
    struct epoll_event ev[64];
    int timeout = -1;

    for (;;) {
        int n = epoll_wait(g->ep, ev, 64, timeout);

        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == TAG_STOP)
                return NULL;
            if (ev[i].data.u64 == TAG_LISTEN)
                accept_some(g);
            else if (g->slots[ev[i].data.u64].fd >= 0)
                check(g, (int)ev[i].data.u64, ev[i].events);
        }
        timeout = expire(g);
    }
    return NULL;
}

/* ---- start and stop ---- */

static int listen_on(const struct cs_gate_cfg *cfg)
{
    int fd = socket(cfg->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
                    SOCK_CLOEXEC, 0);
    int one = 1, ret;

    if (fd < 0)
        return AVERROR(errno);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (cfg->addr->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, cfg->addr, cfg->addr_len) < 0 || listen(fd, BACKLOG) < 0) {
        ret = AVERROR(errno);
        close(fd);
        return ret;
    }
    return fd;
}

static int add_fd(int ep, int fd, uint64_t tag)
{
    struct epoll_event ev = { EPOLLIN, { .u64 = tag } };

    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? AVERROR(errno) : 0;
}

static int alloc_tables(struct cs_gate *g)
{
    int n = g->cfg.max_conns;

    g->addr_size = 16;
    while (g->addr_size < (size_t)n * 2)
        g->addr_size *= 2;
    g->addrs = calloc(g->addr_size, sizeof(*g->addrs));
    g->slots = calloc((size_t)n, sizeof(*g->slots));
    g->buf = malloc((size_t)g->cfg.max_header);
    if (!g->addrs || !g->slots || !g->buf)
        return AVERROR(ENOMEM);
    for (int i = 0; i < n; i++) {
        g->slots[i].fd = -1;
        g->slots[i].next = i + 1 < n ? i + 1 : -1;
    }
    g->free_slot = 0;
    g->head = g->tail = -1;
    return 0;
}

int cs_gate_start(struct cs_gate **gp, const struct cs_gate_cfg *cfg)
{
    struct cs_gate *g = calloc(1, sizeof(*g));
    int ret = AVERROR(ENOMEM);

    *gp = NULL;
    if (!g)
        return ret;
    g->cfg = *cfg;
    g->lfd = g->ep = g->efd = -1;
    pthread_mutex_init(&g->lock, NULL);
    ret = alloc_tables(g);
    if (ret < 0)
        goto out;
    g->lfd = ret = listen_on(cfg);
    if (ret < 0)
        goto out;
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    g->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (g->ep < 0 || g->efd < 0) {
        ret = AVERROR(errno);
        goto out;
    }
    ret = add_fd(g->ep, g->lfd, TAG_LISTEN);
    if (ret == 0)
        ret = add_fd(g->ep, g->efd, TAG_STOP);
    if (ret == 0 && cfg->stop_fd >= 0)
        ret = add_fd(g->ep, cfg->stop_fd, TAG_STOP);
    if (ret < 0)
        goto out;
    g->armed = 1;
    /* set before the first hand-over can be released */
    *gp = g;
    ret = pthread_create(&g->thread, NULL, run, g);
    if (ret) {
        ret = AVERROR(ret);
        goto out;
    }
    g->running = 1;
    return 0;
out:
    *gp = NULL;
    cs_gate_stop(&g);
    return ret;
}

void cs_gate_stop(struct cs_gate **gp)
{
    struct cs_gate *g = *gp;
    uint64_t one = 1;

    if (!g)
        return;
    if (g->running) {
        ssize_t w = write(g->efd, &one, sizeof(one));

        (void)w;
        pthread_join(g->thread, NULL);
    }
    while (g->slots && g->head >= 0)
        drop(g, g->head);
    if (g->lfd >= 0)
        close(g->lfd);
    if (g->ep >= 0)
        close(g->ep);
    if (g->efd >= 0)
        close(g->efd);
    pthread_mutex_destroy(&g->lock);
    free(g->addrs);
    free(g->slots);
    free(g->buf);
    free(g);
    *gp = NULL;
}
