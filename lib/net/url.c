/* url.c: endpoint URLs and their query parameters, mapped onto struct
 * cs_net_conf through one table (the srt-live-transmit way). */
#include "net/endpoint.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/avstring.h>
#include <libavutil/mem.h>

#include "err.h"
#include "opt.h"

enum ptype { P_MODE, P_INT, P_I64, P_STR, P_BUF, P_PROFILE, P_LISTEN };

struct param {
    const char *name;
    enum ptype type;
    size_t off;
    long min, max;
};

#define F(x) offsetof(struct cs_net_conf, x)
static const struct param params[] = {
    { "mode", P_MODE, F(mode), 0, 0 },
    { "listen", P_LISTEN, F(mode), 0, 1 },
    { "latency", P_INT, F(latency_ms), 0, 60000 },
    { "passphrase", P_STR, F(passphrase), 10, 79 },
    { "pbkeylen", P_INT, F(pbkeylen), 0, 32 },
    { "streamid", P_STR, F(streamid), 0, 512 },
    { "maxbw", P_I64, F(maxbw), -1, INT64_MAX / 2 },
    { "payloadsize", P_INT, F(payload), CS_TS_PACKET, 1456 },
    { "pkt_size", P_INT, F(payload), CS_TS_PACKET, 1456 },
    { "ttl", P_INT, F(ttl), 0, 255 },
    { "localaddr", P_BUF, F(localaddr), 0, 0 },
    { "profile", P_PROFILE, F(rist_profile), 0, 1 },
    { "buffer", P_INT, F(buffer_ms), 0, 30000 },
    { "port", P_INT, F(localport), 1, 65535 },
    { "token", P_STR, F(token), 1, 512 },
    { "ice_port", P_INT, F(ice_port), 1, 65535 },
    { NULL, 0, 0, 0, 0 },
};
#undef F

static const struct cs_endpoint_ops *const all_ops[] = {
    &cs_net_srt, &cs_net_udp, &cs_net_tcp, &cs_net_rtmp, &cs_net_rtmps,
    &cs_net_rtsp, &cs_net_rist, &cs_net_whip, &cs_net_whip_send,
    &cs_net_whep,
    NULL,
};

/* The ops for SCHEME that go in direction DIR; failing that, the first
 * for SCHEME (defaults() then says which direction it lacks). */
static const struct cs_endpoint_ops *find_ops(const char *scheme,
                                              enum cs_net_dir dir)
{
    const struct cs_endpoint_ops *any = NULL;

    for (int i = 0; all_ops[i]; i++) {
        if (strcmp(all_ops[i]->scheme, scheme))
            continue;
        if (all_ops[i]->dirs & (1u << dir))
            return all_ops[i];
        if (!any)
            any = all_ops[i];
    }
    return any;
}

const char *cs_net_mode_name(enum cs_net_mode m)
{
    static const char *const names[] = { "caller", "listener", "rendezvous" };

    return m <= CS_NET_RENDEZVOUS ? names[m] : "?";
}

/* Percent-decode S in place; returns -1 on a bad escape. */
static int unescape(char *s)
{
    char *w = s;

    for (; *s; s++) {
        if (*s == '%') {
            unsigned v;

            if (!isxdigit((unsigned char)s[1]) ||
                !isxdigit((unsigned char)s[2]) ||
                sscanf(s + 1, "%2x", &v) != 1 || v == 0)
                return -1;
            *w++ = (char)v;
            s += 2;
        } else {
            *w++ = *s;
        }
    }
    *w = 0;
    return 0;
}

/* Record "invalid URL 'SHOWN': WHAT" in ERR; returns CS_EUSAGE. */
static int bad(const struct cs_net_conf *c, struct cs_err *err,
               const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(const struct cs_net_conf *c, struct cs_err *err,
               const char *fmt, ...)
{
    char what[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return cs_err_set(err, CS_EUSAGE, "invalid URL '%s': %s",
                      c->shown ? c->shown : "", what);
}

/* Set one parameter: 0, CS_EUSAGE for a value it does not take, or
 * AVERROR(ENOMEM). */
static int set_param(struct cs_net_conf *c, const struct param *p,
                     const char *v)
{
    char *field = (char *)c + p->off;
    long n;

    switch (p->type) {
    case P_MODE:
        if (!strcmp(v, "caller") || !strcmp(v, "client"))
            c->mode = CS_NET_CALLER;
        else if (!strcmp(v, "listener") || !strcmp(v, "server"))
            c->mode = CS_NET_LISTENER;
        else if (!strcmp(v, "rendezvous"))
            c->mode = CS_NET_RENDEZVOUS;
        else
            return CS_EUSAGE;
        return 0;
    case P_LISTEN:
        if (cs_parse_int(v, 0, 2, &n) < 0)
            return CS_EUSAGE;
        c->mode = n ? CS_NET_LISTENER : CS_NET_CALLER;
        return 0;
    case P_PROFILE:
        if (!strcmp(v, "simple") || !strcmp(v, "0"))
            c->rist_profile = 0;
        else if (!strcmp(v, "main") || !strcmp(v, "1"))
            c->rist_profile = 1;
        else
            return CS_EUSAGE;
        return 0;
    case P_INT:
    case P_I64:
        if (cs_parse_int(v, p->min, p->max, &n) < 0)
            return CS_EUSAGE;
        if (p->type == P_INT)
            *(int *)field = (int)n;
        else
            *(int64_t *)field = n;
        return 0;
    case P_STR:
        if (strlen(v) < (size_t)p->min || strlen(v) > (size_t)p->max)
            return CS_EUSAGE;
        av_free(*(char **)field);
        *(char **)field = av_strdup(v);
        return *(char **)field ? 0 : AVERROR(ENOMEM);
    case P_BUF:
        if (strlen(v) >= sizeof(c->localaddr))
            return CS_EUSAGE;
        snprintf(field, sizeof(c->localaddr), "%s", v);
        return 0;
    }
    return CS_EUSAGE;
}

static int parse_query(struct cs_net_conf *c, char *q, struct cs_err *err)
{
    char *save = NULL;

    for (char *kv = strtok_r(q, "&", &save); kv;
         kv = strtok_r(NULL, "&", &save)) {
        char *v = strchr(kv, '=');
        const struct param *p = params;
        int ret;

        if (!v)
            v = kv + strlen(kv);
        else
            *v++ = 0;
        while (p->name && strcmp(p->name, kv))
            p++;
        if (!p->name)
            return bad(c, err, "unknown parameter '%.64s'", kv);
        if (unescape(v) < 0)
            return bad(c, err, "bad escape in '%s'", p->name);
        ret = set_param(c, p, v);
        if (ret == CS_EUSAGE)
            return bad(c, err, "bad value for '%s'", p->name);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* "[host]:port", "host:port", ":port", "@:port", "host". */
static int parse_authority(struct cs_net_conf *c, const char *a, size_t n,
                           struct cs_err *err)
{
    char buf[256];
    char *host = buf, *port = NULL;

    if (n >= sizeof(buf))
        return bad(c, err, "host name too long");
    memcpy(buf, a, n);
    buf[n] = 0;
    if (strchr(buf, '@'))
        host = strrchr(buf, '@') + 1;   /* udp://@:port, user@host */
    if (*host == '[') {
        char *end = strchr(host, ']');

        if (!end)
            return bad(c, err, "unterminated '[' in the host");
        *end = 0;
        host++;
        if (end[1] == ':')
            port = end + 2;
        else if (end[1])
            return bad(c, err, "junk after the host");
    } else if (strchr(host, ':')) {
        port = strchr(host, ':');
        *port++ = 0;
    }
    snprintf(c->host, sizeof(c->host), "%s", host);
    if (port) {
        long p;

        if (cs_parse_int(port, 1, 65535, &p) < 0)
            return bad(c, err, "bad port");
        c->port = (int)p;
    }
    return 0;
}

/* The URL without its query, with the RTMP stream key masked. */
static int make_shown(struct cs_net_conf *c)
{
    size_t n = strcspn(c->url, "?");
    char *s = av_strndup(c->url, n);

    if (!s)
        return AVERROR(ENOMEM);
    if (!strncmp(c->scheme, "rtmp", 4)) {
        char *key = strrchr(s, '/'), *sep = strstr(s, "://");

        if (key && sep && key > sep + 2 && key[1]) {
            /* A new string: the mask can be longer than the key. */
            char *masked = av_asprintf("%.*s/***", (int)(key - s), s);

            av_free(s);
            if (!masked)
                return AVERROR(ENOMEM);
            s = masked;
        }
    }
    c->shown = s;
    return 0;
}

static int defaults(struct cs_net_conf *c, struct cs_err *err)
{
    static const struct { const char *scheme; int port; } ports[] = {
        { "rtmp", 1935 }, { "rtmps", 443 }, { "rtsp", 554 },
    };

    for (size_t i = 0; c->port < 0 && i < 3; i++)
        if (!strcmp(c->scheme, ports[i].scheme))
            c->port = ports[i].port;
    if (c->port < 0)
        return bad(c, err, "no port");
    if (!(c->ops->dirs & (1u << c->dir)))
        return bad(c, err, "this protocol only %s",
                   c->dir == CS_NET_SEND ? "receives" : "sends");
    if (!(c->ops->modes & (1u << c->mode)))
        return bad(c, err, "mode '%s' is not supported here",
                   cs_net_mode_name(c->mode));
    if (c->mode != CS_NET_LISTENER && !c->host[0] &&
        strcmp(c->scheme, "udp"))
        return bad(c, err, "no host");
    if (c->pbkeylen && c->pbkeylen != 16 && c->pbkeylen != 24 &&
        c->pbkeylen != 32)
        return bad(c, err, "pbkeylen must be 16, 24 or 32");
    return 0;
}

int cs_net_conf_parse(struct cs_net_conf *c, const char *url,
                      enum cs_net_dir dir, struct cs_err *err)
{
    const char *sep = strstr(url, "://");
    char *rest = NULL, *q;
    size_t slen, alen;
    int ret;

    memset(c, 0, sizeof(*c));
    c->dir = dir;
    c->port = -1;
    c->latency_ms = -1;
    c->payload = CS_NET_CHUNK;
    c->ttl = -1;
    c->buffer_ms = -1;
    c->rist_profile = 1;        /* main, as librist's tools and ffmpeg */
    c->timeout = 5;
    c->url = av_strdup(url);
    if (!c->url)
        return AVERROR(ENOMEM);
    slen = sep ? (size_t)(sep - url) : 0;
    if (slen < sizeof(c->scheme))
        memcpy(c->scheme, url, slen);
    for (size_t i = 0; i < slen && i < sizeof(c->scheme); i++)
        c->scheme[i] = (char)tolower((unsigned char)c->scheme[i]);
    ret = make_shown(c);
    if (ret < 0)
        return ret;
    if (!sep || slen == 0 || slen >= sizeof(c->scheme))
        return bad(c, err, "expected PROTOCOL://HOST:PORT");
    c->ops = find_ops(c->scheme, dir);
    if (!c->ops)
        return bad(c, err, "unknown protocol (srt, rtmp, rtmps, rtsp, rist, "
                      "udp, tcp, whip, whep)");
    rest = av_strdup(sep + 3);
    if (!rest)
        return AVERROR(ENOMEM);
    q = strchr(rest, '?');
    if (q)
        *q++ = 0;
    alen = strcspn(rest, "/");
    snprintf(c->path, sizeof(c->path), "%s", rest + alen);
    c->mode = CS_NET_CALLER;
    ret = parse_authority(c, rest, alen, err);
    if (ret >= 0 && !c->host[0] && !strcmp(c->scheme, "srt"))
        c->mode = CS_NET_LISTENER;     /* srt://:port, as srt-live-transmit */
    if ((!strcmp(c->scheme, "rist") || !strcmp(c->scheme, "udp")) &&
        dir == CS_NET_RECV)
        c->mode = CS_NET_LISTENER;     /* as ristreceiver; UDP binds */
    if ((!strcmp(c->scheme, "whip") && dir == CS_NET_RECV) ||
        (!strcmp(c->scheme, "whep") && dir == CS_NET_SEND))
        c->mode = CS_NET_LISTENER;     /* an HTTP endpoint peers POST to */
    if (ret >= 0 && q)
        ret = parse_query(c, q, err);
    if (ret >= 0)
        ret = defaults(c, err);
    av_free(rest);
    return ret;
}

void cs_net_conf_free(struct cs_net_conf *c)
{
    av_freep(&c->url);
    av_freep(&c->shown);
    av_freep(&c->passphrase);
    av_freep(&c->streamid);
    av_freep(&c->token);
}
