/* ingest.c: cs-recv --exec: several listeners at once, one thread each,
 * every publisher to its stream's child (streams.c). */
#include "net/transfer.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/mem.h>

#include "err.h"
#include "log.h"
#include "net/access.h"
#include "net/streams.h"
#include "sig.h"

struct source {
    struct cs_net_conf conf;
    struct cs_endpoint ep;
    struct cs_streams *streams;
    pthread_t thread;
    int running;
    int ret;                /* how its thread ended */
    char err[512];
};

/* The stream a publisher of SRC feeds: the name its protocol found in
 * the access file, or else one from the URL (its stream id, its path). */
static const char *stream_name(const struct source *src)
{
    const struct cs_net_conf *c = &src->conf;

    if (src->ep.stream[0])
        return src->ep.stream;
    if (c->streamid)
        return c->streamid;
    if (c->path[0] == '/' && c->path[1])
        return c->path + 1;
    return c->scheme;
}

/* Wait for the next publisher (reopening a protocol without accept). */
static int next_peer(struct source *src)
{
    struct cs_endpoint *ep = &src->ep;

    for (;;) {
        int ret;

        ep->why[0] = ep->stream[0] = ep->remote[0] = 0;
        if (ep->priv && ep->ops->accept) {
            ret = ep->ops->accept(ep);
        } else {
            cs_endpoint_close(ep);
            ret = cs_endpoint_open(ep, &src->conf);
        }
        if (ret >= 0 || ret == CS_ESTOP || !ep->priv || ret == CS_EUSAGE)
            return ret;
        cs_warn("'%s': a publisher failed: %s", src->conf.shown,
                ep->why[0] ? ep->why : CS_ERRSTR(ret));
    }
}

/* Feed N bytes to the stream, starting it with the first; -1: turn the
 * publisher away. */
static int feed(struct source *src, struct cs_stream **st,
                const uint8_t *buf, int n)
{
    if (!*st) {
        *st = cs_streams_start(src->streams, stream_name(src),
                               src->conf.scheme, src->ep.remote);
        if (!*st) {
            cs_warn("'%s': turned away a publisher%s%s: stream '%s' is on",
                    src->conf.shown, src->ep.remote[0] ? " from " : "",
                    src->ep.remote, stream_name(src));
            return -1;
        }
    }
    if (cs_streams_write(src->streams, *st, buf, n) == CS_EDATA) {
        cs_warn("'%s': the publisher of '%s' sends something that is not "
                "MPEG-TS; dropped it", src->conf.shown, stream_name(src));
        return -1;
    }
    return 0;
}

/* One publisher after another through read(). */
static int pump(struct source *src)
{
    struct cs_stream *st = NULL;
    uint8_t buf[2048];
    int ret = 0;

    while (ret >= 0) {
        int n = src->ep.ops->read(&src->ep, buf, sizeof(buf));

        if (n > 0 && feed(src, &st, buf, n) >= 0)
            continue;
        if (n == CS_ESTOP || n == CS_EUSAGE) {
            ret = n;
            break;
        }
        if (!st && n == AVERROR(ETIMEDOUT))
            continue;           /* nobody sent yet: keep waiting */
        if (st)
            cs_streams_end(src->streams, st);
        if (st || n <= 0)
            cs_info("'%s': the publisher of '%s' %s", src->conf.shown,
                    stream_name(src), n == 0 ? "left" :
                    n == AVERROR(ETIMEDOUT) ? "fell silent" : "failed");
        st = NULL;
        ret = next_peer(src);
    }
    if (st)
        cs_streams_end(src->streams, st);
    return ret;
}

static void *source_main(void *arg)
{
    struct source *src = arg;
    struct cs_endpoint *ep = &src->ep;
    int ret = cs_endpoint_open(ep, &src->conf);

    if (ret >= 0 && ep->ops->serve)
        ret = ep->ops->serve(ep, src->streams);
    else if (ret >= 0)
        ret = pump(src);
    if (ret < 0 && ret != CS_ESTOP) {
        snprintf(src->err, sizeof(src->err), "cannot listen on '%s': %s",
                 src->conf.shown, ep->why[0] ? ep->why : CS_ERRSTR(ret));
        cs_request_stop();      /* one listener failed: all stop */
    }
    src->ret = ret;
    return NULL;
}

/* Parse and check one URL of A into SRC. */
static int setup(struct source *src, const struct cs_transfer_args *a,
                 const char *url, struct cs_err *err)
{
    struct cs_net_conf *c = &src->conf;
    int ret = cs_net_conf_parse(c, url, CS_NET_RECV, err);

    if (ret < 0)
        return cs_err_code(err, ret, "invalid URL '%s'", url);
    if (c->mode != CS_NET_LISTENER)
        return cs_err_set(err, CS_EUSAGE, "'%s': --exec and several URLs "
                          "take listeners only", c->shown);
    c->timeout = a->timeout;
    c->access = a->access;
    c->max_conn = a->max_conn;
    c->cert = a->cert;
    c->key = a->key;
    return cs_transfer_check_tls(c, err);
}

/* Tick the children about ten times a second until a stop. */
static void supervise(struct cs_streams *streams, struct cs_stats *stats)
{
    struct pollfd pfd = { .fd = cs_sig_fd(), .events = POLLIN };

    while (!cs_stopping()) {
        (void)poll(&pfd, 1, 100);
        cs_streams_tick(streams);
        if (cs_stats_due(stats)) {
            cJSON *o = cJSON_CreateObject();

            cs_streams_stats(streams, o);
            cs_stats_emit(stats, o);
        }
    }
}

static int run_sources(struct source *src, int n, struct cs_stats *stats,
                       struct cs_err *err)
{
    int ret = 0;

    for (int i = 0; i < n; i++) {
        if (pthread_create(&src[i].thread, NULL, source_main, &src[i])) {
            cs_request_stop();
            ret = cs_err_set(err, AVERROR(ENOMEM), "cannot start a thread");
            break;
        }
        src[i].running = 1;
    }
    if (ret >= 0)
        supervise(src[0].streams, stats);
    for (int i = 0; i < n; i++) {
        if (!src[i].running)
            continue;
        pthread_join(src[i].thread, NULL);
        if (src[i].err[0] && ret >= 0)
            ret = cs_err_set(err, src[i].ret, "%s", src[i].err);
    }
    return ret;
}

int cs_ingest_run(const struct cs_transfer_args *a, struct cs_stats **stats,
                  struct cs_err *err)
{
    struct source *src = av_calloc((size_t)a->nurls, sizeof(*src));
    struct cs_streams *streams = NULL;
    cJSON *final = NULL;
    int ret = src ? 0 : AVERROR(ENOMEM);

    if (ret >= 0 && a->access && cs_access_check(a->access, err) < 0)
        ret = cs_err_set(err, CS_EUSAGE, "cannot read access file '%s'",
                         a->access);
    for (int i = 0; ret >= 0 && i < a->nurls; i++)
        ret = setup(&src[i], a, a->urls[i], err);
    if (ret >= 0)
        ret = cs_streams_open(&streams, a->exec, a->linger);
    for (int i = 0; ret >= 0 && i < a->nurls; i++)
        src[i].streams = streams;
    if (ret >= 0)
        ret = run_sources(src, a->nurls, *stats, err);
    for (int i = 0; src && i < a->nurls; i++) {
        cs_endpoint_close(&src[i].ep);
        cs_net_conf_free(&src[i].conf);
    }
    if (streams && *stats) {
        final = cJSON_CreateObject();
        cs_streams_stats(streams, final);
    }
    cs_streams_close(&streams);
    cs_stats_close(stats, final);
    av_free(src);
    return ret == CS_ESTOP ? 0 : ret;
}
