/* hls/state.c: the text of OUT/cs-segment.json (names.h), which the
 * packager writes after every segment and reads at start; this file only
 * translates between it and the tracks and does no I/O. A restarted
 * cs-segment goes on with the media sequence numbers (never reusing one
 * that may have been published), a new init segment name, a
 * discontinuity, and DASH's availabilityStartTime unchanged. A state
 * holding anything this file would not have written is refused. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hls/internal.h"
#include "hls/names.h"
#include "log.h"

static cJSON *seg_json(const struct cs_seg *s)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddNumberToObject(o, "seq", (double)s->seq);
    cJSON_AddNumberToObject(o, "dur", s->dur);
    cJSON_AddNumberToObject(o, "pdt_us", (double)s->pdt_us);
    if (s->clock_us)
        cJSON_AddNumberToObject(o, "clock_us", (double)s->clock_us);
    if (s->captured)
        cJSON_AddNumberToObject(o, "captured", 1);
    cJSON_AddNumberToObject(o, "t", (double)s->t);
    cJSON_AddNumberToObject(o, "d", (double)s->d);
    cJSON_AddNumberToObject(o, "dseq", (double)s->dseq);
    cJSON_AddNumberToObject(o, "disc", s->disc);
    cJSON_AddNumberToObject(o, "gap", s->gap);
    cJSON_AddNumberToObject(o, "init", s->init);
    cJSON_AddNumberToObject(o, "pstart_us", (double)s->pstart_us);
    cJSON_AddNumberToObject(o, "pto", (double)s->pto);
    cJSON_AddNumberToObject(o, "bytes", (double)s->bytes);
    return o;
}

static cJSON *track_json(const struct cs_track *t)
{
    cJSON *o = cJSON_CreateObject(), *segs = cJSON_CreateArray();

    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddNumberToObject(o, "next_seq", (double)t->next_seq);
    /* The segment being written, which may have published parts. */
    cJSON_AddNumberToObject(o, "open_seq", t->open ? (double)t->cur.seq : -1);
    cJSON_AddNumberToObject(o, "dseq", (double)t->dseq);
    cJSON_AddNumberToObject(o, "init_gen", t->init_gen);
    cJSON_AddNumberToObject(o, "timescale", t->mtb.den);
    for (int i = 0; i < t->nsegs; i++)
        cJSON_AddItemToArray(segs, seg_json(&t->segs[i]));
    cJSON_AddItemToObject(o, "segments", segs);
    return o;
}

static cJSON *deletes_json(const struct cs_pkg *p)
{
    cJSON *dels = cJSON_CreateArray();

    for (int i = 0; i < p->ndels; i++) {
        cJSON *d = cJSON_CreateObject();

        cJSON_AddStringToObject(d, "name", p->dels[i].name);
        cJSON_AddNumberToObject(d, "due_us", (double)p->dels[i].due_us);
        cJSON_AddItemToArray(dels, d);
    }
    return dels;
}

char *cs_state_text(const struct cs_pkg *p)
{
    cJSON *root = cJSON_CreateObject(), *tracks;
    char *text;

    cJSON_AddNumberToObject(root, "ast_us", (double)p->ast_us);
    tracks = cJSON_AddArrayToObject(root, "tracks");
    for (int i = 0; i < p->ntracks; i++)
        cJSON_AddItemToArray(tracks, track_json(&p->tracks[i]));
    /* Files waiting for their grace time: a later run deletes them. */
    cJSON_AddItemToObject(root, "deletes", deletes_json(p));
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

static int64_t num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    /* within int64_t whatever the file says: checked before use */
    return cJSON_IsNumber(v) && fabs(v->valuedouble) < 9e18 ?
           (int64_t)v->valuedouble : 0;
}

/* A state file is read back only when every field is one this packager
 * can have written: numbers in range, segments in order, names of its own
 * shape. Anything else (a damaged or forged file) is ignored whole. */
#define SEQ_MAX ((double)(INT64_C(1) << 50))
#define US_MAX ((double)(INT64_C(1) << 60))
/* Segments a restart may list as gaps: more means the state is not the
 * last run's (a forged sequence number would fill memory). */
enum { MAX_GAPS = 64 };

/* KEY of O is absent (0) or a number within [LO, HI]. */
static int in_range(const cJSON *o, const char *key, double lo, double hi)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!v)
        return 1;
    return cJSON_IsNumber(v) && v->valuedouble >= lo &&
           v->valuedouble <= hi;
}

static const char *bad_seg(const cJSON *e, double *prev)
{
    static const char *const big[] = { "pdt_us", "clock_us", "t", "d",
                                       "pstart_us", "pto", "bytes", NULL };

    if (!cJSON_IsObject(e) || !in_range(e, "seq", 0, SEQ_MAX) ||
        num(e, "seq") <= *prev)
        return "seq";
    *prev = (double)num(e, "seq");
    if (!in_range(e, "dur", 0, 86400))
        return "dur";
    if (!in_range(e, "dseq", 0, SEQ_MAX))
        return "dseq";
    if (!in_range(e, "init", 0, INT_MAX / 2))
        return "init";
    if (!in_range(e, "disc", 0, 1))
        return "disc";
    if (!in_range(e, "gap", 0, 1))
        return "gap";
    if (!in_range(e, "captured", 0, 1))
        return "captured";
    for (int i = 0; big[i]; i++)
        if (!in_range(e, big[i], -US_MAX, US_MAX))
            return big[i];
    return NULL;
}

/* O's fields; *NEXT grows to the number it goes on from, *LAST to the
 * lowest last segment number of a track (gaps fill the difference). */
static const char *bad_track(const cJSON *o, int64_t *next, double *last)
{
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(o, "segments");
    const cJSON *e;
    double prev = -1;

    if (!cJSON_IsObject(o) || !cJSON_IsString(
            cJSON_GetObjectItemCaseSensitive(o, "name")))
        return "name";
    if (!in_range(o, "next_seq", 0, SEQ_MAX))
        return "next_seq";
    if (!in_range(o, "open_seq", -1, SEQ_MAX))
        return "open_seq";
    if (!in_range(o, "dseq", 0, SEQ_MAX))
        return "dseq";
    if (!in_range(o, "init_gen", 0, INT_MAX / 2))
        return "init_gen";
    if (!in_range(o, "timescale", 1, INT_MAX) ||
        !cJSON_GetObjectItemCaseSensitive(o, "timescale"))
        return "timescale";
    if (segs && !cJSON_IsArray(segs))
        return "segments";
    cJSON_ArrayForEach(e, segs) {
        const char *bad = bad_seg(e, &prev);

        if (bad)
            return bad;
    }
    *next = FFMAX(*next, FFMAX(num(o, "next_seq"), num(o, "open_seq") + 1));
    if (prev >= 0 && (*last < 0 || prev < *last))
        *last = prev;
    return NULL;
}

/* The first field of ROOT that this packager cannot have written, or
 * NULL. */
static const char *bad_state(const cJSON *root)
{
    const cJSON *o, *dels = cJSON_GetObjectItemCaseSensitive(root,
                                                            "deletes");
    int64_t next = 0;
    double last = -1;

    if (!in_range(root, "ast_us", 0, US_MAX))
        return "ast_us";
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(root, "tracks")) {
        const char *bad = bad_track(o, &next, &last);

        if (bad)
            return bad;
    }
    /* every track goes on from NEXT: the gaps up to it are bounded */
    if (last >= 0 && next - (int64_t)last > MAX_GAPS + 1)
        return "next_seq";
    if (dels && (!cJSON_IsArray(dels) ||
                 cJSON_GetArraySize(dels) > CS_MAX_DELETES))
        return "deletes";
    cJSON_ArrayForEach(o, dels) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");

        if (!cJSON_IsString(name) || !cs_name_is_own(name->valuestring) ||
            strlen(name->valuestring) >= sizeof(((struct cs_delete *)0)->name))
            return "deletes";
        if (!in_range(o, "due_us", 0, US_MAX))
            return "due_us";
    }
    return NULL;
}

static int load_segs(struct cs_track *t, const cJSON *arr)
{
    int n = cJSON_GetArraySize(arr), i = 0;
    const cJSON *e;

    t->segs = calloc(n + 16, sizeof(*t->segs));
    if (!t->segs)
        return AVERROR(ENOMEM);
    t->cap = n + 16;
    cJSON_ArrayForEach(e, arr) {
        struct cs_seg *s = &t->segs[i++];
        const cJSON *dur = cJSON_GetObjectItemCaseSensitive(e, "dur");

        s->seq = num(e, "seq");
        s->dur = cJSON_IsNumber(dur) ? dur->valuedouble : 0;
        s->pdt_us = num(e, "pdt_us");
        s->clock_us = num(e, "clock_us");
        s->captured = (int)num(e, "captured");
        s->t = num(e, "t");
        s->d = num(e, "d");
        s->dseq = num(e, "dseq");
        s->disc = (int)num(e, "disc");
        s->gap = (int)num(e, "gap");
        s->init = (int)num(e, "init");
        s->pstart_us = num(e, "pstart_us");
        s->pto = num(e, "pto");
        s->bytes = num(e, "bytes");
    }
    t->nsegs = i;
    return 0;
}

static void resume(struct cs_track *t, const cJSON *o)
{
    t->next_seq = num(o, "next_seq");
    t->dseq = num(o, "dseq");
    t->init_gen = (int)num(o, "init_gen") + 1;
    t->mtb = (AVRational){ 1, (int)num(o, "timescale") };
    t->restarted = 1;
}

/* The segments being written when the last run died may have published
 * parts, or even their whole file just before the kill: they are listed
 * as gaps and their numbers never used again (PEND->orphan_from says
 * where they begin, for the packager to delete what they left). Every rendition goes on
 * from the same number, so that segments stay aligned. */
static int fill_gaps(struct cs_pkg *p, int64_t next,
                     struct cs_state_pending *pend)
{
    for (int i = 0; i < p->ntracks; i++) {
        struct cs_track *t = &p->tracks[i];

        if (!t->restarted)
            continue;
        /* bounded like the gaps (bad_state) */
        if (t->nsegs)
            pend->orphan_from[i] = t->segs[t->nsegs - 1].seq + 1;
        pend->orphan_from[i] = FFMAX(pend->orphan_from[i],
                                     next - MAX_GAPS - 1);
        while (t->nsegs && t->segs[t->nsegs - 1].seq < next - 1) {
            struct cs_seg *g;

            if (t->nsegs == t->cap) {
                g = realloc(t->segs, (t->cap + 16) * sizeof(*g));
                if (!g)
                    return AVERROR(ENOMEM);
                t->segs = g;
                t->cap += 16;
            }
            g = &t->segs[t->nsegs++];
            *g = g[-1];
            g->seq++;
            g->pdt_us += (int64_t)(g[-1].dur * 1e6);
            if (g->clock_us)
                g->clock_us += (int64_t)(g[-1].dur * 1e6);
            g->t += g->d;
            g->disc = 0;
            g->gap = 1;
            g->nparts = 0;
            g->bytes = 0;
        }
        t->next_seq = next;
        t->pending_disc = t->nsegs > 0;
    }
    return 0;
}

/* The deletions the last run had scheduled, for the packager to keep. */
static int load_deletes(const cJSON *arr, struct cs_state_pending *pend)
{
    const cJSON *o;
    int n = cJSON_GetArraySize(arr);

    if (n <= 0)
        return 0;
    pend->dels = calloc((size_t)n, sizeof(*pend->dels));
    if (!pend->dels)
        return AVERROR(ENOMEM);
    cJSON_ArrayForEach(o, arr) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        struct cs_delete *d = &pend->dels[pend->ndels];

        if (!cJSON_IsString(name) || pend->ndels == n)
            continue;
        snprintf(d->name, sizeof(d->name), "%s", name->valuestring);
        d->due_us = num(o, "due_us");
        pend->ndels++;
    }
    return 0;
}

/* Each track of P named in TRACKS takes its segments and numbers back;
 * returns the media sequence number every rendition goes on from. */
static int64_t load_tracks(struct cs_pkg *p, const cJSON *tracks,
                           struct cs_state_pending *pend, int *ret)
{
    const cJSON *o;
    int64_t next = 0;

    *ret = 0;
    cJSON_ArrayForEach(o, tracks) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        int64_t open = num(o, "open_seq");

        next = FFMAX(next, FFMAX(num(o, "next_seq"), open + 1));
        for (int i = 0; i < p->ntracks && cJSON_IsString(name); i++) {
            struct cs_track *t = &p->tracks[i];

            if (strcmp(t->name, name->valuestring) || t->segs)
                continue;
            *ret = load_segs(t,
                             cJSON_GetObjectItemCaseSensitive(o, "segments"));
            if (*ret < 0)
                return next;
            resume(t, o);
            /* a track with no segment yet began at its open one */
            pend->orphan_from[i] = open >= 0 ? open : t->next_seq;
        }
    }
    return next;
}

int cs_state_load(struct cs_pkg *p, const char *text, size_t len,
                  struct cs_state_pending *pend)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *tracks = cJSON_GetObjectItemCaseSensitive(root, "tracks");
    const char *bad;
    int ret = 0;

    memset(pend, 0, sizeof(*pend));
    for (int i = 0; i < CS_MAX_TRACKS; i++)
        pend->orphan_from[i] = -1;
    if (!cJSON_IsArray(tracks)) {
        cs_warn("ignoring the unreadable state in '%s'", p->cfg->output);
        goto out;
    }
    /* Refused rather than ignored: starting afresh would write over
     * segments that were published. */
    bad = bad_state(root);
    if (bad) {
        ret = cs_err_set(p->err, CS_EDATA, "the state in '%s' is not one "
                         "cs-segment writes: bad '%s'", p->cfg->output, bad);
        goto out;
    }
    p->ast_us = num(root, "ast_us");
    pend->next_seq = load_tracks(p, tracks, pend, &ret);
    if (ret >= 0)
        ret = fill_gaps(p, pend->next_seq, pend);
    if (ret >= 0)
        ret = load_deletes(cJSON_GetObjectItemCaseSensitive(root, "deletes"),
                           pend);
    if (ret >= 0)
        ret = 1;
out:
    cJSON_Delete(root);
    return ret;
}
