/* net/transfer.h: the two drivers behind cs-send and cs-recv: MPEG-TS
 * from a file descriptor to an endpoint, and from an endpoint to one.
 */
#ifndef CS_NET_TRANSFER_H
#define CS_NET_TRANSFER_H

#include <stddef.h>

#include "net/endpoint.h"
#include "opt.h"
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
    double timeout;     /* seconds */
    int retry;          /* -1: forever */
    int pace;           /* cs-send */
    int once;           /* cs-recv */
    const char *access; /* SRT listener access file, or NULL */
    const char *stats;  /* --stats, or NULL */
};

/* Parse the options both commands share: --timeout (KEY 't') and --retry
 * (KEY 'r'). Returns 0, or CS_EUSAGE after one line naming the value. */
int cs_transfer_opt(struct cs_transfer_args *a, int key, const char *arg);

/* Everything after option parsing: parse the URL for DIR, check the
 * settings, install the signal handlers, open --stats and run the
 * transfer. Returns 0 or a negative code; failures are reported on
 * standard error in one line (the commands' error report). */
int cs_transfer_run(const struct cs_transfer_args *a, enum cs_net_dir dir);

/* The whole of cs-send's and cs-recv's main: parse the options (FN for the
 * command's own, after which cs_transfer_opt), take the one URL operand,
 * run for DIR. Returns the exit status. */
int cs_transfer_main(const struct cs_cmd *cmd, int argc, char **argv,
                     struct cs_transfer_args *a, cs_opt_fn fn,
                     enum cs_net_dir dir);

/* Private to the drivers: reconnecting with back-off and statistics. */
int cs_transfer_retry(const struct cs_net_conf *c, struct cs_transfer *t,
                      struct cs_endpoint *ep, int *attempt, int err);
void cs_transfer_stats(struct cs_transfer *t, struct cs_endpoint *ep,
                       cJSON *obj, int final);

#endif
