/* rtmpproto.c: RTMP chunks and AMF0, parsed and written as pure functions
 * over bytes (see rtmpproto.h). Every length is checked against what is
 * left before it is used. */
#include "net/rtmpproto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rb24(const uint8_t *b)
{
    return (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
}

static uint32_t rb32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | rb24(b + 1);
}

void cs_rtmp_parser_init(struct cs_rtmp_parser *p)
{
    memset(p, 0, sizeof(*p));
    p->chunk_size = 128;
    p->max_msg = CS_RTMP_MAX_MSG;
}

void cs_rtmp_parser_free(struct cs_rtmp_parser *p)
{
    for (int i = 0; i < CS_RTMP_MAX_CSID; i++)
        free(p->cs[i].buf);
    free(p->done);
    cs_rtmp_parser_init(p);
}

static int bad(struct cs_rtmp_parser *p, const char *why)
{
    snprintf(p->why, sizeof(p->why), "%s", why);
    return -1;
}

static int handshake(struct cs_rtmp_parser *p, const uint8_t *buf,
                     size_t n, size_t *used, struct cs_rtmp_msg *msg)
{
    size_t want = p->state == 0 ? 1 + CS_RTMP_HANDSHAKE : CS_RTMP_HANDSHAKE;

    if (p->state == 0 && n >= 1 && buf[0] != 3)
        return bad(p, "not an RTMP handshake");
    if (n < want)
        return CS_RTMP_NEED;
    *used = want;
    if (p->state++ == 1)
        return CS_RTMP_READY;
    msg->data = buf + 1;
    msg->len = CS_RTMP_HANDSHAKE;
    return CS_RTMP_C1;
}

/* The slot of chunk stream ID, taking a free one for a new stream. */
static struct cs_rtmp_cs *find_cs(struct cs_rtmp_parser *p, uint32_t id)
{
    struct cs_rtmp_cs *free_slot = NULL;

    for (int i = 0; i < CS_RTMP_MAX_CSID; i++) {
        if (p->cs[i].id == id)
            return &p->cs[i];
        if (!p->cs[i].id && !free_slot)
            free_slot = &p->cs[i];
    }
    if (free_slot) {
        memset(free_slot, 0, sizeof(*free_slot));
        free_slot->id = id;
    }
    return free_slot;
}

/* The basic header: its size (0: need more) and the chunk stream id. */
static size_t basic_header(const uint8_t *b, size_t n, uint32_t *id)
{
    if (n < 1)
        return 0;
    if ((b[0] & 63) == 0) {
        if (n < 2)
            return 0;
        *id = 64 + (uint32_t)b[1];
        return 2;
    }
    if ((b[0] & 63) == 1) {
        if (n < 3)
            return 0;
        *id = 64 + (uint32_t)b[1] + 256 * (uint32_t)b[2];
        return 3;
    }
    *id = b[0] & 63;
    return 1;
}

/* Apply a message header of format FMT at B (its bytes are there). */
static void apply_header(struct cs_rtmp_cs *cs, int fmt, const uint8_t *b,
                         uint32_t ext)
{
    uint32_t t = fmt < 3 ? rb24(b) : 0;

    if (fmt < 3)
        cs->ext = t == 0xffffff;
    if (cs->ext)
        t = ext;
    if (fmt <= 1) {
        cs->len = rb24(b + 3);
        cs->type = b[6];
    }
    if (fmt == 0) {
        cs->stream = (uint32_t)b[7] | (uint32_t)b[8] << 8 |
                     (uint32_t)b[9] << 16 | (uint32_t)b[10] << 24;
        cs->ts = t;
        cs->delta = 0;
    } else if (fmt < 3) {
        cs->delta = t;
        cs->ts += t;
    } else if (cs->have == 0) {
        cs->ts += cs->ext ? t : cs->delta;
    }
}

static int control(struct cs_rtmp_parser *p, const struct cs_rtmp_msg *m)
{
    uint32_t v;

    if (m->type != CS_RTMP_SET_CHUNK_SIZE && m->type != CS_RTMP_ABORT)
        return 0;
    if (m->len < 4)
        return bad(p, "short control message");
    v = rb32(m->data) & 0x7fffffff;
    if (m->type == CS_RTMP_SET_CHUNK_SIZE) {
        if (v < 1 || v > CS_RTMP_MAX_CHUNK)
            return bad(p, "chunk size out of bounds");
        p->chunk_size = v;
        return 0;
    }
    for (int i = 0; i < CS_RTMP_MAX_CSID; i++) {
        if (p->cs[i].id == v && p->cs[i].have) {
            p->held -= p->cs[i].len;
            free(p->cs[i].buf);
            p->cs[i].buf = NULL;
            p->cs[i].have = p->cs[i].cap = 0;
        }
    }
    return 0;
}

/* Room for TAKE more bytes of CS's message, doubling up to its length. */
static int grow(struct cs_rtmp_parser *p, struct cs_rtmp_cs *cs,
                uint32_t take)
{
    uint32_t cap = cs->cap ? cs->cap : 256;
    uint8_t *b;

    if (cs->have + take <= cs->cap && cs->buf)
        return 0;
    while (cap < cs->have + take)
        cap *= 2;
    if (cap > cs->len)
        cap = cs->len ? cs->len : 1;
    b = realloc(cs->buf, cap);
    if (!b)
        return bad(p, "out of memory");
    cs->buf = b;
    cs->cap = cap;
    return 0;
}

/* The chunk's payload is at B (TAKE bytes, all there). */
static int take_payload(struct cs_rtmp_parser *p, struct cs_rtmp_cs *cs,
                        const uint8_t *b, uint32_t take,
                        struct cs_rtmp_msg *msg)
{
    if (cs->have == 0) {
        if (cs->len > p->max_msg || cs->len > CS_RTMP_MAX_MSG)
            return bad(p, "message longer than the limit");
        if (p->held + cs->len > CS_RTMP_MAX_HELD)
            return bad(p, "too many bytes in partial messages");
        p->held += cs->len;
        cs->cap = 0;
    }
    if (grow(p, cs, take) < 0)
        return -1;
    memcpy(cs->buf + cs->have, b, take);
    cs->have += take;
    if (cs->have < cs->len)
        return CS_RTMP_CHUNK;
    p->held -= cs->len;
    p->done = cs->buf;
    cs->buf = NULL;
    cs->have = cs->cap = 0;
    *msg = (struct cs_rtmp_msg){ cs->type, cs->stream, cs->ts, cs->len,
                                 p->done };
    if (control(p, msg) < 0)
        return -1;
    return CS_RTMP_MSG;
}

static int chunk(struct cs_rtmp_parser *p, const uint8_t *buf, size_t n,
                 size_t *used, struct cs_rtmp_msg *msg)
{
    static const size_t sizes[4] = { 11, 7, 3, 0 };
    struct cs_rtmp_cs *cs;
    uint32_t id = 0, ext = 0, len, take;
    size_t pos = basic_header(buf, n, &id);
    int fmt = buf[0] >> 6, ext_here;

    if (!pos || n < pos + sizes[fmt])
        return CS_RTMP_NEED;
    cs = find_cs(p, id);
    if (!cs)
        return bad(p, "too many chunk streams");
    if (fmt != 0 && !cs->len && !cs->type)
        return bad(p, "chunk continues a stream never started");
    if (fmt != 3 && cs->have)
        return bad(p, "new message header in the middle of a message");
    ext_here = fmt < 3 ? rb24(buf + pos) == 0xffffff : cs->ext;
    if (ext_here) {
        if (n < pos + sizes[fmt] + 4)
            return CS_RTMP_NEED;
        ext = rb32(buf + pos + sizes[fmt]);
    }
    len = fmt <= 1 ? rb24(buf + pos + 3) : cs->len;
    take = len - (cs->have < len ? cs->have : len);
    if (take > p->chunk_size)
        take = p->chunk_size;
    if (n < pos + sizes[fmt] + 4 * ext_here + take)
        return CS_RTMP_NEED;
    apply_header(cs, fmt, buf + pos, ext);
    pos += sizes[fmt] + 4 * ext_here;
    *used = pos + take;
    return take_payload(p, cs, buf + pos, take, msg);
}

int cs_rtmp_parse(struct cs_rtmp_parser *p, const uint8_t *buf, size_t n,
                  size_t *used, struct cs_rtmp_msg *msg)
{
    *used = 0;
    free(p->done);
    p->done = NULL;
    if (p->state < 2)
        return handshake(p, buf, n, used, msg);
    if (n == 0)
        return CS_RTMP_NEED;
    return chunk(p, buf, n, used, msg);
}

/* AMF0 reading: a cursor over the bytes. */
struct rd {
    const uint8_t *d;
    size_t n, pos;
    int bad;
};

static const uint8_t *get(struct rd *r, size_t k)
{
    const uint8_t *b = r->d + r->pos;

    if (r->bad || k > r->n - r->pos) {
        r->bad = 1;
        return NULL;
    }
    r->pos += k;
    return b;
}

static double get_num(struct rd *r)
{
    const uint8_t *b = get(r, 8);
    uint64_t u = 0;
    double v;

    for (int i = 0; b && i < 8; i++)
        u = u << 8 | b[i];
    memcpy(&v, &u, sizeof(v));
    return v;
}

/* A string of LEN bytes into OUT (SIZE), or skipped when OUT is NULL. */
static void get_str(struct rd *r, size_t len, char *out, size_t size)
{
    const uint8_t *b = get(r, len);

    if (!b || !out)
        return;
    if (len >= size || memchr(b, 0, len)) {
        r->bad = 1;
        return;
    }
    memcpy(out, b, len);
    out[len] = 0;
}

static size_t get_u16(struct rd *r)
{
    const uint8_t *b = get(r, 2);

    return b ? (size_t)b[0] << 8 | b[1] : 0;
}

struct props {                  /* what a reader wants of an object */
    char *app;                  /* "app" (CS_AMF_STR), or NULL */
    int has_video, has_audio;
};

static void skip_value(struct rd *r, int depth, struct props *want);

/* Object properties up to the end marker; ECMA arrays look the same. */
static void skip_props(struct rd *r, int depth, struct props *want)
{
    char name[64];

    for (;;) {
        size_t len = get_u16(r);
        const uint8_t *b;

        if (r->bad)
            return;
        if (len == 0) {
            b = get(r, 1);
            if (b && *b != 9)
                r->bad = 1;
            return;
        }
        name[0] = 0;
        if (len < sizeof(name))
            get_str(r, len, name, sizeof(name));
        else
            get(r, len);
        if (want && !strcmp(name, "app") && r->pos < r->n &&
            r->d[r->pos] == 2 && want->app) {
            get(r, 1);
            get_str(r, get_u16(r), want->app, CS_AMF_STR);
            continue;
        }
        if (want && !strcmp(name, "videocodecid"))
            want->has_video = 1;
        if (want && !strcmp(name, "audiocodecid"))
            want->has_audio = 1;
        skip_value(r, depth + 1, NULL);
    }
}

static void skip_value(struct rd *r, int depth, struct props *want)
{
    const uint8_t *t = get(r, 1);
    const uint8_t *b;

    if (!t || depth > 16) {
        r->bad = 1;
        return;
    }
    switch (*t) {
    case 0: get(r, 8); break;                   /* number */
    case 1: get(r, 1); break;                   /* boolean */
    case 2: get(r, get_u16(r)); break;          /* string */
    case 3: skip_props(r, depth, want); break;  /* object */
    case 5: case 6: break;                      /* null, undefined */
    case 8:                                     /* ECMA array */
        get(r, 4);
        skip_props(r, depth, want);
        break;
    case 10:                                    /* strict array */
        b = get(r, 4);
        for (uint32_t i = 0, k = b ? rb32(b) : 0; !r->bad && i < k; i++)
            skip_value(r, depth + 1, NULL);
        break;
    case 11: get(r, 10); break;                 /* date */
    case 12:                                    /* long string */
        b = get(r, 4);
        get(r, b ? rb32(b) : 0);
        break;
    default: r->bad = 1;
    }
}

/* A string value into OUT (SIZE); -1 when the value is not a string. */
static int read_str(struct rd *r, char *out, size_t size)
{
    const uint8_t *t = get(r, 1);

    if (!t || *t != 2)
        return -1;
    get_str(r, get_u16(r), out, size);
    return r->bad ? -1 : 0;
}

static void read_arg(struct rd *r, struct cs_amf_cmd *c)
{
    int i = c->nargs;

    c->kind[i] = CS_AMF_OTHER;
    if (r->d[r->pos] == 2) {
        c->kind[i] = CS_AMF_TEXT;
        read_str(r, c->str[i], CS_AMF_STR);
    } else if (r->d[r->pos] == 0) {
        c->kind[i] = CS_AMF_NUM;
        get(r, 1);
        c->num[i] = get_num(r);
    } else {
        skip_value(r, 1, NULL);
    }
    c->nargs++;
}

int cs_amf_command(const uint8_t *d, size_t n, struct cs_amf_cmd *c)
{
    struct rd r = { d, n, 0, 0 };
    struct props want = { c->app, 0, 0 };
    const uint8_t *t;

    memset(c, 0, sizeof(*c));
    if (read_str(&r, c->name, sizeof(c->name)) < 0)
        return -1;
    t = get(&r, 1);
    if (!t || *t != 0)
        return -1;
    c->txn = get_num(&r);
    if (r.pos < r.n)
        skip_value(&r, 0, &want);       /* the command object */
    while (!r.bad && r.pos < r.n && c->nargs < CS_AMF_ARGS)
        read_arg(&r, c);
    return r.bad ? -1 : 0;
}

int cs_amf_metadata(const uint8_t *d, size_t n, int *has_video,
                    int *has_audio)
{
    struct rd r = { d, n, 0, 0 };
    struct props want = { NULL, 0, 0 };
    char name[32];

    if (read_str(&r, name, sizeof(name)) < 0)
        return r.bad ? -1 : 0;
    if (!strcmp(name, "@setDataFrame") &&
        read_str(&r, name, sizeof(name)) < 0)
        return -1;
    if (strcmp(name, "onMetaData"))
        return 0;
    skip_value(&r, 0, &want);
    if (r.bad)
        return -1;
    *has_video = want.has_video;
    *has_audio = want.has_audio;
    return 1;
}

/* AMF0 and chunk writing. */
static void put(struct cs_amf_out *o, const void *b, size_t k)
{
    if (o->full || k > o->size - o->len) {
        o->full = 1;
        return;
    }
    memcpy(o->buf + o->len, b, k);
    o->len += k;
}

static void put_be(struct cs_amf_out *o, uint64_t v, int bytes)
{
    uint8_t b[8];

    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    put(o, b, (size_t)bytes);
}

void cs_amf_put_num(struct cs_amf_out *o, double v)
{
    uint64_t u;

    memcpy(&u, &v, sizeof(u));
    put_be(o, 0, 1);
    put_be(o, u, 8);
}

void cs_amf_put_prop(struct cs_amf_out *o, const char *name)
{
    size_t len = strlen(name);

    put_be(o, len, 2);
    put(o, name, len);
}

void cs_amf_put_str(struct cs_amf_out *o, const char *s)
{
    put_be(o, 2, 1);
    cs_amf_put_prop(o, s);
}

void cs_amf_put_null(struct cs_amf_out *o)
{
    put_be(o, 5, 1);
}

void cs_amf_put_obj_start(struct cs_amf_out *o)
{
    put_be(o, 3, 1);
}

void cs_amf_put_obj_end(struct cs_amf_out *o)
{
    put_be(o, 9, 3);
}

void cs_rtmp_put_msg(struct cs_amf_out *o, int csid, uint8_t type,
                     uint32_t stream, uint32_t ts, const uint8_t *data,
                     size_t len, uint32_t chunk)
{
    size_t done = 0;

    put_be(o, (uint64_t)csid & 63, 1);
    put_be(o, ts >= 0xffffff ? 0xffffff : ts, 3);
    put_be(o, len, 3);
    put_be(o, type, 1);
    for (int i = 0; i < 4; i++)
        put_be(o, stream >> (8 * i) & 0xff, 1);
    if (ts >= 0xffffff)
        put_be(o, ts, 4);
    do {
        size_t k = len - done < chunk ? len - done : chunk;

        if (done) {
            put_be(o, 0xc0 | ((uint64_t)csid & 63), 1);
            if (ts >= 0xffffff)
                put_be(o, ts, 4);
        }
        put(o, data + done, k);
        done += k;
    } while (done < len);
}
