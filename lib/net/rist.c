/* rist.c: RIST through librist, simple or main profile. As ristsender and
 * ristreceiver, the receiver listens ("rist://@:port") and the sender
 * calls; both can be turned round with mode=. The simple profile needs an
 * even port (RTP) with RTCP on the next one. */
#include "net/endpoint.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <librist/librist.h>
#include <libavutil/mem.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "sig.h"

#define POLL_MS 200

struct rist_priv {
    struct rist_ctx *ctx;
    struct rist_logging_settings *logs;
    pthread_mutex_t lock;
    int have_lock;
    double bandwidth, rtt;
    uint64_t sent, received, retransmitted, lost, recovered;
};

static int on_log(void *arg, enum rist_log_level level, const char *msg)
{
    cs_debug("rist: %.*s", (int)strcspn(msg, "\n"), msg);
    return 0;
}

static int on_stats(void *arg, const struct rist_stats *s)
{
    struct rist_priv *p = arg;

    pthread_mutex_lock(&p->lock);
    if (s->stats_type == RIST_STATS_SENDER_PEER) {
        const struct rist_stats_sender_peer *q = &s->stats.sender_peer;

        p->bandwidth = (double)q->bandwidth;
        p->rtt = q->rtt;
        p->sent = q->sent;
        p->retransmitted = q->retransmitted;
    } else if (s->stats_type == RIST_STATS_RECEIVER_FLOW) {
        const struct rist_stats_receiver_flow *q = &s->stats.receiver_flow;

        p->bandwidth = (double)q->bandwidth;
        p->rtt = q->rtt;
        p->received += q->received;
        p->recovered += q->recovered;
        p->lost += q->lost;
    }
    pthread_mutex_unlock(&p->lock);
    rist_stats_free(s);
    return 0;
}

/* S percent-encoded into URL at N (all but RFC 3986's unreserved
 * characters): a passphrase holding '&' or '=' stays one parameter. */
static int append_enc(char *url, size_t size, int n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s && n > 0 && (size_t)n + 4 < size; s++) {
        unsigned char ch = (unsigned char)*s;

        if (isalnum(ch) || strchr("-._~", ch)) {
            url[n++] = (char)ch;
        } else {
            url[n++] = '%';
            url[n++] = hex[ch >> 4];
            url[n++] = hex[ch & 15];
        }
    }
    if (n > 0 && (size_t)n < size)
        url[n] = 0;
    return n;
}

/* librist's own URL: "rist://[@]host:port?buffer=..&secret=..". */
static void peer_url(const struct cs_net_conf *c, char *url, size_t size)
{
    int n = snprintf(url, size, "rist://%s%s%s%s:%d?cname=cs-%s",
                     c->mode == CS_NET_LISTENER ? "@" : "",
                     strchr(c->host, ':') ? "[" : "",
                     c->host[0] ? c->host : "0.0.0.0",
                     strchr(c->host, ':') ? "]" : "", c->port,
                     c->dir == CS_NET_SEND ? "send" : "recv");

    if (n > 0 && (size_t)n < size && c->buffer_ms >= 0)
        n += snprintf(url + n, size - (size_t)n, "&buffer=%d", c->buffer_ms);
    if (n > 0 && (size_t)n < size && c->passphrase) {
        n += snprintf(url + n, size - (size_t)n, "&aes-type=%d&secret=",
                      c->pbkeylen == 16 ? 128 : 256);
        if (n > 0 && (size_t)n < size)
            append_enc(url, size, n, c->passphrase);
    }
}

static int create(struct cs_endpoint *ep, struct rist_priv *p)
{
    const struct cs_net_conf *c = ep->conf;
    enum rist_profile prof = c->rist_profile ? RIST_PROFILE_MAIN
                                             : RIST_PROFILE_SIMPLE;
    enum rist_log_level lvl = cs_log_enabled(CS_LOG_DEBUG) ? RIST_LOG_INFO
                                                           : RIST_LOG_ERROR;
    int ret;

    if (rist_logging_set(&p->logs, lvl, on_log, NULL, NULL, NULL) != 0)
        return cs_endpoint_fail(ep, AVERROR(ENOMEM), "cannot set up logs");
    if (c->dir == CS_NET_SEND)
        ret = rist_sender_create(&p->ctx, prof, 0, p->logs);
    else
        ret = rist_receiver_create(&p->ctx, prof, p->logs);
    if (ret != 0)
        return cs_endpoint_fail(ep, CS_EUSAGE, "cannot create the context");
    return 0;
}

static int rist_open(struct cs_endpoint *ep)
{
    const struct cs_net_conf *c = ep->conf;
    struct rist_priv *p = av_mallocz(sizeof(*p));
    struct rist_peer_config *pc = NULL;
    struct rist_peer *peer = NULL;
    char url[1024];
    int ret;

    if (!p)
        return AVERROR(ENOMEM);
    ep->priv = p;
    ret = pthread_mutex_init(&p->lock, NULL);
    if (ret)
        return cs_endpoint_fail(ep, AVERROR(ret), "cannot create a lock: %s",
                                CS_ERRSTR(AVERROR(ret)));
    p->have_lock = 1;
    if (c->passphrase && !c->rist_profile)
        return cs_endpoint_fail(ep, CS_EUSAGE, "encryption needs "
                                "profile=main");
    if (!c->rist_profile && c->port % 2)
        return cs_endpoint_fail(ep, CS_EUSAGE, "the simple profile needs "
                                "an even port");
    ret = create(ep, p);
    if (ret < 0)
        return ret;
    peer_url(c, url, sizeof(url));
    if (rist_parse_address2(url, &pc) != 0)
        return cs_endpoint_fail(ep, CS_EUSAGE, "bad address");
    /* librist does not decode its URL: the passphrase as given */
    if (c->passphrase)
        snprintf(pc->secret, sizeof(pc->secret), "%s", c->passphrase);
    ret = rist_peer_create(p->ctx, &peer, pc);
    rist_peer_config_free2(&pc);
    if (ret != 0)
        return cs_endpoint_fail(ep, CS_ENET, "cannot %s '%s:%d'",
                                c->mode == CS_NET_LISTENER ? "bind"
                                : "reach", c->host, c->port);
    if (rist_stats_callback_set(p->ctx, 1000, on_stats, p) != 0 ||
        rist_start(p->ctx) != 0)
        return cs_endpoint_fail(ep, CS_ENET, "cannot start");
    return 0;
}

static int rist_read(struct cs_endpoint *ep, uint8_t *buf, int size)
{
    struct rist_priv *p = ep->priv;
    int64_t until = cs_now_us() + (int64_t)(ep->conf->timeout * 1e6);

    for (;;) {
        struct rist_data_block *b = NULL;
        int n = rist_receiver_data_read2(p->ctx, &b, POLL_MS);

        if (n < 0)
            return cs_endpoint_fail(ep, CS_ENET, "receive failed");
        if (b) {
            int len = b->payload_len < (size_t)size ? (int)b->payload_len
                                                    : size;

            memcpy(buf, b->payload, (size_t)len);
            rist_receiver_data_block_free2(&b);
            return len;
        }
        if (cs_stopping())
            return CS_ESTOP;
        if (cs_now_us() > until)
            return cs_endpoint_fail(ep, AVERROR(ETIMEDOUT),
                                    "no data for %g s", ep->conf->timeout);
    }
}

static int rist_write(struct cs_endpoint *ep, const uint8_t *buf, int size)
{
    struct rist_priv *p = ep->priv;
    struct rist_data_block b = { .payload = buf, .payload_len = (size_t)size };

    if (rist_sender_data_write(p->ctx, &b) < 0)
        return cs_endpoint_fail(ep, CS_ENET, "send failed");
    return 0;
}

static void rist_stats_ep(struct cs_endpoint *ep, cJSON *o)
{
    struct rist_priv *p = ep->priv;
    int send = ep->conf->dir == CS_NET_SEND;

    pthread_mutex_lock(&p->lock);
    cJSON_AddNumberToObject(o, "bitrate_bps", p->bandwidth);
    cJSON_AddNumberToObject(o, "rtt_ms", p->rtt);
    cJSON_AddNumberToObject(o, send ? "packets_sent" : "packets_received",
                            (double)(send ? p->sent : p->received));
    cJSON_AddNumberToObject(o, send ? "retransmitted" : "recovered",
                            (double)(send ? p->retransmitted : p->recovered));
    if (!send)
        cJSON_AddNumberToObject(o, "lost", (double)p->lost);
    pthread_mutex_unlock(&p->lock);
}

static void rist_close_ep(struct cs_endpoint *ep)
{
    struct rist_priv *p = ep->priv;
    const struct cs_net_conf *c = ep->conf;

    if (p->ctx && c->dir == CS_NET_SEND && !cs_stopping()) {
        /* Leave time for the last retransmissions. */
        int ms = c->buffer_ms >= 0 ? c->buffer_ms : 1000;

        cs_sleep_until_us(cs_now_us() + (ms < 2000 ? ms : 2000) * 1000LL);
    }
    if (p->ctx)
        rist_destroy(p->ctx);
    rist_logging_settings_free2(&p->logs);
    if (p->have_lock)
        pthread_mutex_destroy(&p->lock);
    av_freep(&ep->priv);
}

const struct cs_endpoint_ops cs_net_rist = {
    .scheme = "rist",
    .dirs = 1 << CS_NET_SEND | 1 << CS_NET_RECV,
    .modes = 1 << CS_NET_CALLER | 1 << CS_NET_LISTENER,
    .open = rist_open,
    .read = rist_read,
    .write = rist_write,
    .stats = rist_stats_ep,
    .close = rist_close_ep,
};
