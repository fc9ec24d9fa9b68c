/* hls/playlist.c: media and multivariant playlists, following
 * draft-pantos-hls-rfc8216bis for Low-Latency HLS. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hls/names.h"
#include "hls/internal.h"

static void pdt(AVBPrint *bp, int64_t us)
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    char buf[32];

    gmtime_r(&s, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    av_bprintf(bp, "#EXT-X-PROGRAM-DATE-TIME:%s.%03dZ\n", buf,
               (int)(us / 1000 % 1000));
}

static int version(const struct cs_pkg *p)
{
    if (p->ll)
        return 9;       /* EXT-X-SKIP, CAN-SKIP-UNTIL */
    return p->ts ? 3 : 7;
}

/* Parts are listed for segments less than 3 target durations from the
 * end of the playlist, and for 3 segments at most counting the open one
 * (whose parts and preload hint end the playlist): a segment shorter than
 * the target would otherwise let a fourth one in, which a strict reader
 * (hls-parser) rejects, as the draft's "more than three Target Durations"
 * counts whole segments there. */
static int list_parts(const struct cs_pkg *p, const struct cs_track *t,
                      int i)
{
    double after = 0;

    if (!p->ll || p->ended)
        return 0;
    if (t->nsegs - i + (t->open ? 1 : 0) > 3)
        return 0;
    for (int j = i + 1; j < t->nsegs; j++)
        after += t->segs[j].dur;
    if (t->open)
        for (int j = 0; j < t->cur.nparts; j++)
            after += t->cur.parts[j].dur;
    return after < 3.0 * p->target;
}

static void parts(const struct cs_pkg *p, const struct cs_track *t,
                  const struct cs_seg *s, AVBPrint *bp)
{
    char name[CS_NAME_MAX];

    for (int i = 0; i < s->nparts; i++) {
        cs_name_segment(name, sizeof(name), t->name, p->ts, s->seq, i);
        av_bprintf(bp, "#EXT-X-PART:DURATION=%.5f,URI=\"%s\"%s\n",
                   s->parts[i].dur, strchr(name, '/') + 1,
                   s->parts[i].indep ? ",INDEPENDENT=YES" : "");
    }
}

/* Tags that come before a segment (or the parts of the open one). */
static void seg_head(const struct cs_pkg *p, const struct cs_track *t,
                     const struct cs_seg *s, const struct cs_seg *prev,
                     AVBPrint *bp)
{
    char name[CS_NAME_MAX];

    if (prev && s->disc)
        av_bprintf(bp, "#EXT-X-DISCONTINUITY\n");
    if (!p->ts && (!prev || prev->init != s->init)) {
        cs_name_init(name, sizeof(name), t->name, s->init);
        av_bprintf(bp, "#EXT-X-MAP:URI=\"%s\"\n", strchr(name, '/') + 1);
    }
    if (!prev || s->disc || prev->gap)
        pdt(bp, s->clock_us ? s->clock_us : s->pdt_us);
}

static void rendition_reports(const struct cs_pkg *p,
                              const struct cs_track *self, AVBPrint *bp)
{
    for (int i = 0; i < p->ntracks; i++) {
        const struct cs_track *t = &p->tracks[i];
        int64_t msn;
        int part;

        /* (not before this run wrote it: a killed run may not have) */
        if (t == self || !t->nsegs || !t->listed)
            continue;
        if (t->open && t->cur.nparts) {
            msn = t->cur.seq;
            part = t->cur.nparts - 1;
        } else {
            msn = t->segs[t->nsegs - 1].seq;
            part = t->segs[t->nsegs - 1].nparts - 1;
        }
        av_bprintf(bp, "#EXT-X-RENDITION-REPORT:URI=\"../%s/"
                   CS_NAME_PLAYLIST "\","
                   "LAST-MSN=%lld,LAST-PART=%d\n", t->name, (long long)msn,
                   part < 0 ? 0 : part);
    }
}

static void header(const struct cs_pkg *p, const struct cs_track *t,
                   AVBPrint *bp)
{
    av_bprintf(bp, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n",
               version(p), p->target);
    if (p->ll) {
        /* Identical in every media playlist: derived from the settings
         * only. PART-HOLD-BACK at the draft's lower bound, two part
         * targets (three is what it recommends): a player may come a part
         * closer to the newest one. */
        av_bprintf(bp, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
                   "CAN-SKIP-UNTIL=%.1f,PART-HOLD-BACK=%.3f\n",
                   6.0 * p->target, 2.0 * p->cfg->part);
        av_bprintf(bp, "#EXT-X-PART-INF:PART-TARGET=%.5f\n", p->cfg->part);
    }
    av_bprintf(bp, "#EXT-X-MEDIA-SEQUENCE:%lld\n",
               (long long)t->segs[0].seq);
    if (t->segs[0].dseq)
        av_bprintf(bp, "#EXT-X-DISCONTINUITY-SEQUENCE:%lld\n",
                   (long long)t->segs[0].dseq);
    if (p->cfg->vod)
        av_bprintf(bp, "#EXT-X-PLAYLIST-TYPE:VOD\n");
    if (!p->ts)
        av_bprintf(bp, "#EXT-X-INDEPENDENT-SEGMENTS\n");
}

void cs_playlist_media(const struct cs_pkg *p, const struct cs_track *t,
                       AVBPrint *bp)
{
    const struct cs_seg *prev = NULL;
    char name[CS_NAME_MAX];

    header(p, t, bp);
    for (int i = 0; i < t->nsegs; i++) {
        const struct cs_seg *s = &t->segs[i];

        seg_head(p, t, s, prev, bp);
        if (list_parts(p, t, i))
            parts(p, t, s, bp);
        if (s->gap)
            av_bprintf(bp, "#EXT-X-GAP\n");
        cs_name_segment(name, sizeof(name), t->name, p->ts, s->seq, -1);
        av_bprintf(bp, "#EXTINF:%.5f,\n%s\n", s->dur, strchr(name, '/') + 1);
        prev = s;
    }
    if (p->ended) {
        av_bprintf(bp, "#EXT-X-ENDLIST\n");
        return;
    }
    if (p->ll && t->open) {
        if (t->cur.nparts)
            seg_head(p, t, &t->cur, prev, bp);
        parts(p, t, &t->cur, bp);
        cs_name_segment(name, sizeof(name), t->name, p->ts, t->cur.seq,
                        t->cur.nparts);
        av_bprintf(bp, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"%s\"\n",
                   strchr(name, '/') + 1);
        rendition_reports(p, t, bp);
    }
}

static void stream_inf(const struct cs_pkg *p, const struct cs_track *t,
                       const struct cs_track *a, AVBPrint *bp)
{
    int64_t peak = t->peak_bps, avg;

    avg = t->sum_dur > 0 ? (int64_t)(t->sum_bytes * 8 / t->sum_dur) : peak;
    if (a) {
        peak += a->peak_bps;
        avg += a->sum_dur > 0 ? (int64_t)(a->sum_bytes * 8 / a->sum_dur) : 0;
    }
    peak = FFMAX(peak, avg);
    av_bprintf(bp, "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,"
               "CODECS=\"%s%s%s\"", (long long)peak, (long long)avg,
               t->codecs, a ? "," : "", a ? a->codecs : "");
    if (!t->audio && t->width)
        av_bprintf(bp, ",RESOLUTION=%dx%d", t->width, t->height);
    if (!t->audio && t->fps.num && t->fps.den)
        av_bprintf(bp, ",FRAME-RATE=%.3f", av_q2d(t->fps));
    if (a)
        av_bprintf(bp, ",AUDIO=\"audio\"");
    av_bprintf(bp, "\n%s/" CS_NAME_PLAYLIST "\n", t->name);
}

int cs_playlist_master(const struct cs_pkg *p, AVBPrint *bp)
{
    const struct cs_track *a = p->atrack >= 0 ? &p->tracks[p->atrack] : NULL;
    int nvideo = 0;

    for (int i = 0; i < p->ntracks; i++) {
        if (!p->tracks[i].total_segs)
            return 0;
        nvideo += !p->tracks[i].audio;
    }
    av_bprintf(bp, "#EXTM3U\n#EXT-X-VERSION:%d\n", p->ts ? 3 : 7);
    if (!p->ts)
        av_bprintf(bp, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    if (a && nvideo) {
        av_bprintf(bp, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\","
                   "NAME=\"%s\",DEFAULT=YES,AUTOSELECT=YES,",
                   a->lang[0] ? a->lang : "audio");
        if (a->lang[0])
            av_bprintf(bp, "LANGUAGE=\"%s\",", a->lang);
        av_bprintf(bp, "CHANNELS=\"%d\",URI=\"audio/" CS_NAME_PLAYLIST
                   "\"\n", a->channels);
    }
    for (int i = 0; i < p->ntracks; i++) {
        const struct cs_track *t = &p->tracks[i];

        if (!t->audio)
            stream_inf(p, t, a, bp);
        else if (!nvideo)
            stream_inf(p, t, NULL, bp);
    }
    return 1;
}
