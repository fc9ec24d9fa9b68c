/* net/whttp.h: the HTTP side of WHIP (RFC 9725) and WHEP
 * (draft-ietf-wish-whep) endpoints, on libmicrohttpd.
 *
 * One server answers one path, http://HOST:PORT/PATH:
 *   OPTIONS PATH or PATH/ID  204, CORS headers and Accept-Post: application/sdp
 *                            (no token needed: browsers send none here)
 *   POST PATH (application/sdp)  the offer goes to sink->offer, which fills
 *                            a struct cs_whttp_reply: 201 with the answer
 *                            SDP, Location: PATH/ID and ETag: "ID", or its
 *                            status (400, 409, 503, ...) with a one-line
 *                            reason as text/plain (and Retry-After)
 *   DELETE PATH/ID           sink->remove: 200, or 404 for no such session
 *   PATCH PATH/ID            422: trickle ICE and ICE restarts are not
 *                            supported (the offer carries every candidate
 *                            it has, the answer every one of ours); 404
 *                            for no such session
 *   HEAD PATH                sink->probe's status (200 when NULL)
 * Anything else: 404 (other paths), 405 (other methods), 415 (a POST that
 * is not application/sdp), 413 (a body over max_body).
 *
 * Every response carries Access-Control-Allow-Origin: * and exposes
 * Location, ETag, Link, Accept-Post and Retry-After, so a page from another
 * origin can publish or play.
 *
 * Tokens: when a token is set (the URL's token=) or an access file names
 * PATH (without its leading '/') for the mode asked, POST, DELETE, PATCH
 * and HEAD need "Authorization: Bearer TOKEN" with a token that matches;
 * the comparison takes the same time whatever matches, and no token is
 * ever logged or put in a reason. Missing or wrong: 401 with
 * WWW-Authenticate: Bearer. A path that an access file does not list: 403.
 *
 * Bounds: bodies over max_body are refused (413); a connection that does
 * not finish its request within conn_timeout seconds is closed; at most
 * max_conns connections at once. Each request runs on its own thread, so
 * a sink callback may block (it must bound its own wait).
 */
#ifndef CS_NET_WHTTP_H
#define CS_NET_WHTTP_H

#include <stddef.h>

/* The ID of a session: 32 hex digits from getrandom(), opaque. */
#define CS_WHTTP_ID_LEN 32

/* What sink->offer answers. The server zeroes it and sets status 201. */
struct cs_whttp_reply {
    int status;         /* 201 with sdp, or an error status */
    char *sdp;          /* the answer, malloc()ed; freed by the server */
    char reason[200];   /* for an error status: one line, lower case */
    int retry_after;    /* seconds, 0: no Retry-After header */
};

/* Callbacks into the owner; called from the server's threads, possibly
 * several at once. */
struct cs_whttp_sink {
    void *opaque;
    /* A POST with offer SDP (NUL-terminated; LEN bytes) for a new session
     * named ID. Fill R; a status other than 201 means no session exists. */
    void (*offer)(void *opaque, const char *id, const char *sdp, size_t len,
                  struct cs_whttp_reply *r);
    /* DELETE of session ID: 0 (200), or negative for an unknown one (404). */
    int (*remove)(void *opaque, const char *id);
    /* HEAD on PATH: the status to answer; may be NULL (200). */
    int (*probe)(void *opaque);
    /* Told of every POST or DELETE answered with an error (STATUS and
     * the REASON sent; never a token), for a warning; may be NULL. */
    void (*refused)(void *opaque, const char *method, int status,
                    const char *reason);
};

struct cs_whttp_conf {
    const char *host;       /* address to bind; NULL or "": any */
    int port;
    const char *path;       /* "/live"; a trailing '/' is ignored */
    const char *token;      /* NULL: none (unless the access file says) */
    const char *access;     /* access file (net/access.h), or NULL */
    unsigned access_mode;   /* CS_ACCESS_PUBLISH (WHIP) or _PLAY (WHEP) */
    size_t max_body;        /* bytes; 0: 64 KiB */
    unsigned conn_timeout;  /* seconds; 0: 10 */
    unsigned max_conns;     /* 0: 64 */
    const char *cert;       /* PEM certificate file: HTTPS; NULL: HTTP */
    const char *key;        /* PEM private key file (with cert) */
};

struct cs_whttp;

/* Listen as C says (C and its strings need not outlive the call), calling
 * SINK (copied). Returns 0, or a negative code with WHY (WHYLEN bytes) set
 * to the cause: CS_EUSAGE for a bad access file or a certificate or key
 * that cannot be read or used, CS_ENET when the address cannot be bound. */
int cs_whttp_start(struct cs_whttp **out, const struct cs_whttp_conf *c,
                   const struct cs_whttp_sink *sink, char *why,
                   size_t whylen);

/* The port bound (useful with port 0). */
int cs_whttp_port(const struct cs_whttp *w);

/* Stop serving (waits for requests in flight) and free; NULL-safe, clears
 * *W. */
void cs_whttp_stop(struct cs_whttp **w);

/* Compare the NUL-terminated strings A and B in a time that depends only
 * on their lengths; 1 when equal. */
int cs_whttp_token_equal(const char *a, const char *b);

#endif
