/* net/tlsconn.h: TLS on a non-blocking TCP socket, server side (GnuTLS),
 * for the RTMPS listener: a certificate and key once, a session for each
 * client, read and written as plain recv/send are.
 */
#ifndef CS_NET_TLSCONN_H
#define CS_NET_TLSCONN_H

#include <stddef.h>
#include <sys/types.h>

struct cs_tls;
struct cs_tls_conn;

/* Load the PEM certificate CERT and its private key KEY. Returns 0, or
 * CS_EUSAGE with WHY (SIZE bytes) saying what is wrong. Free with
 * cs_tls_free(). */
int cs_tls_open(struct cs_tls **out, const char *cert, const char *key,
                char *why, size_t size);
void cs_tls_free(struct cs_tls **t);

/* A server session on the connected socket FD (which the caller keeps
 * and closes). Returns 0 or AVERROR(ENOMEM). */
int cs_tls_accept(struct cs_tls *t, int fd, struct cs_tls_conn **out);
void cs_tls_conn_free(struct cs_tls_conn **c);

/* As recv(2): the count, 0 when the peer closed, AVERROR(EAGAIN) when
 * nothing can be read yet (the handshake goes on first), or CS_ENET with
 * WHY set (a failed handshake, a broken record). */
ssize_t cs_tls_recv(struct cs_tls_conn *c, void *buf, size_t n,
                    char *why, size_t size);

/* As send(2): the count taken, AVERROR(EAGAIN), or CS_ENET. After
 * AVERROR(EAGAIN) the caller offers the same bytes again (more may follow
 * them). */
ssize_t cs_tls_send(struct cs_tls_conn *c, const void *buf, size_t n);

/* Decrypted bytes waiting (poll() does not see them). */
size_t cs_tls_pending(struct cs_tls_conn *c);

#endif
