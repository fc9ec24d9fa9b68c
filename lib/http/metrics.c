/* /metrics in the Prometheus text format. */
#include <stdio.h>
#include <string.h>

#include <libavutil/bprint.h>

#include "http/internal.h"

static const char *const kind_names[CS_KIND_COUNT] = {
    "playlist", "manifest", "segment", "part", "init", "page", "other",
    "ingest",
};

static void label(AVBPrint *bp, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            av_bprintf(bp, "\\%c", *s);
        else if (*s == '\n')
            av_bprintf(bp, "\\n");
        else
            av_bprint_chars(bp, *s, 1);
    }
}

static void head(AVBPrint *bp, const char *name, const char *type,
                 const char *help)
{
    av_bprintf(bp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void by_kind(AVBPrint *bp, const char *name, const char *help,
                    atomic_llong *v)
{
    head(bp, name, "counter", help);
    for (int k = 0; k < CS_KIND_COUNT; k++)
        av_bprintf(bp, "%s{kind=\"%s\"} %lld\n", name, kind_names[k],
                   (long long)atomic_load(&v[k]));
}

static void one(AVBPrint *bp, const char *name, const char *type,
                const char *help, long long v)
{
    head(bp, name, type, help);
    av_bprintf(bp, "%s %lld\n", name, v);
}

struct edge_ctx {
    AVBPrint *bp;
    int part;   /* second pass: parts */
};

static void edge(void *ctx, const char *rel, const struct cs_pl *pl)
{
    struct edge_ctx *e = ctx;

    if (!pl->m.is_media)
        return;
    if (e->part && pl->m.last_part_msn < 0)
        return;
    av_bprintf(e->bp, "%s{playlist=\"", e->part ? "cs_serve_latest_part"
                                                : "cs_serve_latest_msn");
    label(e->bp, rel);
    av_bprintf(e->bp, "\"} %lld\n", e->part ? (long long)pl->m.last_part
                                            : (long long)pl->m.last_msn);
}

/* The server's counters and gauges. */
static void counters(AVBPrint *bp, struct cs_http *h)
{
    struct cs_metrics *m = &h->metrics;

    one(bp, "cs_serve_connections", "gauge", "Open connections.",
        atomic_load(&m->active));
    one(bp, "cs_serve_blocked_requests", "gauge",
        "Requests waiting for a part or segment now.",
        cs_live_blocked(h->live));
    one(bp, "cs_serve_blocked_requests_total", "counter",
        "Requests that had to wait.", atomic_load(&m->blocked_total));
    one(bp, "cs_serve_blocked_refused_total", "counter",
        "Blocking requests refused with 503: --max-blocked were held.",
        atomic_load(&m->busy_total));
    one(bp, "cs_serve_blocked_timeouts_total", "counter",
        "Waiting requests answered 503 after three target durations.",
        atomic_load(&m->expired_total));
    one(bp, "cs_serve_streamed_segments_total", "counter",
        "Segments answered while being written (chunked, part by part).",
        atomic_load(&m->streamed_total));
    one(bp, "cs_serve_requests_refused_total", "counter",
        "Request heads refused before the server read them (400, 413, "
        "431).", cs_gate_refused(h->gate));
    one(bp, "cs_serve_manifest_reads_total", "counter",
        "DASH manifests read and compressed from disk (a new version or "
        "one not cached); the other requests were served from memory.",
        atomic_load(&h->mcache.misses));
    one(bp, "cs_serve_ingest_errors_total", "counter",
        "PUT and DELETE requests refused or failed.",
        atomic_load(&m->ingest_errors));
}

/* The open file cache (fcache.h). */
static void file_cache(AVBPrint *bp, struct cs_http *h)
{
    long long entries = 0, bytes = 0, hits = 0, misses = 0;

    if (h->fcache)
        cs_fcache_stats(h->fcache, &entries, &bytes, &hits, &misses);
    one(bp, "cs_serve_file_cache_hits_total", "counter",
        "Files answered from memory after one stat (the file unchanged).",
        hits);
    one(bp, "cs_serve_file_cache_files", "gauge",
        "Small files kept in memory as whole responses.", entries);
    one(bp, "cs_serve_file_cache_bytes", "gauge",
        "Bytes of the files kept in memory.", bytes);
}

enum MHD_Result cs_metrics_page(struct cs_req *r)
{
    struct cs_metrics *m = &r->h->metrics;
    struct edge_ctx e;
    enum MHD_Result ret;
    AVBPrint bp;

    r->kind = CS_KIND_OTHER;
    av_bprint_init(&bp, 4096, AV_BPRINT_SIZE_UNLIMITED);
    by_kind(&bp, "cs_serve_requests_total", "Requests answered, by kind.",
            m->requests);
    by_kind(&bp, "cs_serve_sent_bytes_total",
            "Body bytes queued for sending, by kind.", m->bytes);
    head(&bp, "cs_serve_responses_total", "counter",
         "Responses by status class.");
    for (int c = 1; c <= 5; c++)
        av_bprintf(&bp, "cs_serve_responses_total{code=\"%dxx\"} %lld\n", c,
                   (long long)atomic_load(&m->status[c]));
    counters(&bp, r->h);
    file_cache(&bp, r->h);
    e.bp = &bp;
    head(&bp, "cs_serve_latest_msn", "gauge",
         "Media sequence number of the newest whole segment.");
    e.part = 0;
    cs_live_foreach(r->h->live, edge, &e);
    head(&bp, "cs_serve_latest_part", "gauge",
         "Index of the newest part within its segment.");
    e.part = 1;
    cs_live_foreach(r->h->live, edge, &e);
    if (!av_bprint_is_complete(&bp)) {
        av_bprint_finalize(&bp, NULL);
        return MHD_NO;
    }
    ret = cs_http_buffer(r, bp.str, bp.len,
                         "text/plain; version=0.0.4; charset=utf-8",
                         "no-store", NULL, 0, 0, 0);
    av_bprint_finalize(&bp, NULL);
    return ret;
}
