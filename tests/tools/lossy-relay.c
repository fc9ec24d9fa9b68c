/* lossy-relay: relay UDP between two loopback ports, dropping a set
 * fraction of datagrams (seeded, so a run can be repeated) and delaying
 * the rest by a set time. Both directions, so SRT's ACKs and NAKs suffer
 * too.
 *
 *   lossy-relay LISTEN_PORT TARGET_PORT LOSS DELAY_MS [SEED]
 *
 * Datagrams to 127.0.0.1:LISTEN_PORT go to 127.0.0.1:TARGET_PORT; answers
 * go back to the last sender. Prints "relayed N dropped M" on SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define QMAX 65536
#define DGRAM 2048

struct item {
    int64_t due_us;
    int to_target;
    uint16_t len;
    uint8_t data[DGRAM];
};

struct relay {
    int front, back;            /* sockets facing the client / target */
    struct sockaddr_in client, target;
    int have_client;
    double loss;
    int64_t delay_us;
    uint64_t rng;
    struct item *q;             /* ring buffer, in arrival (= due) order */
    int head, n;
    long relayed, dropped;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = sig;
}

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64*: the same seed drops the same datagrams. */
static double next_random(struct relay *r)
{
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return (double)((r->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int bind_port(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_DGRAM, 0), size = 8 << 20;

    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("lossy-relay: bind");
        exit(1);
    }
    return fd;
}

static void take(struct relay *r, int fd, int to_target)
{
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    struct item *it;
    ssize_t n;

    if (r->n == QMAX) {                   /* full: drop, as a router would */
        char junk[DGRAM];

        if (recv(fd, junk, sizeof(junk), 0) >= 0)
            r->dropped++;
        return;
    }
    it = &r->q[(r->head + r->n) % QMAX];
    n = recvfrom(fd, it->data, DGRAM, 0, (struct sockaddr *)&from, &flen);
    if (n < 0)
        return;
    if (to_target) {
        r->client = from;
        r->have_client = 1;
    }
    if (next_random(r) < r->loss) {
        r->dropped++;
        return;
    }
    it->len = (uint16_t)n;
    it->to_target = to_target;
    it->due_us = now_us() + r->delay_us;
    r->n++;
}

static void release(struct relay *r)
{
    int64_t t = now_us();

    while (r->n > 0 && r->q[r->head].due_us <= t) {
        struct item *it = &r->q[r->head];

        if (it->to_target)
            sendto(r->back, it->data, it->len, 0,
                   (struct sockaddr *)&r->target, sizeof(r->target));
        else if (r->have_client)
            sendto(r->front, it->data, it->len, 0,
                   (struct sockaddr *)&r->client, sizeof(r->client));
        r->relayed++;
        r->head = (r->head + 1) % QMAX;
        r->n--;
    }
}

int main(int argc, char **argv)
{
    struct relay r = { 0 };

    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: lossy-relay LISTEN_PORT TARGET_PORT LOSS "
                        "DELAY_MS [SEED]\n");
        return 2;
    }
    r.loss = atof(argv[3]);
    r.delay_us = (int64_t)(atof(argv[4]) * 1000);
    r.rng = argc > 5 ? strtoull(argv[5], NULL, 10) * 2654435761ULL + 1 : 1;
    r.q = calloc(QMAX, sizeof(*r.q));
    if (!r.q)
        return 1;
    r.front = bind_port(atoi(argv[1]));
    r.back = bind_port(0);
    r.target.sin_family = AF_INET;
    r.target.sin_port = htons((uint16_t)atoi(argv[2]));
    r.target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop) {
        struct pollfd p[2] = { { r.front, POLLIN, 0 }, { r.back, POLLIN, 0 } };
        int ms = 50;

        if (r.n > 0) {
            int64_t left = r.q[r.head].due_us - now_us();

            ms = left <= 0 ? 0 : (int)(left / 1000) + 1;
        }
        if (poll(p, 2, ms) < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN)
            take(&r, r.front, 1);
        if (p[1].revents & POLLIN)
            take(&r, r.back, 0);
        release(&r);
    }
    fprintf(stderr, "relayed %ld dropped %ld\n", r.relayed, r.dropped);
    free(r.q);
    return 0;
}
