/* net/endpoint.h: network endpoints that carry an MPEG-TS byte stream.
 *
 * Every protocol is one file behind a small struct of function pointers
 * (struct cs_endpoint_ops), found by the URL scheme. cs-send writes TS to an
 * endpoint and cs-recv reads TS from one; protocols that carry elementary
 * streams (RTMP, RTSP) remux inside their endpoint, so the commands only ever
 * see MPEG-TS bytes.
 */
#ifndef CS_NET_ENDPOINT_H
#define CS_NET_ENDPOINT_H

#include <stdint.h>

#include <cjson/cJSON.h>

/* One SRT message: 7 TS packets, as srt-live-transmit and ffmpeg send. */
#define CS_TS_PACKET 188
#define CS_NET_CHUNK (7 * CS_TS_PACKET)

enum cs_net_mode {
    CS_NET_CALLER = 0,
    CS_NET_LISTENER,
    CS_NET_RENDEZVOUS,
};

enum cs_net_dir {
    CS_NET_SEND = 0,    /* we publish (cs-send) */
    CS_NET_RECV,        /* we ingest (cs-recv) */
};

struct cs_endpoint_ops;
struct cs_err;
struct cs_streams;

/* An endpoint's settings: the URL's parts and query parameters, plus the
 * command-line settings that apply to every protocol. Filled by
 * cs_net_conf_parse(); released by cs_net_conf_free(). */
struct cs_net_conf {
    const struct cs_endpoint_ops *ops;
    char *url;          /* as given */
    char *shown;        /* the URL without secrets, for messages */
    char scheme[16];
    char host[256];     /* empty: any address (listener) */
    int port;           /* -1: none given */
    int localport;      /* SRT rendezvous: our port (0: the same) */
    char path[1024];    /* "/app/key" for RTMP, "/stream" for RTSP */
    enum cs_net_dir dir;
    enum cs_net_mode mode;
    int latency_ms;     /* SRT latency; -1: library default */
    char *passphrase;   /* SRT/RIST secret, or NULL */
    int pbkeylen;       /* 0, 16, 24 or 32 */
    char *streamid;     /* SRT stream id, or NULL */
    int64_t maxbw;      /* SRT bytes/s; 0: library default, -1: unlimited */
    int payload;        /* bytes a datagram (default CS_NET_CHUNK) */
    int ttl;            /* UDP multicast TTL; -1: default */
    char localaddr[64]; /* UDP multicast interface address, or empty */
    int rist_profile;   /* 0 simple, 1 main (default) */
    int buffer_ms;      /* RIST recovery buffer; -1: default */
    double timeout;     /* seconds without data before giving up */
    const char *access; /* listener access file (SRT, RTMP, WHIP/WHEP), or
                         * NULL */
    int max_conn;       /* RTMP listener: clients at once; 0: default */
    char *token;        /* WHIP/WHEP bearer token (token=), or NULL */
    int max_viewers;    /* WHEP listener: viewers at once */
    const char *rendition;  /* WebRTC sending: the ladder rung, or NULL */
    int ice_port;       /* WHIP/WHEP: the one UDP port for ICE; 0: any */
    const char *cert;   /* WHIP/WHEP listener: PEM certificate file for
                         * HTTPS, or NULL (plain HTTP) */
    const char *key;    /* its PEM private key file */
};

/* An open endpoint; each protocol keeps its state behind priv. */
struct cs_endpoint {
    const struct cs_endpoint_ops *ops;
    const struct cs_net_conf *conf;
    void *priv;
    char why[256];      /* the cause of the last failure, lower case */
    /* A listener's current publisher, where the protocol knows it: the
     * name of its stream in the access file (never a secret) and its
     * address; empty otherwise. */
    char stream[128];
    char remote[64];
};

struct cs_endpoint_ops {
    const char *scheme;
    unsigned dirs;      /* 1 << CS_NET_SEND | 1 << CS_NET_RECV */
    unsigned modes;     /* 1 << CS_NET_CALLER | ... */
    /* Connect (caller), or bind and wait for the first peer (listener),
     * giving up after conf->timeout for a caller. */
    int (*open)(struct cs_endpoint *ep);
    /* Listener only: drop the current peer and wait for the next one
     * (without a bound: a listener serves until stopped). NULL: reopen. */
    int (*accept)(struct cs_endpoint *ep);
    /* Read up to SIZE bytes: the count, 0 when the peer left, or a
     * negative code (AVERROR(ETIMEDOUT) after conf->timeout of silence). */
    int (*read)(struct cs_endpoint *ep, uint8_t *buf, int size);
    /* Write SIZE bytes (at most conf->payload): 0 or a negative code. */
    int (*write)(struct cs_endpoint *ep, const uint8_t *buf, int size);
    /* Sending: the input ended; deliver what is still queued (bounded by
     * conf->timeout) before the final counters are taken. NULL: nothing
     * is queued past write. */
    void (*finish)(struct cs_endpoint *ep);
    /* Add this protocol's counters to a --stats object (may be NULL). */
    void (*stats)(struct cs_endpoint *ep, cJSON *obj);
    /* Listener, cs-recv --exec: serve every publisher at once, each to
     * its stream (net/streams.h), until a stop (CS_ESTOP) or a failure.
     * NULL: the publishers come one at a time through read. */
    int (*serve)(struct cs_endpoint *ep, struct cs_streams *streams);
    /* Release everything; ep->priv is NULL afterwards. */
    void (*close)(struct cs_endpoint *ep);
};

extern const struct cs_endpoint_ops cs_net_srt;
extern const struct cs_endpoint_ops cs_net_udp;
extern const struct cs_endpoint_ops cs_net_tcp;
extern const struct cs_endpoint_ops cs_net_rist;
extern const struct cs_endpoint_ops cs_net_rtmp;
extern const struct cs_endpoint_ops cs_net_rtmps;
extern const struct cs_endpoint_ops cs_net_rtsp;
/* WebRTC (net/whip.c): whip:// receiving is a WHIP endpoint (listener).
 * cs_net_conf_parse() picks the ops whose scheme AND direction match, so
 * whip:// sending (caller) and whep:// (sending listener) are separate
 * ops tables with the same scheme names. */
extern const struct cs_endpoint_ops cs_net_whip;
/* whip:// sending: a WHIP client (net/whipsend.c); whep:// sending: a WHEP
 * endpoint serving viewers (net/whep.c). */
extern const struct cs_endpoint_ops cs_net_whip_send;
extern const struct cs_endpoint_ops cs_net_whep;

/* Parse URL for direction DIR into C (zeroed first). Query parameters are
 * spelled as srt-live-transmit and ffmpeg spell them (mode, latency,
 * passphrase, pbkeylen, streamid, maxbw, payloadsize, ttl, localaddr,
 * profile, buffer; token and ice_port for whip:// and whep://, the token
 * never in c->shown).
 * whip:// receiving and whep:// sending default to listener mode, whip://
 * sending to caller. Returns 0, or CS_EUSAGE with ERR (may be NULL) saying
 * "invalid URL 'URL': what" (an RTMP stream key masked), or
 * AVERROR(ENOMEM). The caller frees C with cs_net_conf_free(), also after
 * a failure. */
int cs_net_conf_parse(struct cs_net_conf *c, const char *url,
                      enum cs_net_dir dir, struct cs_err *err);
void cs_net_conf_free(struct cs_net_conf *c);

/* "caller", "listener", "rendezvous". */
const char *cs_net_mode_name(enum cs_net_mode m);

/* Open/close an endpoint for C (ep is filled; ep->conf points to C). */
int cs_endpoint_open(struct cs_endpoint *ep, const struct cs_net_conf *c);
void cs_endpoint_close(struct cs_endpoint *ep);

/* Record the cause of a failure in ep->why and return ERR. */
int cs_endpoint_fail(struct cs_endpoint *ep, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resolve the endpoint's host and port for a socket of TYPE (SOCK_DGRAM,
 * SOCK_STREAM); an empty host means any address. Returns 0, or CS_ENET with
 * ep->why set. The caller frees *res with freeaddrinfo. */
struct addrinfo;
int cs_net_resolve(struct cs_endpoint *ep, int type, int passive,
                   struct addrinfo **res);

/* Set the int socket option LEVEL/NAME of FD to VALUE. Returns 0, or
 * AVERROR(errno) with ep->why saying "cannot set WHAT: cause". */
int cs_net_sockopt(struct cs_endpoint *ep, int fd, int level, int name,
                   int value, const char *what);

/* Wait until FD is ready for EVENTS (POLLIN/POLLOUT), waking up for a stop
 * request. TIMEOUT in seconds (<= 0: none). Returns 0, CS_ESTOP, or
 * AVERROR(ETIMEDOUT) with ep->why set. */
int cs_net_wait(struct cs_endpoint *ep, int fd, short events, double timeout);

#endif
