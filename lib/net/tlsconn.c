/* tlsconn.c: server-side TLS sessions with GnuTLS (see tlsconn.h). */
#include "net/tlsconn.h"

#include <errno.h>
#include <stdio.h>

#include <gnutls/gnutls.h>
#include <libavutil/mem.h>

#include "err.h"

struct cs_tls {
    gnutls_certificate_credentials_t cred;
};

struct cs_tls_conn {
    gnutls_session_t s;
    int ready;              /* the handshake is done */
    size_t sending;         /* bytes of a record send that said E_AGAIN */
};

int cs_tls_open(struct cs_tls **out, const char *cert, const char *key,
                char *why, size_t size)
{
    struct cs_tls *t = av_mallocz(sizeof(*t));
    int ret;

    *out = t;
    if (!t)
        return AVERROR(ENOMEM);
    ret = gnutls_certificate_allocate_credentials(&t->cred);
    if (ret >= 0)
        ret = gnutls_certificate_set_x509_key_file(t->cred, cert, key,
                                                   GNUTLS_X509_FMT_PEM);
    if (ret < 0) {
        snprintf(why, size, "cannot use certificate '%s' with key '%s': %s",
                 cert, key, gnutls_strerror(ret));
        return CS_EUSAGE;
    }
    return 0;
}

void cs_tls_free(struct cs_tls **pt)
{
    struct cs_tls *t = *pt;

    if (!t)
        return;
    if (t->cred)
        gnutls_certificate_free_credentials(t->cred);
    av_freep(pt);
}

int cs_tls_accept(struct cs_tls *t, int fd, struct cs_tls_conn **out)
{
    struct cs_tls_conn *c = av_mallocz(sizeof(*c));
    int ret;

    *out = c;
    if (!c)
        return AVERROR(ENOMEM);
    ret = gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NONBLOCK);
    if (ret >= 0)
        ret = gnutls_set_default_priority(c->s);
    if (ret >= 0)
        ret = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, t->cred);
    if (ret < 0) {
        cs_tls_conn_free(out);
        return AVERROR(ENOMEM);
    }
    gnutls_certificate_server_set_request(c->s, GNUTLS_CERT_IGNORE);
    gnutls_handshake_set_timeout(c->s, 0);
    gnutls_transport_set_int(c->s, fd);
    return 0;
}

void cs_tls_conn_free(struct cs_tls_conn **pc)
{
    struct cs_tls_conn *c = *pc;

    if (!c)
        return;
    if (c->s)
        gnutls_deinit(c->s);
    av_freep(pc);
}

static ssize_t fail(int ret, char *why, size_t size)
{
    if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED)
        return AVERROR(EAGAIN);
    snprintf(why, size, "tls: %s", gnutls_strerror(ret));
    return CS_ENET;
}

ssize_t cs_tls_recv(struct cs_tls_conn *c, void *buf, size_t n, char *why,
                    size_t size)
{
    ssize_t ret;

    if (!c->ready) {
        int hs = gnutls_handshake(c->s);

        if (hs < 0)
            return fail(hs, why, size);
        c->ready = 1;
    }
    ret = gnutls_record_recv(c->s, buf, n);
    if (ret == GNUTLS_E_PREMATURE_TERMINATION)
        return 0;
    return ret < 0 ? fail((int)ret, why, size) : ret;
}

ssize_t cs_tls_send(struct cs_tls_conn *c, const void *buf, size_t n)
{
    char why[8];
    ssize_t ret;

    if (!c->ready)
        return AVERROR(EAGAIN);
    /* GnuTLS wants the interrupted record finished first: with no data */
    ret = c->sending ? gnutls_record_send(c->s, NULL, 0)
                     : gnutls_record_send(c->s, buf, n);
    if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED) {
        if (!c->sending)
            c->sending = n;
        return AVERROR(EAGAIN);
    }
    c->sending = 0;
    return ret < 0 ? fail((int)ret, why, sizeof(why)) : ret;
}

size_t cs_tls_pending(struct cs_tls_conn *c)
{
    return c->ready ? gnutls_record_check_pending(c->s) : 0;
}
