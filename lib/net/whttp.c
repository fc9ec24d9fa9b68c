/* whttp.c: the WHIP/WHEP HTTP endpoint on libmicrohttpd (see whttp.h). */
#include "net/whttp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <libavutil/error.h>
#include <libavutil/mem.h>
#include <microhttpd.h>

#include "err.h"
#include "net/access.h"

struct cs_whttp {
    struct MHD_Daemon *d;
    char *cert, *key;       /* PEM text for HTTPS, or NULL */
    struct cs_whttp_sink sink;
    char path[1024];
    size_t plen;
    char *token;            /* from the URL, or NULL */
    struct cs_access *acl;  /* from the access file, or NULL */
    unsigned access_mode;
    size_t max_body;
    int port;
};

/* One request's body, gathered across MHD's calls. */
struct req {
    char *body;
    size_t len;
    int too_big;
    char reason[200];   /* the last error answered, for sink->refused */
};

static const char cors_expose[] =
    "Location, ETag, Link, Accept-Post, Retry-After";

int cs_whttp_token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = la > lb ? la : lb;
    unsigned char diff = la != lb;

    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(i < la ? a[i] : 0) ^
                (unsigned char)(i < lb ? b[i] : 0);
    return diff == 0;
}

static void add_cors(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(r, "Access-Control-Expose-Headers", cors_expose);
    MHD_add_response_header(r, "Cache-Control", "no-store");
}

/* Send STATUS with BODY (text/plain unless TYPE says) and the CORS
 * headers; RETRY_AFTER > 0 adds that header. An error's BODY is kept in
 * Q for sink->refused. */
static enum MHD_Result answer(struct req *q, struct MHD_Connection *conn,
                              unsigned status, const char *body,
                              const char *type, int retry_after)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    char line[256];

    if (status >= 400)
        snprintf(q->reason, sizeof(q->reason), "%s", body ? body : "");
    if (body && !type) {
        snprintf(line, sizeof(line), "%s\n", body);
        body = line;
    }
    r = MHD_create_response_from_buffer(body ? strlen(body) : 0,
                                        (void *)(body ? body : ""),
                                        MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    add_cors(r);
    if (body)
        MHD_add_response_header(r, "Content-Type",
                                type ? type : "text/plain; charset=utf-8");
    if (retry_after > 0) {
        char s[16];

        snprintf(s, sizeof(s), "%d", retry_after);
        MHD_add_response_header(r, "Retry-After", s);
    }
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result answer_options(struct MHD_Connection *conn)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(0, (void *)"",
                                        MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_cors(r);
    MHD_add_response_header(r, "Accept-Post", "application/sdp");
    MHD_add_response_header(r, "Allow",
                            "OPTIONS, POST, DELETE, PATCH, HEAD");
    MHD_add_response_header(r, "Access-Control-Allow-Methods",
                            "OPTIONS, POST, DELETE, PATCH, HEAD");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, If-Match");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    /* A public page may publish to an endpoint on a private address
     * (Chromium's Private Network Access preflight). */
    MHD_add_response_header(r, "Access-Control-Allow-Private-Network",
                            "true");
    ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

/* The token a request must carry: NULL when none is needed. *LISTED is 0
 * when an access file is given and does not name the path. */
static int token_ok(const struct cs_whttp *w, struct MHD_Connection *conn,
                    int *listed)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                "Authorization");
    const char *given = NULL;
    int need = 0, ok = 0;

    *listed = 1;
    if (h && !strncasecmp(h, "Bearer ", 7))
        given = h + 7;
    if (w->token) {
        need = 1;
        ok |= given && cs_whttp_token_equal(given, w->token);
    }
    if (w->acl) {
        const char *id = w->path[0] == '/' ? w->path + 1 : w->path;
        const struct cs_access_entry *e;
        unsigned mode = 0;

        e = cs_access_find(w->acl, id, &mode);
        if (!e || !(e->modes & w->access_mode))
            *listed = w->token != NULL;
        else if (!e->passphrase)
            ok = 1;     /* listed without a token: open */
        else {
            need = 1;
            ok |= given && cs_whttp_token_equal(given, e->passphrase);
        }
    }
    return !need || ok;
}

static enum MHD_Result do_post(struct cs_whttp *w, struct MHD_Connection *conn,
                               struct req *q)
{
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   "Content-Type");
    struct cs_whttp_reply r = { .status = MHD_HTTP_CREATED };
    unsigned char rnd[CS_WHTTP_ID_LEN / 2];
    char id[CS_WHTTP_ID_LEN + 1], loc[1100], etag[CS_WHTTP_ID_LEN + 3];
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (!type || strncasecmp(type, "application/sdp", 15))
        return answer(q, conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                      "expected Content-Type: application/sdp", NULL, 0);
    if (q->too_big)
        return answer(q, conn, MHD_HTTP_CONTENT_TOO_LARGE,
                      "the offer is too large", NULL, 0);
    if (!q->len)
        return answer(q, conn, MHD_HTTP_BAD_REQUEST, "empty offer", NULL, 0);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return answer(q, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                      "no randomness for a session id", NULL, 1);
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(id + 2 * i, 3, "%02x", rnd[i]);
    w->sink.offer(w->sink.opaque, id, q->body, q->len, &r);
    if (r.status != MHD_HTTP_CREATED || !r.sdp) {
        ret = answer(q, conn, r.status >= 400 ? (unsigned)r.status : 500,
                     r.reason[0] ? r.reason : "no answer", NULL,
                     r.retry_after);
        free(r.sdp);
        return ret;
    }
    resp = MHD_create_response_from_buffer(strlen(r.sdp), r.sdp,
                                           MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(r.sdp);
        return MHD_NO;
    }
    snprintf(loc, sizeof(loc), "%.*s/%s", (int)w->plen, w->path, id);
    snprintf(etag, sizeof(etag), "\"%s\"", id);
    add_cors(resp);
    MHD_add_response_header(resp, "Content-Type", "application/sdp");
    MHD_add_response_header(resp, "Location", loc);
    MHD_add_response_header(resp, "ETag", etag);
    ret = MHD_queue_response(conn, MHD_HTTP_CREATED, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* URL is PATH (ID NULL) or PATH/ID (*ID points at it); 0: neither. */
static int match_path(const struct cs_whttp *w, const char *url,
                      const char **id)
{
    *id = NULL;
    if (strncmp(url, w->path, w->plen))
        return 0;
    url += w->plen;
    if (!*url || !strcmp(url, "/"))
        return 1;
    if (*url != '/' || strlen(url + 1) != CS_WHTTP_ID_LEN ||
        strspn(url + 1, "0123456789abcdef") != CS_WHTTP_ID_LEN)
        return 0;
    *id = url + 1;
    return 1;
}

static enum MHD_Result route(struct cs_whttp *w, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             struct req *q);

/* Tell the sink of an error answered to a POST or DELETE. */
static enum MHD_Result told(struct cs_whttp *w, struct MHD_Connection *conn,
                            const char *url, const char *method,
                            struct req *q)
{
    enum MHD_Result ret = route(w, conn, url, method, q);
    const union MHD_ConnectionInfo *ci;

    if (!w->sink.refused || (strcmp(method, "POST") &&
                             strcmp(method, "DELETE")))
        return ret;
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
    if (ci && ci->http_status >= 400)
        w->sink.refused(w->sink.opaque, method, (int)ci->http_status,
                        q->reason);
    return ret;
}

static enum MHD_Result route(struct cs_whttp *w, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             struct req *q)
{
    const char *id;
    int listed;

    if (!match_path(w, url, &id))
        return answer(q, conn, MHD_HTTP_NOT_FOUND, "no such endpoint", NULL, 0);
    if (!strcmp(method, "OPTIONS"))
        return answer_options(conn);
    if (!token_ok(w, conn, &listed))
        return answer(q, conn, MHD_HTTP_UNAUTHORIZED,
                      "missing or wrong bearer token", NULL, 0);
    if (!listed)
        return answer(q, conn, MHD_HTTP_FORBIDDEN,
                      "this path is not in the access file", NULL, 0);
    if (!strcmp(method, "POST") && !id)
        return do_post(w, conn, q);
    if (!strcmp(method, "HEAD") && !id)
        return answer(q, conn, w->sink.probe ? w->sink.probe(w->sink.opaque)
                                          : MHD_HTTP_OK, NULL, NULL, 0);
    if (!strcmp(method, "DELETE") && id)
        return w->sink.remove(w->sink.opaque, id) < 0
            ? answer(q, conn, MHD_HTTP_NOT_FOUND, "no such session", NULL, 0)
            : answer(q, conn, MHD_HTTP_OK, NULL, NULL, 0);
    if (!strcmp(method, "PATCH") && id)
        return answer(q, conn, MHD_HTTP_UNPROCESSABLE_CONTENT,
                      "trickle ICE and ICE restarts are not supported: "
                      "put the candidates in the offer", NULL, 0);
    return answer(q, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
                  NULL, 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    struct cs_whttp *w = cls;
    struct req *q = *con_cls;

    if (!q) {
        q = calloc(1, sizeof(*q));
        *con_cls = q;
        return q ? MHD_YES : MHD_NO;
    }
    if (*size) {
        if (q->too_big || q->len + *size > w->max_body) {
            q->too_big = 1;
        } else {
            char *b = realloc(q->body, q->len + *size + 1);

            if (!b)
                return MHD_NO;
            memcpy(b + q->len, data, *size);
            q->body = b;
            q->len += *size;
            b[q->len] = 0;
        }
        *size = 0;
        return MHD_YES;
    }
    return told(w, conn, url, method, q);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode why)
{
    struct req *q = *con_cls;

    if (q)
        free(q->body);
    free(q);
    *con_cls = NULL;
}

/* The address to bind: HOST:PORT, resolved into SS. */
static int bind_addr(const struct cs_whttp_conf *c,
                     struct sockaddr_storage *ss, char *why, size_t n)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    char port[16];
    int ret;

    snprintf(port, sizeof(port), "%d", c->port);
    ret = getaddrinfo(c->host && c->host[0] ? c->host : NULL, port, &hints,
                      &res);
    if (ret != 0) {
        snprintf(why, n, "cannot resolve '%s': %s", c->host,
                 gai_strerror(ret));
        return CS_ENET;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static int setup(struct cs_whttp *w, const struct cs_whttp_conf *c,
                 char *why, size_t n)
{
    int ret = 0;

    snprintf(w->path, sizeof(w->path), "%s", c->path[0] ? c->path : "/");
    w->plen = strlen(w->path);
    while (w->plen > 1 && w->path[w->plen - 1] == '/')
        w->path[--w->plen] = 0;
    if (w->plen == 1)
        w->plen = 0;            /* "/": sessions at /ID */
    w->max_body = c->max_body ? c->max_body : 64 * 1024;
    w->access_mode = c->access_mode;
    if (c->token) {
        w->token = av_strdup(c->token);
        if (!w->token)
            return AVERROR(ENOMEM);
    }
    if (c->access) {
        ret = cs_access_load(&w->acl, c->access);
        if (ret < 0)
            snprintf(why, n, "cannot read access file '%s': %s", c->access,
                     CS_ERRSTR(ret));
    }
    return ret;
}

/* Read the PEM file PATH (at most 1 MiB) into *OUT. */
static int read_pem(const char *path, char **out, char *why, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t len = 0;
    char *b = av_malloc(1 << 20);
    int ret = 0;

    if (!f || !b) {
        ret = f ? AVERROR(ENOMEM) : CS_EUSAGE;
        snprintf(why, n, "cannot read '%s': %s", path,
                 CS_ERRSTR(AVERROR(errno)));
    } else {
        len = fread(b, 1, (1 << 20) - 1, f);
        b[len] = 0;
        if (!len || !strstr(b, "-----BEGIN ")) {
            ret = CS_EUSAGE;
            snprintf(why, n, "'%s' is not a PEM file", path);
        }
    }
    if (f)
        fclose(f);
    if (ret < 0)
        av_freep(&b);
    *out = b;
    return ret;
}

/* Start the daemon on SS, with TLS when a certificate was read. */
static struct MHD_Daemon *start_daemon(struct cs_whttp *w,
                                       const struct cs_whttp_conf *c,
                                       struct sockaddr_storage *ss)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_THREAD_PER_CONNECTION;

    if (ss->ss_family == AF_INET6)
        flags |= MHD_USE_DUAL_STACK;
    if (w->cert)
        flags |= MHD_USE_TLS;
    return MHD_start_daemon(
        flags, (uint16_t)c->port, NULL, NULL, on_request, w,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss,
        MHD_OPTION_CONNECTION_TIMEOUT, c->conn_timeout ? c->conn_timeout : 10,
        MHD_OPTION_CONNECTION_LIMIT, c->max_conns ? c->max_conns : 64,
        MHD_OPTION_NOTIFY_COMPLETED, on_done, w,
        /* without a certificate the list ends here */
        w->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, w->cert,
        MHD_OPTION_HTTPS_MEM_KEY, w->key,
        MHD_OPTION_END);
}

int cs_whttp_start(struct cs_whttp **out, const struct cs_whttp_conf *c,
                   const struct cs_whttp_sink *sink, char *why,
                   size_t whylen)
{
    struct cs_whttp *w = av_mallocz(sizeof(*w));
    struct sockaddr_storage ss = { 0 };
    const union MHD_DaemonInfo *info;
    int ret;

    *out = w;
    if (!w)
        return AVERROR(ENOMEM);
    w->sink = *sink;
    ret = setup(w, c, why, whylen);
    if (ret >= 0 && c->cert)
        ret = read_pem(c->cert, &w->cert, why, whylen);
    if (ret >= 0 && c->cert)
        ret = read_pem(c->key, &w->key, why, whylen);
    if (ret >= 0)
        ret = bind_addr(c, &ss, why, whylen);
    if (ret < 0)
        return ret;
    w->d = start_daemon(w, c, &ss);
    if (!w->d && w->cert) {
        snprintf(why, whylen, "cannot listen on port %d with TLS (is the "
                 "key the certificate's?): %s", c->port,
                 CS_ERRSTR(AVERROR(errno ? errno : EINVAL)));
        return CS_ENET;
    }
    if (!w->d) {
        snprintf(why, whylen, "cannot listen on port %d: %s", c->port,
                 CS_ERRSTR(AVERROR(errno ? errno : EADDRINUSE)));
        return CS_ENET;
    }
    info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    w->port = info ? info->port : c->port;
    return 0;
}

int cs_whttp_port(const struct cs_whttp *w)
{
    return w->port;
}

void cs_whttp_stop(struct cs_whttp **pw)
{
    struct cs_whttp *w = *pw;

    if (!w)
        return;
    if (w->d)
        MHD_stop_daemon(w->d);
    cs_access_free(&w->acl);
    av_freep(&w->token);
    av_freep(&w->cert);
    av_freep(&w->key);
    av_freep(pw);
}
