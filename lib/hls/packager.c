/* hls/packager.c: the read loop, and the one writer of the output. What
 * the cutter (part.c) cuts is published in the order that keeps every
 * playlist true: media files first, then the state, then the playlists and
 * the MPD that list them. Every write and delete goes through out_put and
 * out_delete. */
#include "hls/packager.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/crc.h>

#include "clock.h"
#include "err.h"
#include "hls/names.h"
#include "hls/part.h"
#include "hls/internal.h"
#include "log.h"
#include "media/input.h"
#include "sig.h"

/* The output, in one place: what a write and a delete are. ERR (may be
 * NULL) gets the store's own account of a failure. */
static int out_put(struct cs_pkg *p, const char *name, const void *data,
                   size_t len, enum cs_file_kind kind, struct cs_err *err)
{
    return cs_pkg_out_put(p, name, data, len, kind, err);
}

static void out_delete(struct cs_pkg *p, const char *name)
{
    cs_debug("deleting '%s'", name);
    cs_pkg_out_delete(p, name);     /* a failure is warned, not fatal */
}

/* A media file or a playlist: counted, and a failure ends the run. */
static int put_file(struct cs_pkg *p, const char *name, const void *data,
                    size_t len, enum cs_file_kind kind)
{
    int ret = out_put(p, name, data, len, kind, p->err);

    if (ret < 0)
        return cs_err_code(p->err, ret, "cannot write '%s' to '%s'", name,
                           p->cfg->output);
    p->bytes_out += (int64_t)len;
    p->files_out++;
    return ret;
}

static void delete_later(struct cs_pkg *p, const char *name, int64_t due_us)
{
    if (p->cfg->vod)
        return;
    if (p->ndels == CS_MAX_DELETES) {
        out_delete(p, p->dels[0].name);
        memmove(p->dels, p->dels + 1, (p->ndels - 1) * sizeof(*p->dels));
        p->ndels--;
    }
    snprintf(p->dels[p->ndels].name, sizeof(p->dels[0].name), "%s", name);
    p->dels[p->ndels].due_us = due_us;
    p->ndels++;
}

static void run_deletes(struct cs_pkg *p, int64_t now)
{
    int i = 0;

    while (i < p->ndels && p->dels[i].due_us <= now)
        out_delete(p, p->dels[i++].name);
    if (!i)
        return;
    memmove(p->dels, p->dels + i, (p->ndels - i) * sizeof(*p->dels));
    p->ndels -= i;
}

static int put_text(struct cs_pkg *p, const char *name, AVBPrint *bp)
{
    int ret;

    if (!av_bprint_is_complete(bp))
        ret = cs_err_code(p->err, AVERROR(ENOMEM), "cannot write '%s' to "
                          "'%s'", name, p->cfg->output);
    else
        ret = put_file(p, name, bp->str, bp->len, CS_FILE_PLAYLIST);
    av_bprint_finalize(bp, NULL);
    return ret;
}

static int write_media_playlist(struct cs_pkg *p, struct cs_track *t)
{
    AVBPrint bp;
    char name[CS_NAME_MAX];
    int ret;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    cs_playlist_media(p, t, &bp);
    cs_name_playlist(name, sizeof(name), t->name);
    ret = put_text(p, name, &bp);
    if (ret >= 0)
        t->listed = 1;
    return ret;
}

static int write_master(struct cs_pkg *p)
{
    AVBPrint bp;
    uint32_t hash;

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    if (!cs_playlist_master(p, &bp)) {
        av_bprint_finalize(&bp, NULL);
        return 0;
    }
    /* Rewritten only when a peak or a codec changed. */
    hash = av_crc(av_crc_get_table(AV_CRC_32_IEEE), 0,
                  (const uint8_t *)bp.str, bp.len);
    if (hash == p->master_hash) {
        av_bprint_finalize(&bp, NULL);
        return 0;
    }
    p->master_hash = hash;
    return put_text(p, CS_NAME_MASTER, &bp);
}

static int write_mpd(struct cs_pkg *p)
{
    AVBPrint bp;

    if (!p->dash)
        return 0;
    for (int i = 0; i < p->ntracks; i++)
        if (!p->tracks[i].nsegs)
            return 0;
    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    cs_mpd_write(p, &bp);
    return put_text(p, CS_NAME_MPD, &bp);
}

/* After a part: T's playlist, once it has a segment to anchor it. */
static int publish_part(struct cs_pkg *p, struct cs_track *t)
{
    if (!t->nsegs)
        return 0;               /* nothing to anchor a playlist yet */
    return write_media_playlist(p, t);
}

/* Drop segments that left the live window; their files go after a grace
 * time (the segment plus the longest playlist it appeared in). */
static void trim_window(struct cs_pkg *p, struct cs_track *t, int64_t now)
{
    int64_t grace = (int64_t)((p->cfg->window + 1) * p->cfg->segment * 1e6);
    char name[CS_NAME_MAX];

    while (!p->cfg->vod && t->nsegs > p->cfg->window) {
        const struct cs_seg *s = &t->segs[0];

        cs_name_segment(name, sizeof(name), t->name, p->ts, s->seq, -1);
        if (!s->gap)
            delete_later(p, name, now + grace);
        memmove(t->segs, t->segs + 1, (t->nsegs - 1) * sizeof(*t->segs));
        t->nsegs--;
    }
}

static void account(struct cs_pkg *p, struct cs_track *t,
                    const struct cs_seg *s)
{
    int64_t bps;

    t->total_segs++;
    t->sum_bytes += s->bytes;
    t->sum_dur += s->dur;
    if (s->dur <= 0)
        return;
    bps = (int64_t)(s->bytes * 8 / s->dur);
    /* A short last segment says little about the peak. */
    if (s->dur >= p->cfg->segment * 0.5 || !t->peak_bps)
        t->peak_bps = FFMAX(t->peak_bps, bps);
    /* A lost keyframe or a pause makes a longer segment: a VOD playlist,
     * written whole, can say so (a live one may not change its target). */
    if ((int)ceil(s->dur - 0.5) > p->target && p->cfg->vod)
        p->target = (int)ceil(s->dur - 0.5);
    else if ((int)ceil(s->dur - 0.5) > p->target)
        cs_warn("'%s': segment %lld lasts %.3f s, more than the target "
                "duration %d s", t->name, (long long)s->seq, s->dur,
                p->target);
}

/* T->cur joins T's playlist; the parts it replaces and the segments that
 * leave the window are deleted later. */
static int record_segment(struct cs_pkg *p, struct cs_track *t)
{
    int64_t now = cs_wall_us();
    char name[CS_NAME_MAX];

    if (t->nsegs == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        struct cs_seg *ns = realloc(t->segs, cap * sizeof(*ns));

        if (!ns)
            return cs_err_code(p->err, AVERROR(ENOMEM), "cannot package "
                               "'%s'", t->name);
        t->segs = ns;
        t->cap = cap;
    }
    t->segs[t->nsegs++] = t->cur;
    account(p, t, &t->cur);
    if (p->ll) {
        /* Parts leave the playlist within 3 target durations of the
         * segment's end and stay downloadable 3 more. */
        for (int i = 0; i < t->cur.nparts; i++) {
            cs_name_segment(name, sizeof(name), t->name, p->ts, t->cur.seq,
                            i);
            delete_later(p, name, now + 6 * p->target * 1000000LL);
        }
    }
    trim_window(p, t, now);
    return 0;
}

/* CS_NAME_STATE, after every segment. Without it a restart starts afresh;
 * the stream itself goes on, so a failure is only warned (once). */
static int save_state(struct cs_pkg *p)
{
    char *text;
    int ret;

    if (p->cfg->vod)
        return 0;
    text = cs_state_text(p);
    if (!text)
        return cs_err_code(p->err, AVERROR(ENOMEM), "cannot save the state "
                           "in '%s'", p->cfg->output);
    ret = out_put(p, CS_NAME_STATE, text, strlen(text), CS_FILE_STATE,
                  NULL);
    free(text);
    if (ret < 0 && !p->state_failed)
        cs_warn("cannot save the state in '%s': a restart will not resume",
                p->cfg->output);
    p->state_failed = ret < 0;
    return 0;
}

/* After a cut: T's playlist, then the master and the MPD when they
 * changed. */
static int publish(struct cs_pkg *p, struct cs_track *t)
{
    int ret = write_media_playlist(p, t);

    if (ret >= 0)
        ret = write_master(p);
    if (ret >= 0 && t == &p->tracks[p->ntracks - 1])
        ret = write_mpd(p);
    return ret;
}

/* The cutter's sink (part.h): the media files, and after a segment the
 * state. The playlists follow in route(), once the next segment is open. */
static int on_init(void *opaque, struct cs_track *t, const uint8_t *data,
                   size_t len)
{
    struct cs_pkg *p = opaque;
    char name[CS_NAME_MAX];
    int ret;

    cs_name_init(name, sizeof(name), t->name, t->init_gen);
    ret = put_file(p, name, data, len, CS_FILE_INIT);
    /* The run's first file, which no playlist lists yet: before any part,
     * the state takes the numbers this run uses (its init generation, its
     * open segment), so that a run killed before its first segment has
     * them never used again. */
    if (ret >= 0 && !p->reserved) {
        p->reserved = 1;
        ret = save_state(p);
    }
    return ret;
}

static int on_part(void *opaque, struct cs_track *t, int part,
                   const uint8_t *data, size_t len)
{
    struct cs_pkg *p = opaque;
    char name[CS_NAME_MAX];

    cs_name_segment(name, sizeof(name), t->name, p->ts, t->cur.seq, part);
    return put_file(p, name, data, len, CS_FILE_PART);
}

static int on_segment(void *opaque, struct cs_track *t, const uint8_t *data,
                      size_t len)
{
    struct cs_pkg *p = opaque;
    char name[CS_NAME_MAX];
    int ret;

    cs_name_segment(name, sizeof(name), t->name, p->ts, t->cur.seq, -1);
    ret = put_file(p, name, data, len, CS_FILE_SEGMENT);
    if (ret >= 0)
        ret = record_segment(p, t);
    if (ret >= 0)
        ret = save_state(p);
    return ret;
}

/* The files of segment SEQ of T that a killed run may have left (its
 * parts, even its whole file): now a gap, listed with none, they go after
 * the grace of a part. Only names this packager makes; a part that is not
 * there ends the search (parts are written in order); an output that
 * cannot tell gets the deletion of every part the segment can have. */
static void delete_orphans(struct cs_pkg *p, const struct cs_track *t,
                           int64_t seq, int64_t due_us)
{
    int nmax = (int)FFMIN(CS_MAX_PARTS, 2 * ceil(p->cfg->segment /
                                              FFMAX(p->cfg->part, 0.1)) + 2);
    char name[CS_NAME_MAX];

    cs_name_segment(name, sizeof(name), t->name, p->ts, seq, -1);
    if (cs_pkg_out_exists(p, name))
        delete_later(p, name, due_us);
    for (int i = 0; p->ll && i < nmax; i++) {
        cs_name_segment(name, sizeof(name), t->name, p->ts, seq, i);
        if (!cs_pkg_out_exists(p, name))
            break;
        cs_debug("'%s' is left from a killed run: deleted later", name);
        delete_later(p, name, due_us);
    }
}

/* What the last run left: its deletions are kept, and the files of the
 * segments it had begun (gaps now) are deleted. */
static void resume(struct cs_pkg *p, const struct cs_state_pending *pend)
{
    int64_t due = cs_wall_us() + 6 * p->target * 1000000LL;

    for (int i = 0; i < pend->ndels; i++)
        delete_later(p, pend->dels[i].name, pend->dels[i].due_us);
    for (int i = 0; i < p->ntracks; i++)
        for (int64_t s = pend->orphan_from[i];
             s >= 0 && s < pend->next_seq; s++)
            delete_orphans(p, &p->tracks[i], s, due);
    p->restarted = 1;
    cs_info("resuming '%s' after media sequence %lld", p->cfg->output,
            (long long)pend->next_seq - 1);
}

static int load_state(struct cs_pkg *p)
{
    struct cs_state_pending pend;
    char *text = NULL;
    size_t len = 0;
    int ret = cs_pkg_out_read(p, CS_NAME_STATE, 1 << 22, &text, &len);

    if (ret == AVERROR(ENOENT))
        return 0;
    if (ret >= 0) {
        ret = cs_state_load(p, text, len, &pend);
        free(text);
        if (ret > 0)
            resume(p, &pend);
        free(pend.dels);
    }
    if (ret < 0)
        return cs_err_code(p->err, ret, "cannot read the state of '%s'",
                           p->cfg->output);
    return 0;
}

/* Every stream is kept (no CS_INPUT_VIDEO/AUDIO pick): each video stream
 * is a rendition. */
static int open_input(struct cs_pkg *p)
{
    int ret = cs_input_open(&p->input, p->cfg->input, NULL, NULL, 0);

    if (ret == CS_ESTOP)
        return ret;
    if (ret < 0)
        return cs_err_code(p->err, ret, "cannot read '%s'", p->cfg->input);
    p->in = p->input->fmt;
    return 0;
}

static void emit_stats(struct cs_pkg *p, int final)
{
    cJSON *o;

    if (!p->stats || (!final && !cs_stats_due(p->stats)))
        return;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "renditions", p->ntracks);
    cJSON_AddNumberToObject(o, "segments",
                            (double)p->tracks[0].total_segs);
    cJSON_AddNumberToObject(o, "files", (double)p->files_out);
    cJSON_AddNumberToObject(o, "written_bytes", (double)p->bytes_out);
    cJSON_AddNumberToObject(o, "peak_bitrate_bps",
                            (double)p->tracks[0].peak_bps);
    cJSON_AddNumberToObject(o, "dropped_frames", (double)p->cut.dropped);
    /* how much later than the input's first bytes this run's DASH
     * timeline starts: a player at the very edge reads up to that much
     * below zero latency */
    if (p->wall0_us && p->input->first_us && p->ast_us == p->wall0_us)
        cJSON_AddNumberToObject(o, "probe_hold_ms",
            (double)((p->wall0_us - p->input->first_us) / 1000));
    cs_pkg_out_stats(p, o);
    if (final)
        cs_stats_close(&p->stats, o);
    else
        cs_stats_emit(p->stats, o);
}

/* PKT to the cutter of each track it belongs to; the playlists follow
 * what it cut (its sink has written the media and the state). */
static int route(struct cs_pkg *p, AVPacket *pkt)
{
    int ret = 0;

    for (int i = 0; i < p->ntracks && ret >= 0; i++) {
        struct cs_track *t = &p->tracks[i];

        if (t->in_idx == pkt->stream_index) {
            if (t->anchor_us == 0) {
                t->anchor_us = p->wall0_us;
                t->anchor_ts = av_rescale_q(p->anchor_ts, AV_TIME_BASE_Q,
                                            t->tb);
            }
            ret = cs_track_packet(&p->cut, t, pkt);
            if (ret == CS_CUT_PART)
                ret = publish_part(p, t);
            else if (ret == CS_CUT_SEGMENT)
                ret = publish(p, t);
        } else if (t->aux_idx == pkt->stream_index) {
            ret = cs_track_aux(&p->cut, t, pkt);
        }
    }
    return ret;
}

static int read_loop(struct cs_pkg *p)
{
    AVPacket *pkt = av_packet_alloc();
    int ret = 0;

    if (!pkt)
        return AVERROR(ENOMEM);
    while (!cs_stopping()) {
        ret = cs_input_read(p->input, pkt);
        if (ret == AVERROR_EOF || ret == CS_ESTOP) {
            ret = 0;
            break;
        }
        if (ret < 0) {
            cs_err_code(p->err, ret, "cannot read '%s'", p->cfg->input);
            break;
        }
        cs_pkg_timeline_fix(p, pkt);
        /* Arrival: the DASH availability timeline starts when the probe
         * lets the first packet out (its segments exist by then); the
         * playlists' clock when it came, with the input's first bytes. */
        if (!p->wall0_us && pkt->dts != AV_NOPTS_VALUE) {
            p->wall0_us = cs_wall_us();
            if (p->input->first_us && p->input->first_us < p->wall0_us)
                p->cut.clock_off_us = p->input->first_us - p->wall0_us;
            if (!p->ast_us)
                p->ast_us = p->wall0_us;
            p->anchor_ts = av_rescale_q(pkt->dts,
                p->in->streams[pkt->stream_index]->time_base,
                AV_TIME_BASE_Q);
        }
        if (p->wall0_us)
            ret = route(p, pkt);
        av_packet_unref(pkt);
        if (ret < 0)
            break;
        run_deletes(p, cs_wall_us());
        emit_stats(p, 0);
    }
    av_packet_free(&pkt);
    return ret;
}

/* Audio running a few frames past the last video segment would make a
 * segment of its own that no rendition has: those frames are dropped, as
 * long as nothing of that segment was published. */
static void drop_audio_tail(struct cs_pkg *p)
{
    struct cs_track *a = p->atrack >= 0 ? &p->tracks[p->atrack] : NULL;
    int64_t vmax = -1;

    for (int i = 0; i < p->ntracks; i++)
        if (!p->tracks[i].audio && p->tracks[i].open)
            vmax = FFMAX(vmax, p->tracks[i].cur.seq);
    if (!a || !a->open || vmax < 0 || a->cur.seq <= vmax || a->cur.nparts)
        return;
    cs_verbose("dropping %.3f s of audio after the end of the video",
               (a->last_dts + a->last_dur - a->seg_start) * av_q2d(a->tb));
    a->open = 0;
    a->next_seq = a->cur.seq;
}

static int finish(struct cs_pkg *p)
{
    int ret = 0;

    drop_audio_tail(p);
    for (int i = 0; i < p->ntracks && ret >= 0; i++)
        ret = cs_track_finish(&p->cut, &p->tracks[i]);
    if (ret < 0)
        return ret;
    p->ended = 1;
    for (int i = 0; i < p->ntracks && ret >= 0; i++)
        if (p->tracks[i].nsegs)
            ret = publish(p, &p->tracks[i]);
    return ret;
}

static void release(struct cs_pkg *p)
{
    for (int i = 0; i < p->ntracks; i++)
        cs_track_release(&p->tracks[i]);
    free(p->dels);
    free(p->in_dts);
    cs_input_free(&p->input);
    p->in = NULL;
    cs_pkg_out_close(p);
}

/* The output, the input, its tracks and what a last run left. */
static int open_all(struct cs_pkg *p)
{
    const struct cs_pkg_config *cfg = p->cfg;
    int ret = cs_pkg_out_open(p);

    if (ret >= 0)
        ret = open_input(p);
    if (ret >= 0)
        ret = cs_tracks_setup(p);
    if (ret >= 0)
        ret = cs_pkg_timeline_init(p);
    if (ret >= 0 && !cfg->vod)
        ret = load_state(p);
    p->cut.in = p->in;
    return ret;
}

int cs_pkg_run(const struct cs_pkg_config *cfg, struct cs_stats *stats,
               struct cs_err *err)
{
    struct cs_pkg p = { .cfg = cfg, .err = err, .stats = stats,
                        .ts = cfg->ts };
    int ret;

    p.ll = cfg->ll && !cfg->ts && !cfg->vod;
    p.dash = cfg->dash && !cfg->ts;
    p.target = (int)ceil(cfg->segment - 1e-3);
    p.cut = (struct cs_cutter){ .ts = p.ts, .ll = p.ll,
        .segment = cfg->segment, .part = cfg->part, .err = err,
        .sink = { &p, on_init, on_part, on_segment } };
    p.dels = calloc(CS_MAX_DELETES, sizeof(*p.dels));
    ret = p.dels ? open_all(&p) : AVERROR(ENOMEM);
    if (ret >= 0)
        ret = read_loop(&p);
    if (ret >= 0)
        ret = finish(&p);
    if (p.stats)
        emit_stats(&p, 1);
    release(&p);
    /* Every failure leaves one line for main to print (but the one lib/out
     * printed itself). */
    if (ret < 0 && ret != CS_ESTOP && ret != CS_EUSAGE)
        cs_err_code(err, ret, "cannot package '%s'", cfg->input);
    return ret;
}
