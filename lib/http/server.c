/* cs-serve's server: libmicrohttpd with epoll and a thread pool; the
 * request router; blocked requests are suspended connections resumed
 * by the live table. */
#include "http/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"
#include "http/internal.h"

#define MAX_STRAY_BODY (64 * 1024)

void cs_serve_defaults(struct cs_serve_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->root = ".";
    cfg->listen = "127.0.0.1:8080";
    cfg->cors_origin = "*";
    cfg->threads = 2;
    cfg->max_conns = 10000;
    cfg->max_per_addr = 64;
    cfg->max_blocked = 8000;
    cfg->timeout = 30;
    cfg->header_timeout = 5;
    cfg->max_header = 8 * 1024;
    cfg->max_upload = 256 << 20;
}

static void suspend_cb(void *arg)
{
    struct cs_req *r = arg;

    MHD_suspend_connection(r->conn);
}

static void wake_cb(void *arg)
{
    struct cs_req *r = arg;

    MHD_resume_connection(r->conn);
}

static enum MHD_Result healthz(struct cs_req *r)
{
    r->kind = CS_KIND_OTHER;
    return cs_http_buffer(r, "ok\n", 3, "text/plain; charset=utf-8",
                          "no-store", NULL, 0, 0, 0);
}

/* The server's clock for DASH players (the MPD's UTCTiming, scheme
 * urn:mpeg:dash:utc:http-iso:2014): ISO 8601 in UTC, milliseconds. */
static enum MHD_Result utc_time(struct cs_req *r)
{
    int64_t us = cs_wall_us();
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    char buf[40];
    size_t n;

    r->kind = CS_KIND_OTHER;
    gmtime_r(&s, &tm);
    n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, ".%03dZ",
                          (int)(us / 1000 % 1000));
    return cs_http_buffer(r, buf, n, "text/plain; charset=utf-8",
                          "no-store", NULL, 0, 0, 0);
}

static enum MHD_Result options(struct cs_req *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        0, "", MHD_RESPMEM_PERSISTENT);

    if (!resp)
        return MHD_NO;
    cs_http_common(r->h, resp, 0);
    MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                            "GET, HEAD, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            "Range, If-None-Match, If-Modified-Since");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
    return cs_http_queue(r, MHD_HTTP_NO_CONTENT, resp, 0);
}

/* "/" + REL (the resolved path below the root) + "/", every byte but
 * unreserved ones and '/' percent-encoded: always a path on this server,
 * never "//host/" (a scheme-relative URL leading elsewhere). */
static int dir_location(const char *rel, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    out[n++] = '/';
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++) {
        if (n + 4 >= size)
            return AVERROR(ENAMETOOLONG);
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~/", *p)) {
            out[n++] = (char)*p;
            continue;
        }
        out[n++] = '%';
        out[n++] = hex[*p >> 4];
        out[n++] = hex[*p & 15];
    }
    if (n > 1)
        out[n++] = '/';
    out[n] = 0;
    return 0;
}

static enum MHD_Result redirect_dir(struct cs_req *r)
{
    struct MHD_Response *resp;
    char loc[PATH_MAX * 3 + 2];

    if (dir_location(r->rel, loc, sizeof(loc)) < 0)
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    cs_http_common(r->h, resp, 0);
    MHD_add_response_header(resp, "Location", loc);
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    return cs_http_queue(r, MHD_HTTP_MOVED_PERMANENTLY, resp, 0);
}

static enum MHD_Result asset(struct cs_req *r, const char *name)
{
    r->kind = CS_KIND_PAGE;
    if (!r->h->assets[0] ||
        cs_http_resolve(r->h->assets, r->h->assets_fd, r, name, 1) < 0)
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    return cs_http_file(r);
}

static enum MHD_Result route(struct cs_req *r, const char *url)
{
    size_t n = strlen(url);
    enum MHD_Result res;
    struct cs_pl *pl;
    struct stat st;

    if (!strcmp(url, "/metrics"))
        return cs_metrics_page(r);
    if (!strcmp(url, "/healthz"))
        return healthz(r);
    if (!strcmp(url, "/time"))
        return utc_time(r);
    if (!strcmp(url, "/"))
        return cs_player_index(r);
    if (!strcmp(url, "/_cs/player.js"))
        return cs_player_script(r);
    if (!strcmp(url, "/_cs/webrtc.js"))
        return cs_player_webrtc_script(r);
    if (!strncmp(url, "/_cs/hls/", 9))
        return asset(r, url + 9);
    /* woken by a new version: the name was checked when it came, and the
     * live table has just read the file */
    if (r->kind == CS_KIND_PLAYLIST && r->w.state == CS_WAIT_WOKEN)
        return cs_llhls_resume(r);
    r->kind = cs_http_kind(url);
    if (cs_http_cached(r, url, &res))
        return res;
    /* a playlist known and unchanged: no open, the stat of live is all */
    if (r->kind == CS_KIND_PLAYLIST &&
        cs_http_name(r->h->root, r, url) == 0 &&
        cs_live_fresh(r->h->live, r->rel, &pl) == 0)
        return cs_llhls_playlist(r, pl);
    if (cs_http_resolve(r->h->root, r->h->root_fd, r, url, 1) < 0) {
        if ((r->kind == CS_KIND_PART || r->kind == CS_KIND_SEGMENT) &&
            cs_http_resolve(r->h->root, -1, r, url, 0) == 0)
            return cs_llhls_hinted(r);
        return cs_http_error(r, MHD_HTTP_NOT_FOUND);
    }
    if (fstat(r->ffd, &st) == 0 && S_ISDIR(st.st_mode)) {
        r->kind = CS_KIND_PAGE;
        if (n > 1 && url[n - 1] == '/')
            return cs_player_stream(r, r->rel);
        return redirect_dir(r);
    }
    if (r->kind == CS_KIND_PLAYLIST)
        return cs_llhls_playlist(r, NULL);
    return cs_http_file(r);
}

static struct cs_req *new_req(struct cs_http *h, struct MHD_Connection *c,
                              const char *method)
{
    struct cs_req *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->h = h;
    r->conn = c;
    r->rel = r->abs = "";
    r->fd = -1;
    r->ffd = -1;
    r->w.arg = r;
    r->kind = CS_KIND_OTHER;
    r->method = -1;
    if (!strcmp(method, "GET"))
        r->method = CS_GET;
    else if (!strcmp(method, "HEAD"))
        r->method = CS_HEAD;
    else if (!strcmp(method, "PUT"))
        r->method = CS_PUT;
    else if (!strcmp(method, "DELETE"))
        r->method = CS_DELETE;
    else if (!strcmp(method, "OPTIONS"))
        r->method = CS_OPTIONS;
    return r;
}

static enum MHD_Result count_host(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
    if (!strcasecmp(key, MHD_HTTP_HEADER_HOST))
        ++*(int *)cls;
    return MHD_YES;
}

/* RFC 9112, 3.2: an HTTP/1.1 request carries exactly one Host. (Not left
 * to MHD_OPTION_STRICT_FOR_CLIENT: libmicrohttpd 0.9.75 answers the
 * errors it finds in headers with two header blocks.) */
static int host_ok(struct MHD_Connection *c, const char *version)
{
    int n = 0;

    if (strcmp(version, MHD_HTTP_VERSION_1_1))
        return 1;
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_host, &n);
    return n == 1;
}

static unsigned seconds(double s)
{
    return (unsigned)(s + 0.999);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *data,
                               size_t *size, void **con_cls)
{
    struct cs_req *r = *con_cls;

    if (!r) {
        r = new_req(cls, c, method);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        /* the head is complete: from now on the idle timeout applies */
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT,
                                  seconds(r->h->cfg.timeout));
        if (!host_ok(c, version))
            return cs_http_error(r, MHD_HTTP_BAD_REQUEST);
        /* answering before the request is complete closes the
         * connection: wait for the next call, except for ingest, which
         * refuses bad tokens before reading a body */
        if (r->method != CS_PUT && r->method != CS_DELETE)
            return MHD_YES;
    }
    switch ((int)r->method) {
    case CS_PUT:
    case CS_DELETE:
        return cs_ingest(r, url, data, size);
    case CS_OPTIONS:
        return options(r);
    default:
        /* a body where none belongs: skip a little, then hang up */
        if (*size) {
            r->received += (int64_t)*size;
            *size = 0;
            return r->received > MAX_STRAY_BODY ? MHD_NO : MHD_YES;
        }
        if (r->method == CS_GET || r->method == CS_HEAD)
            return route(r, url);
        return cs_http_error(r, MHD_HTTP_METHOD_NOT_ALLOWED);
    }
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct cs_http *h = cls;
    struct cs_req *r = *con_cls;

    if (!r)
        return;
    cs_live_cancel(h->live, &r->w);
    cs_pl_unref(&r->pl);
    cs_ingest_cleanup(r);
    if (r->ffd >= 0)
        close(r->ffd);
    free(r->paths);
    free(r);
    *con_cls = NULL;
}

static void connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                       enum MHD_ConnectionNotificationCode code)
{
    struct cs_http *h = cls;

    const union MHD_ConnectionInfo *ci;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add(&h->metrics.active, 1);
        return;
    }
    atomic_fetch_sub(&h->metrics.active, 1);
    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr)
        cs_gate_release(h->gate, ci->client_addr);
}

/* A socket whose first request head passed the gate. */
static int pass(void *arg, int fd, const struct sockaddr *sa, socklen_t len)
{
    struct cs_http *h = arg;

    if (MHD_add_connection(h->daemon, fd, sa, len) == MHD_YES)
        return 0;
    return AVERROR(errno ? errno : ENFILE);
}

/* The usual %HH decoding, with a decoded NUL turned into a backslash,
 * which no path below the root may hold: "a%00/../b" must not become
 * "a". */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    size_t n = MHD_http_unescape(s);

    for (size_t i = 0; i < n; i++)
        if (!s[i])
            s[i] = '\\';
    return n;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    cs_vlog(CS_LOG_VERBOSE, fmt, ap);
}

/* "127.0.0.1:8080", "[::1]:8080", "localhost:8080", ":8080" (any). */
static int parse_listen(const char *s, struct sockaddr_storage *ss,
                        socklen_t *len)
{
    struct addrinfo hints = { 0 }, *ai = NULL;
    char host[256];
    const char *colon = strrchr(s, ':'), *h = host;
    int n;

    if (!colon || !colon[1])
        return CS_EUSAGE;
    n = (int)(colon - s);
    if (n >= (int)sizeof(host))
        return CS_EUSAGE;
    snprintf(host, sizeof(host), "%.*s", n, s);
    if (host[0] == '[' && n > 1 && host[n - 1] == ']') {
        host[n - 1] = 0;
        h = host + 1;
    }
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(*h ? h : NULL, colon + 1, &hints, &ai) || !ai)
        return CS_EUSAGE;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* A connection that has not sent a whole request head is not kept as
 * long as one that has: idle and junk connections go first. */
static double header_timeout(const struct cs_serve_cfg *cfg)
{
    return cfg->header_timeout < cfg->timeout ? cfg->header_timeout :
                                                cfg->timeout;
}

/* The gate (gate.h) listens and hands libmicrohttpd each connection
 * whose first request head is whole and well formed. */
static int start_gate(struct cs_http *h, const struct sockaddr_storage *ss,
                      socklen_t sslen, struct cs_err *err)
{
    struct cs_gate_cfg gc = {
        .addr = (const struct sockaddr *)ss, .addr_len = sslen,
        .stop_fd = cs_sig_fd(),
        .max_conns = h->cfg.max_conns, .max_per_addr = h->cfg.max_per_addr,
        .header_timeout = header_timeout(&h->cfg),
        .max_header = h->cfg.max_header, .max_upload = h->cfg.max_upload,
        .pass = pass, .arg = h,
    };
    int ret = cs_gate_start(&h->gate, &gc);

    if (ret < 0) {
        MHD_stop_daemon(h->daemon);
        h->daemon = NULL;
        return cs_err_setx(err, CS_ENET, CS_EXIT_NET,
                           "cannot listen on '%s': %s", h->cfg.listen,
                           CS_ERRSTR(ret));
    }
    return 0;
}

static int start(struct cs_http *h, struct cs_err *err)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;

    if (parse_listen(h->cfg.listen, &ss, &sslen) < 0)
        return cs_err_set(err, CS_EUSAGE, "invalid value '%s' for --listen: "
                          "expected HOST:PORT", h->cfg.listen);
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handler, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)h->cfg.threads,
        /* the gate counts per address, waiting sockets included; the
         * daemon's own count would be released after the gate's and
         * could refuse, at the limit, a connection the gate let in */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->cfg.max_conns,
        MHD_OPTION_CONNECTION_TIMEOUT, seconds(header_timeout(&h->cfg)),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)h->cfg.max_header,
        MHD_OPTION_NOTIFY_COMPLETED, completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, connection, h,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, h,
        MHD_OPTION_END);
    if (!h->daemon)
        return cs_err_set(err, CS_ENET, "cannot listen on '%s': %s",
                          h->cfg.listen,
                          errno ? strerror(errno) : "address unavailable");
    return start_gate(h, &ss, sslen, err);
}

static void find_assets(struct cs_http *h)
{
    static const char *const rel[] = {
        "../node_modules/hls.js/dist", "../share/livestreamx/hls.js",
        "../lib/node_modules/hls.js/dist", NULL,
    };
    char exe[PATH_MAX], path[PATH_MAX * 2];
    ssize_t n;

    if (h->cfg.assets) {
        if (!realpath(h->cfg.assets, h->assets))
            h->assets[0] = 0;
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return;
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    for (int i = 0; rel[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s/hls.min.js", exe, rel[i]);
        if (access(path, R_OK) == 0) {
            *strrchr(path, '/') = 0;
            if (realpath(path, h->assets))
                return;
        }
    }
    h->assets[0] = 0;
}

static cJSON *stats_obj(struct cs_http *h)
{
    cJSON *o = cJSON_CreateObject();
    long long req = 0, bytes = 0;

    for (int k = 0; k < CS_KIND_COUNT; k++) {
        req += atomic_load(&h->metrics.requests[k]);
        bytes += atomic_load(&h->metrics.bytes[k]);
    }
    cJSON_AddNumberToObject(o, "requests", (double)req);
    cJSON_AddNumberToObject(o, "sent_bytes", (double)bytes);
    cJSON_AddNumberToObject(o, "connections",
                            (double)atomic_load(&h->metrics.active));
    cJSON_AddNumberToObject(o, "blocked", cs_live_blocked(h->live));
    cJSON_AddNumberToObject(o, "blocked_refused",
                            (double)atomic_load(&h->metrics.busy_total));
    cJSON_AddNumberToObject(o, "requests_refused",
                            h->gate ? (double)cs_gate_refused(h->gate) : 0);
    cJSON_AddNumberToObject(o, "ingest_errors",
                            (double)atomic_load(&h->metrics.ingest_errors));
    return o;
}

static int serve(struct cs_http *h, struct cs_stats *st, struct cs_err *err)
{
    struct cs_live_cb cb = { suspend_cb, wake_cb };
    int ret;

    ret = cs_live_open(&h->live, h->root, &cb);
    if (ret < 0) {
        cs_stats_close(&st, NULL);
        return cs_err_code(err, ret, "cannot watch '%s'", h->cfg.root);
    }
    cs_live_set_max(h->live, h->cfg.max_blocked);
    ret = start(h, err);
    if (ret < 0)
        goto out;
    cs_info("serving '%s' on http://%s/", h->cfg.root, h->cfg.listen);
    while (!cs_stopping()) {
        struct pollfd p = { cs_sig_fd(), POLLIN, 0 };

        poll(&p, 1, 1000);
        if (cs_stats_due(st))
            cs_stats_emit(st, stats_obj(h));
    }
    /* release blocked requests (503), give them a moment, then stop */
    cs_live_shutdown(h->live);
    usleep(200 * 1000);
    MHD_stop_daemon(h->daemon);
    h->daemon = NULL;
    ret = 0;
out:
    cs_stats_close(&st, st && h->live ? stats_obj(h) : NULL);
    /* after the daemon: its closing connections are counted out */
    cs_gate_stop(&h->gate);
    cs_live_close(&h->live);
    return ret;
}

int cs_serve_run(const struct cs_serve_cfg *cfg, struct cs_stats *stats,
                 struct cs_err *err)
{
    struct cs_http *h = calloc(1, sizeof(*h));
    struct stat st;
    int ret;

    if (!h) {
        cs_stats_close(&stats, NULL);
        return AVERROR(ENOMEM);
    }
    h->cfg = *cfg;
    if (cs_mcache_init(&h->mcache) < 0) {
        free(h);
        cs_stats_close(&stats, NULL);
        return AVERROR(ENOMEM);
    }
    if (!realpath(cfg->root, h->root) || stat(h->root, &st) < 0 ||
        !S_ISDIR(st.st_mode)) {
        ret = cs_err_set(err, CS_EUSAGE, "cannot serve '%s': %s", cfg->root,
                         errno == ENOENT ? "no such folder" : "not a folder");
        cs_mcache_free(&h->mcache);
        free(h);
        cs_stats_close(&stats, NULL);
        return ret;
    }
    find_assets(h);
    if (!h->assets[0])
        cs_warn("hls.js not found: the player page will not play "
                "(use --assets DIR)");
    if (cs_fcache_open(&h->fcache, CS_FCACHE_BYTES) < 0)
        cs_warn("no file cache: out of memory");
    h->root_fd = open(h->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    h->assets_fd = h->assets[0] ?
        open(h->assets, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    ret = serve(h, stats, err);
    stats = NULL;
    if (h->root_fd >= 0)
        close(h->root_fd);
    if (h->assets_fd >= 0)
        close(h->assets_fd);
    cs_fcache_close(&h->fcache);
    cs_mcache_free(&h->mcache);
    free(h);
    return ret;
}
