/* http/gate.h: cs-serve's pre-accept gate. It owns the listening socket:
 * each accepted connection waits in the gate (one epoll set, one thread)
 * until its first request head has arrived whole, without reading it
 * (MSG_PEEK). A head whose request line is not `METHOD SP target SP
 * HTTP/1.x`, with a header line that is not `name: value`, or whose
 * Content-Length is not one plain decimal gets one 400 (Content-Length
 * above the upload limit: one 413; no head end within the header size:
 * one 431), Connection: close, and is closed; a head that does not come
 * within the header timeout is closed. A good one is handed over, still
 * unread, to the PASS callback (cs-serve: MHD_add_connection).
 *
 * Why: libmicrohttpd 0.9.75 answers the errors it finds in a request head
 * itself, with two header blocks (the first announcing a body it never
 * sends), and never calls the request handler for them.
 *
 * Only the first request of a connection passes the gate; later ones on a
 * kept-alive connection meet the HTTP server's own checks.
 *
 * The gate also holds the connection limits: at most MAX_CONNS sockets,
 * waiting or handed over, and MAX_PER_ADDR for one client address (the
 * next one from that address is closed at once). A socket handed over
 * stays counted until cs_gate_release(). */
#ifndef CS_HTTP_GATE_H
#define CS_HTTP_GATE_H

#include <stdint.h>
#include <sys/socket.h>

struct cs_gate;

struct cs_gate_cfg {
    const struct sockaddr *addr;  /* where to listen */
    socklen_t addr_len;
    int stop_fd;              /* readable once the gate must stop, or -1 */
    int max_conns;            /* sockets held, waiting or handed over */
    int max_per_addr;         /* ... for one client address */
    double header_timeout;    /* seconds for the first request head */
    int64_t max_header;       /* bytes of request line and headers */
    int64_t max_upload;       /* largest Content-Length */
    /* Takes FD (non-blocking, its head unread); returns 0, or a negative
     * code after closing FD. Called on the gate's thread. */
    int (*pass)(void *arg, int fd, const struct sockaddr *sa,
                socklen_t len);
    void *arg;
};

/* Listen on CFG->addr and start the gate's thread. Returns 0, or
 * AVERROR(errno) (EADDRINUSE: the address is taken) with *G NULL. */
int cs_gate_start(struct cs_gate **g, const struct cs_gate_cfg *cfg);

/* A socket handed over for SA has been closed: count it out. Any thread. */
void cs_gate_release(struct cs_gate *g, const struct sockaddr *sa);

/* Request heads answered 400, 413 or 431 by the gate so far. */
long long cs_gate_refused(const struct cs_gate *g);

/* Stop the thread, close the waiting sockets and the listening one, free
 * *G and set it to NULL. Sockets already handed over are not touched;
 * cs_gate_release() must not be called after this. NULL-safe. */
void cs_gate_stop(struct cs_gate **g);

#endif
