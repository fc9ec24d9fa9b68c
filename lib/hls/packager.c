/* hls/packager.c: the read loop, the renditions, and publishing in the
 * order that keeps every playlist true: media files first, then the state,
 * then the playlists and the MPD that list them. */
#include "hls/packager.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/crc.h>

#include "clock.h"
#include "err.h"
#include "hls/codecs.h"
#include "hls/pkg.h"
#include "log.h"
#include "media/input.h"
#include "sig.h"

int cs_pkg_put(struct cs_pkg *p, const char *name, const void *data,
               size_t len, enum cs_file_kind kind)
{
    struct cs_err err = { 0 };
    int ret = cs_store_put(p->out, name, data, len, kind, &err);

    if (ret < 0)
        cs_error("%s", err.msg);
    if (ret >= 0) {
        p->bytes_out += (int64_t)len;
        p->files_out++;
    }
    return ret;
}

void cs_pkg_delete_later(struct cs_pkg *p, const char *name, int64_t due_us)
{
    if (p->cfg->vod)
        return;
    if (p->ndels == CS_MAX_DELETES) {
        cs_store_delete(p->out, p->dels[0].name);
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
        cs_store_delete(p->out, p->dels[i++].name);
    if (!i)
        return;
    memmove(p->dels, p->dels + i, (p->ndels - i) * sizeof(*p->dels));
    p->ndels -= i;
}

static int put_text(struct cs_pkg *p, const char *name, AVBPrint *bp)
{
    int ret;

    if (!av_bprint_is_complete(bp))
        ret = AVERROR(ENOMEM);
    else
        ret = cs_pkg_put(p, name, bp->str, bp->len, CS_FILE_PLAYLIST);
    av_bprint_finalize(bp, NULL);
    return ret;
}

static int write_media_playlist(struct cs_pkg *p, const struct cs_track *t)
{
    AVBPrint bp;
    char name[96];

    av_bprint_init(&bp, 0, AV_BPRINT_SIZE_UNLIMITED);
    cs_playlist_media(p, t, &bp);
    snprintf(name, sizeof(name), "%s/index.m3u8", t->name);
    return put_text(p, name, &bp);
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
    return put_text(p, "master.m3u8", &bp);
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
    return put_text(p, "manifest.mpd", &bp);
}

int cs_pkg_part_done(struct cs_pkg *p, struct cs_track *t)
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
    char name[160];

    while (!p->cfg->vod && t->nsegs > p->cfg->window) {
        const struct cs_seg *s = &t->segs[0];

        cs_seg_name(p, t, s->seq, -1, name, sizeof(name));
        if (!s->gap)
            cs_pkg_delete_later(p, name, now + grace);
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

int cs_pkg_segment_done(struct cs_pkg *p, struct cs_track *t)
{
    int64_t now = cs_wall_us();
    char name[160];

    if (t->nsegs == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        struct cs_seg *ns = realloc(t->segs, cap * sizeof(*ns));

        if (!ns)
            return AVERROR(ENOMEM);
        t->segs = ns;
        t->cap = cap;
    }
    t->segs[t->nsegs++] = t->cur;
    account(p, t, &t->cur);
    if (p->ll) {
        /* Parts leave the playlist within 3 target durations of the
         * segment's end and stay downloadable 3 more. */
        for (int i = 0; i < t->cur.nparts; i++) {
            cs_seg_name(p, t, t->cur.seq, i, name, sizeof(name));
            cs_pkg_delete_later(p, name, now + 6 * p->target * 1000000LL);
        }
    }
    trim_window(p, t, now);
    return cs_state_save(p);
}

int cs_pkg_publish(struct cs_pkg *p, struct cs_track *t)
{
    int ret = write_media_playlist(p, t);

    if (ret >= 0)
        ret = write_master(p);
    if (ret >= 0 && t == &p->tracks[p->ntracks - 1])
        ret = write_mpd(p);
    return ret;
}

/* Every stream is kept (no CS_INPUT_VIDEO/AUDIO pick): each video stream
 * is a rendition. */
static int open_input(struct cs_pkg *p)
{
    int ret = cs_input_open(&p->input, p->cfg->input, NULL, NULL, 0);

    if (ret < 0) {
        if (ret != CS_ESTOP)
            cs_error("cannot read '%s': %s", p->cfg->input, CS_ERRSTR(ret));
        return ret;
    }
    p->in = p->input->fmt;
    return 0;
}

/* cs-ladder's label for stream IDX (lib/ladder/ladder.h): the stream's
 * "variant_name" (Matroska, NUT), else the SDT service_name of an MPEG-TS
 * program holding only that video stream, provided by "cs-ladder". */
static const char *ladder_label(const AVFormatContext *in, int idx)
{
    const AVDictionaryEntry *e = av_dict_get(in->streams[idx]->metadata,
                                             "variant_name", NULL, 0);

    if (e)
        return e->value;
    for (unsigned i = 0; i < in->nb_programs; i++) {
        const AVProgram *pg = in->programs[i];
        const AVDictionaryEntry *prov = av_dict_get(pg->metadata,
                                                    "service_provider",
                                                    NULL, 0);
        int has = 0, nvideo = 0;

        for (unsigned j = 0; j < pg->nb_stream_indexes; j++) {
            int s = (int)pg->stream_index[j];

            has |= s == idx;
            nvideo += in->streams[s]->codecpar->codec_type ==
                      AVMEDIA_TYPE_VIDEO;
        }
        if (!has || nvideo != 1 || !prov ||
            strncmp(prov->value, "cs-ladder", 9))
            continue;
        e = av_dict_get(pg->metadata, "service_name", NULL, 0);
        if (e)
            return e->value;
    }
    return NULL;
}

/* The rendition's folder: the ladder's label, else v0, v1 ... */
static void track_name(const AVFormatContext *in, int idx, int nvideo,
                       char *buf, size_t size)
{
    const char *label = ladder_label(in, idx);
    size_t o = 0;

    for (const char *c = label; c && *c && o + 1 < size && o < 32; c++)
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.')
            buf[o++] = *c;
    buf[o] = '\0';
    if (!o || !strcmp(buf, "audio") || buf[0] == '.')
        snprintf(buf, size, "v%d", nvideo);
}

static int add_track(struct cs_pkg *p, int idx, int audio, int aux)
{
    const AVStream *st = p->in->streams[idx];
    struct cs_track *t = &p->tracks[p->ntracks];
    const AVDictionaryEntry *e;
    char ac[32];

    memset(t, 0, sizeof(*t));
    t->par = avcodec_parameters_alloc();
    if (!t->par || avcodec_parameters_copy(t->par, st->codecpar) < 0)
        return AVERROR(ENOMEM);
    t->in_idx = idx;
    t->aux_idx = aux;
    t->audio = audio;
    t->tb = st->time_base;
    t->last_dts = AV_NOPTS_VALUE;
    t->first_key = AV_NOPTS_VALUE;
    if (audio)
        snprintf(t->name, sizeof(t->name), "audio");
    else
        track_name(p->in, idx, p->ntracks, t->name, sizeof(t->name));
    for (int i = 0; i < p->ntracks; i++)
        if (!strcmp(p->tracks[i].name, t->name))
            snprintf(t->name, sizeof(t->name), "v%d", p->ntracks);
    t->width = st->codecpar->width;
    t->height = st->codecpar->height;
    t->fps = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    t->channels = st->codecpar->ch_layout.nb_channels;
    e = av_dict_get(st->metadata, "language", NULL, 0);
    if (e && strspn(e->value, "abcdefghijklmnopqrstuvwxyz-") ==
        strlen(e->value) && strcmp(e->value, "und"))
        snprintf(t->lang, sizeof(t->lang), "%s", e->value);
    t->rate = st->codecpar->sample_rate;
    if (cs_codecs_string(st->codecpar, t->codecs, sizeof(t->codecs)) < 0) {
        cs_error("cannot package stream %d of '%s': no codecs string for "
                 "'%s'", idx, p->cfg->input,
                 avcodec_get_name(st->codecpar->codec_id));
        return CS_EDATA;
    }
    if (aux >= 0 && cs_codecs_string(p->in->streams[aux]->codecpar, ac,
                                     sizeof(ac)) >= 0)
        av_strlcatf(t->codecs, sizeof(t->codecs), ",%s", ac);
    p->ntracks++;
    return 0;
}

static int setup_tracks(struct cs_pkg *p)
{
    int aidx = av_find_best_stream(p->in, AVMEDIA_TYPE_AUDIO, -1, -1, NULL,
                                   0);
    int nvideo = 0, ret;

    p->atrack = -1;
    for (unsigned i = 0; i < p->in->nb_streams; i++) {
        const AVCodecParameters *par = p->in->streams[i]->codecpar;

        if (par->codec_type != AVMEDIA_TYPE_VIDEO ||
            (p->in->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        if (p->ntracks == CS_MAX_TRACKS - 1)
            break;
        ret = add_track(p, (int)i, 0, p->ts && aidx >= 0 ? aidx : -1);
        if (ret < 0)
            return ret;
        nvideo++;
    }
    if (aidx >= 0 && (!p->ts || !nvideo)) {
        p->atrack = p->ntracks;
        ret = add_track(p, aidx, 1, -1);
        if (ret < 0)
            return ret;
    }
    if (!p->ntracks) {
        cs_error("cannot package '%s': no video or audio stream",
                 p->cfg->input);
        return CS_EDATA;
    }
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
    cJSON_AddNumberToObject(o, "dropped_frames", (double)p->dropped);
    if (final)
        cs_stats_close(&p->stats, o);
    else
        cs_stats_emit(p->stats, o);
}

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
            ret = cs_track_packet(p, t, pkt);
        } else if (t->aux_idx == pkt->stream_index) {
            ret = cs_track_aux(p, t, pkt);
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
            cs_error("cannot read '%s': %s", p->cfg->input, CS_ERRSTR(ret));
            break;
        }
        cs_pkg_timeline_fix(p, pkt);
        if (!p->wall0_us && pkt->dts != AV_NOPTS_VALUE) {
            p->wall0_us = cs_wall_us();
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
        ret = cs_track_finish(p, &p->tracks[i]);
    if (ret < 0)
        return ret;
    p->ended = 1;
    for (int i = 0; i < p->ntracks && ret >= 0; i++)
        if (p->tracks[i].nsegs)
            ret = cs_pkg_publish(p, &p->tracks[i]);
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
    cs_store_close(&p->out);
}

int cs_pkg_run(const struct cs_pkg_config *cfg, struct cs_stats *stats)
{
    struct cs_pkg p = { .cfg = cfg, .stats = stats, .ts = cfg->ts };
    struct cs_store_opts oo = { .token = cfg->token, .retries = 3,
                                .timeout_ms = 10000 };
    struct cs_err err = { 0 };
    int ret;

    p.ll = cfg->ll && !cfg->ts && !cfg->vod;
    p.dash = cfg->dash && !cfg->ts;
    p.target = (int)ceil(cfg->segment - 1e-3);
    p.dels = calloc(CS_MAX_DELETES, sizeof(*p.dels));
    if (!p.dels)
        return AVERROR(ENOMEM);
    ret = cs_store_open(&p.out, cfg->output, &oo, &err);
    if (ret < 0) {
        cs_err_code(&err, ret, "cannot open '%s'", cfg->output);
        cs_error("%s", err.msg);
        goto out;
    }
    ret = open_input(&p);
    if (ret < 0)
        goto out;
    ret = setup_tracks(&p);
    if (ret >= 0)
        ret = cs_pkg_timeline_init(&p);
    if (ret < 0)
        goto out;
    if (!cfg->vod) {
        ret = cs_state_load(&p);
        if (ret < 0)
            goto out;
    }
    ret = read_loop(&p);
    if (ret >= 0)
        ret = finish(&p);
out:
    if (p.stats)
        emit_stats(&p, 1);
    release(&p);
    return ret;
}
