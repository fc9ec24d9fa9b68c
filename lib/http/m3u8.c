#include "http/m3u8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

/* Tags that describe the whole playlist rather than the segment after
 * them: they stay in a delta update. */
static const char *const playlist_tags[] = {
    "#EXTM3U", "#EXT-X-VERSION", "#EXT-X-TARGETDURATION",
    "#EXT-X-MEDIA-SEQUENCE", "#EXT-X-DISCONTINUITY-SEQUENCE",
    "#EXT-X-PLAYLIST-TYPE", "#EXT-X-SERVER-CONTROL", "#EXT-X-PART-INF",
    "#EXT-X-INDEPENDENT-SEGMENTS", "#EXT-X-START", "#EXT-X-DEFINE",
    "#EXT-X-I-FRAMES-ONLY", "#EXT-X-ALLOW-CACHE", NULL,
};

static int tag_is(const char *line, size_t n, const char *tag)
{
    size_t t = strlen(tag);

    return n >= t && !memcmp(line, tag, t) &&
           (n == t || line[t] == ':' || line[t] == '\r');
}

static int is_playlist_tag(const char *line, size_t n)
{
    for (int i = 0; playlist_tags[i]; i++)
        if (tag_is(line, n, playlist_tags[i]))
            return 1;
    return 0;
}

/* Value of attribute NAME in an attribute list, copied into BUF without
 * quotes; NULL when absent. */
static const char *attr(const char *line, size_t n, const char *name,
                        char *buf, size_t size)
{
    size_t k = strlen(name);
    const char *p = memchr(line, ':', n), *end = line + n;

    if (!p)
        return NULL;
    for (p++; p + k < end; p++) {
        if ((p[-1] == ':' || p[-1] == ',') && !memcmp(p, name, k) &&
            p[k] == '=') {
            const char *v = p + k + 1, *e;
            size_t len;

            if (v < end && *v == '"') {
                v++;
                e = memchr(v, '"', (size_t)(end - v));
            } else {
                e = v;
                while (e < end && *e != ',' && *e != '\r')
                    e++;
            }
            if (!e)
                e = end;
            len = (size_t)(e - v);
            if (len >= size)
                len = size - 1;
            memcpy(buf, v, len);
            buf[len] = 0;
            return buf;
        }
        if (*p == '"') {  /* skip quoted values: they may hold commas */
            const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
            if (!q)
                break;
            p = q;
        }
    }
    return NULL;
}

/* The longest duration a playlist may state, in seconds (a day): beyond,
 * or not a number, it is taken as absent (0). A blocked request waits
 * three target durations, and durations become integer seconds and
 * counts: a value of 1e9 or NaN must not reach them. */
#define DUR_MAX 86400.0

static double duration(const char *s)
{
    double v = strtod(s, NULL);

    return v > 0 && v <= DUR_MAX ? v : 0;
}

/* A media sequence number: decimal-integer of RFC 8216, within 2^53. */
static int64_t seqnum(const char *s)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0 || v > (INT64_C(1) << 53))
        return 0;
    return v;
}

static const char *after_colon(const char *line, size_t n, char *buf,
                               size_t size)
{
    const char *p = memchr(line, ':', n);
    size_t len;

    if (!p)
        return "";
    len = (size_t)(line + n - p - 1);
    if (len >= size)
        len = size - 1;
    memcpy(buf, p + 1, len);
    buf[len] = 0;
    return buf;
}

static double num_after_colon(const char *line, size_t n)
{
    char buf[64];

    return duration(after_colon(line, n, buf, sizeof(buf)));
}

static void server_control(struct cs_m3u8 *m, const char *l, size_t n)
{
    char v[64];

    if (attr(l, n, "CAN-BLOCK-RELOAD", v, sizeof(v)))
        m->can_block = !strcmp(v, "YES");
    if (attr(l, n, "CAN-SKIP-DATERANGES", v, sizeof(v)))
        m->can_skip_dr = !strcmp(v, "YES");
    if (attr(l, n, "CAN-SKIP-UNTIL", v, sizeof(v)))
        m->skip_until = duration(v);
}

static void header_tag(struct cs_m3u8 *m, const char *l, size_t n)
{
    char v[64];

    if (tag_is(l, n, "#EXT-X-TARGETDURATION")) {
        m->is_media = 1;
        m->target = num_after_colon(l, n);
    } else if (tag_is(l, n, "#EXT-X-MEDIA-SEQUENCE")) {
        m->first_msn = seqnum(after_colon(l, n, v, sizeof(v)));
    } else if (tag_is(l, n, "#EXT-X-SERVER-CONTROL")) {
        server_control(m, l, n);
    } else if (tag_is(l, n, "#EXT-X-PART-INF")) {
        if (attr(l, n, "PART-TARGET", v, sizeof(v)))
            m->part_target = duration(v) >= 0.001 ? duration(v) : 0;
    }
}

static int add_seg(struct cs_m3u8 *m, int *cap, size_t off, size_t end,
                   double dur, int nparts)
{
    struct cs_m3u8_seg *s;

    if (m->nsegs == *cap) {
        int ncap = *cap ? *cap * 2 : 16;
        s = realloc(m->segs, sizeof(*s) * (size_t)ncap);
        if (!s)
            return AVERROR(ENOMEM);
        m->segs = s;
        *cap = ncap;
    }
    s = &m->segs[m->nsegs];
    s->off = off;
    s->end = end;
    s->dur = dur;
    s->nparts = nparts;
    s->msn = m->first_msn + m->nsegs;
    m->nsegs++;
    return 0;
}

static void finish(struct cs_m3u8 *m, int tail_parts, size_t len)
{
    if (!m->header_end)
        m->header_end = len;
    m->last_msn = m->first_msn + m->nsegs - 1;
    for (int i = 0; i < m->nsegs; i++)
        m->segs[i].msn = m->first_msn + i;
    m->tail_parts = tail_parts;
    m->last_part_msn = -1;
    if (tail_parts > 0) {
        m->last_part_msn = m->last_msn + 1;
        m->last_part = tail_parts - 1;
    } else if (m->nsegs && m->segs[m->nsegs - 1].nparts > 0) {
        m->last_part_msn = m->last_msn;
        m->last_part = m->segs[m->nsegs - 1].nparts - 1;
    }
}

/* One line of the segment list. */
static int seg_line(struct cs_m3u8 *m, const char *l, size_t n, size_t next,
                    size_t *seg_off, double *dur, int *parts, int *cap)
{
    char v[256];
    int ret = 0;

    if (l[0] != '#') {
        ret = add_seg(m, cap, *seg_off, next, *dur, *parts);
        *seg_off = next;
        *dur = 0;
        *parts = 0;
    } else if (tag_is(l, n, "#EXTINF")) {
        *dur = num_after_colon(l, n);
    } else if (tag_is(l, n, "#EXT-X-PART")) {
        (*parts)++;
    } else if (tag_is(l, n, "#EXT-X-ENDLIST")) {
        m->endlist = 1;
    } else if (tag_is(l, n, "#EXT-X-PRELOAD-HINT")) {
        if (attr(l, n, "TYPE", v, sizeof(v)) && !strcmp(v, "PART") &&
            attr(l, n, "URI", v, sizeof(v)))
            snprintf(m->hint, sizeof(m->hint), "%s", v);
    }
    return ret;
}

int cs_m3u8_parse(struct cs_m3u8 *m, const char *text, size_t len)
{
    size_t off = 0, seg_off = 0;
    double dur = 0;
    int parts = 0, cap = 0, ret = 0;

    memset(m, 0, sizeof(*m));
    if (len < 7 || memcmp(text, "#EXTM3U", 7))
        return CS_EDATA;
    while (off < len && !ret) {
        const char *l = text + off, *nl = memchr(l, '\n', len - off);
        size_t n = nl ? (size_t)(nl - l) : len - off;
        size_t sz = n;

        while (sz && (l[sz - 1] == '\r' || l[sz - 1] == ' '))
            sz--;
        if (sz && !m->header_end && !is_playlist_tag(l, sz) &&
            !(l[0] == '#' && (sz < 4 || memcmp(l, "#EXT", 4)))) {
            m->header_end = off;
            seg_off = off;
        }
        if (!sz) {
            /* blank line */
        } else if (!m->header_end) {
            header_tag(m, l, sz);
        } else if (is_playlist_tag(l, sz)) {
            header_tag(m, l, sz);
        } else {
            ret = seg_line(m, l, sz, off + n + (nl ? 1 : 0), &seg_off, &dur,
                           &parts, &cap);
        }
        off += n + (nl ? 1 : 0);
    }
    if (ret < 0) {
        cs_m3u8_free(m);
        return ret;
    }
    finish(m, parts, len);
    return 0;
}

void cs_m3u8_free(struct cs_m3u8 *m)
{
    free(m->segs);
    m->segs = NULL;
    m->nsegs = 0;
}

int cs_m3u8_nparts(const struct cs_m3u8 *m, int64_t msn)
{
    if (msn == m->last_msn + 1)
        return m->tail_parts > 0 ? m->tail_parts : -1;
    if (msn < m->first_msn || msn > m->last_msn)
        return -1;
    return m->segs[msn - m->first_msn].nparts > 0 ?
           m->segs[msn - m->first_msn].nparts : -1;
}

/* The lines of the skipped segments that must outlive them: playlist
 * tags into HEAD, and the last EXT-X-MAP and EXT-X-KEY (and, unless date
 * ranges are skipped too, every EXT-X-DATERANGE) into CARRY. */
static void carry_lines(const char *t, size_t from, size_t to, int keep_dr,
                        char *head, size_t *hn, char *carry, size_t *cn)
{
    const char *map = NULL, *key = NULL;
    size_t map_n = 0, key_n = 0;

    for (size_t off = from; off < to;) {
        const char *l = t + off, *nl = memchr(l, '\n', to - off);
        size_t n = nl ? (size_t)(nl - l) + 1 : to - off;
        size_t ln = n - (nl ? 1 : 0);

        if (is_playlist_tag(l, ln)) {
            memcpy(head + *hn, l, n);
            *hn += n;
        } else if (tag_is(l, ln, "#EXT-X-MAP")) {
            map = l;
            map_n = n;
        } else if (tag_is(l, ln, "#EXT-X-KEY")) {
            key = l;
            key_n = n;
        } else if (keep_dr && tag_is(l, ln, "#EXT-X-DATERANGE")) {
            memcpy(carry + *cn, l, n);
            *cn += n;
        }
        off += n;
    }
    if (key) {
        memcpy(carry + *cn, key, key_n);
        *cn += key_n;
    }
    if (map) {
        memcpy(carry + *cn, map, map_n);
        *cn += map_n;
    }
}

static int skipped_count(const struct cs_m3u8 *m)
{
    double total = 0, end = 0;
    int k = 0;

    for (int i = 0; i < m->nsegs; i++)
        total += m->segs[i].dur;
    for (int i = 0; i < m->nsegs; i++) {
        end += m->segs[i].dur;
        if (total - end + 1e-6 < m->skip_until)
            break;
        k = i + 1;
    }
    return k;
}

void cs_m3u8_daterange_ids(const char *text, size_t len,
                           void (*fn)(void *ctx, const char *id), void *ctx)
{
    char id[256];

    for (size_t off = 0; off < len;) {
        const char *l = text + off, *nl = memchr(l, '\n', len - off);
        size_t n = nl ? (size_t)(nl - l) : len - off;

        if (tag_is(l, n, "#EXT-X-DATERANGE") &&
            attr(l, n, "ID", id, sizeof(id)) && !strchr(id, '\t'))
            fn(ctx, id);
        off += n + (nl ? 1 : 0);
    }
}

int cs_m3u8_delta(const struct cs_m3u8 *m, const char *text, size_t len,
                  enum cs_skip mode, const char *removed_dr, char **out,
                  size_t *out_len)
{
    size_t from, to, hn = 0, cn = 0, n, rn;
    char *buf = NULL, *carry = NULL, *skip = NULL;
    int k, ret = AVERROR(ENOMEM);

    *out = NULL;
    *out_len = 0;
    if (mode == CS_SKIP_NO || m->skip_until <= 0 || m->endlist ||
        !m->is_media)
        return 0;
    if (mode == CS_SKIP_V2 && !m->can_skip_dr)
        mode = CS_SKIP_YES;
    k = skipped_count(m);
    if (k <= 0)
        return 0;
    from = m->segs[0].off;
    to = m->segs[k - 1].end;
    rn = removed_dr ? strlen(removed_dr) : 0;
    skip = malloc(rn + 128);
    if (!skip)
        goto out;
    n = (size_t)sprintf(skip, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%d", k);
    if (mode == CS_SKIP_V2)
        n += (size_t)sprintf(skip + n, ",RECENTLY-REMOVED-DATERANGES=\"%s\"",
                             removed_dr ? removed_dr : "");
    skip[n++] = '\n';
    buf = malloc(len + n + 1);
    carry = malloc(to - from + 1);
    if (!buf || !carry)
        goto out;
    memcpy(buf, text, m->header_end);
    hn = m->header_end;
    carry_lines(text, from, to, mode == CS_SKIP_YES, buf, &hn, carry, &cn);
    memcpy(buf + hn, skip, n);
    hn += n;
    memcpy(buf + hn, carry, cn);
    hn += cn;
    memcpy(buf + hn, text + to, len - to);
    hn += len - to;
    buf[hn] = 0;
    *out = buf;
    *out_len = hn;
    buf = NULL;
    ret = 0;
out:
    free(buf);
    free(carry);
    free(skip);
    return ret;
}
