/* net/transfer.h: the two drivers behind cs-send and cs-recv: MPEG-TS
 * from a file descriptor to an endpoint, and from an endpoint to one.
 */
#ifndef CS_NET_TRANSFER_H
#define CS_NET_TRANSFER_H

#include <stddef.h>

#include "err.h"
#include "net/endpoint.h"
#include "stats.h"

struct cs_transfer {
    int fd;             /* stdin for sending, stdout for receiving */
    int pace;           /* sending: keep the input's real-time pace */
    int retry;          /* reconnect attempts after a failure; -1: always */
    int once;           /* receiving listener: stop after one publisher */
    struct cs_stats *stats;     /* may be NULL */
    char err[512];      /* on failure: the one line to print */
};

/* Send TS from t->fd to the endpoint of C until the input ends (0), a stop
 * is requested (CS_ESTOP) or a failure (a negative code, t->err says
 * what). Reconnects with back-off after a lost peer while t->retry
 * allows, saying so on stderr. */
int cs_transfer_send(const struct cs_net_conf *c, struct cs_transfer *t);

/* Receive TS from the endpoint of C and write it to t->fd as one stream
 * across publishers (see cs_tsout). A listener serves publisher after
 * publisher until stopped (or one with t->once); a caller ends when its
 * peer does. Codes as cs_transfer_send(). */
int cs_transfer_recv(const struct cs_net_conf *c, struct cs_transfer *t);

/* What cs-send and cs-recv take from their command lines. */
struct cs_transfer_args {
    const char *url;
    char *const *urls;  /* cs-recv: every URL given (url is the first) */
    int nurls;
    const char *exec;   /* cs-recv --exec COMMAND, or NULL */
    double linger;      /* cs-recv --exec: seconds a child waits for its
                         * publisher to come back */
    double timeout;     /* seconds */
    int retry;          /* -1: forever */
    int pace;           /* cs-send */
    int once;           /* cs-recv */
    const char *access; /* listener access file (SRT, RTMP), or NULL */
    int max_conn;       /* RTMP listener: clients at once */
    int max_viewers;    /* cs-send whep:// */
    const char *rendition;  /* cs-send whip:// and whep://, or NULL */
    const char *cert;   /* WHIP/WHEP listener: HTTPS certificate, or NULL */
    const char *key;    /* and its private key */
};

/* --retry's value: a count, or "forever" (-1). CS_EUSAGE otherwise. */
int cs_transfer_parse_retry(const char *arg, int *out);

/* The common part of cs-send's and cs-recv's runs: parse the URL for DIR,
 * check the settings and run the transfer, writing statistics to *STATS
 * (taken over and closed; may hold NULL). Returns 0 or a negative code
 * with ERR filled. */
int cs_transfer_run(const struct cs_transfer_args *a, enum cs_net_dir dir,
                    struct cs_stats **stats, struct cs_err *err);

/* --cert and --key: both or neither, for a whip://, whep:// or rtmps://
 * listener (which needs them). Returns 0 or CS_EUSAGE with ERR filled. */
int cs_transfer_check_tls(const struct cs_net_conf *c, struct cs_err *err);

/* cs-recv with --exec (or several URLs): every URL a listener, each
 * publisher to its stream's child (net/streams.h), until a stop (0) or a
 * failure (a negative code with ERR filled). *STATS as cs_transfer_run. */
int cs_ingest_run(const struct cs_transfer_args *a, struct cs_stats **stats,
                  struct cs_err *err);

/* Private to the drivers: reconnecting with back-off and statistics. */
int cs_transfer_retry(const struct cs_net_conf *c, struct cs_transfer *t,
                      struct cs_endpoint *ep, int *attempt, int err);
void cs_transfer_stats(struct cs_transfer *t, struct cs_endpoint *ep,
                       cJSON *obj, int final);

#endif
