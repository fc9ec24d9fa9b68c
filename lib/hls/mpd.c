/* hls/mpd.c: the DASH MPD over the same CMAF files as HLS: SegmentTemplate
 * with $Number$ and a SegmentTimeline per Representation, a Period per
 * discontinuity, and low-latency (chunked CMAF) attributes when parts are
 * on, with the segment being written named ahead in a folder. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "hls/names.h"
#include "hls/internal.h"

static void iso_time(AVBPrint *bp, const char *attr, int64_t us)
{
    time_t s = (time_t)(us / 1000000);
    struct tm tm;
    char buf[32];

    gmtime_r(&s, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    av_bprintf(bp, " %s=\"%s.%03dZ\"", attr, buf, (int)(us / 1000 % 1000));
}

/* Whether the MPD names the segment being written. A low-latency player
 * can aim no closer to the live edge than the newest segment it knows of:
 * with finished segments only, a segment and an MPD update behind (dash.js
 * aimed at 1.7 s stalled against a 2.1-2.5 s floor). Only for outputs in
 * folders, which cs-serve serves a segment from as its parts land; an
 * object store has the segment only once it is whole. */
static int announces(const struct cs_pkg *p)
{
    if (!p->ll || p->ended || !p->nouts)
        return 0;
    for (int i = 0; i < p->nouts; i++)
        if (strcmp(p->outs[i].st->ops->kind, "dir"))
            return 0;
    return 1;
}

/* The segment being written, when the MPD names it: it starts where the
 * last finished one ends and lasts what the cutter aims at (its grid); the
 * MPD written when it is finished gives its true length. NULL if none. */
static const struct cs_seg *open_segment(const struct cs_pkg *p,
                                         const struct cs_track *t,
                                         int64_t dseq, struct cs_seg *buf)
{
    const struct cs_seg *last = t->nsegs ? &t->segs[t->nsegs - 1] : NULL;

    if (!announces(p) || !t->open || !last || last->gap ||
        last->dseq != dseq || t->cur.dseq != dseq || t->goal <= t->seg_start)
        return NULL;
    memset(buf, 0, sizeof(*buf));
    buf->t = last->t + last->d;
    buf->d = av_rescale_q(t->goal - t->seg_start, t->tb, t->mtb);
    buf->dseq = dseq;
    return buf;
}

static void timeline(const struct cs_pkg *p, const struct cs_track *t,
                     int64_t dseq, AVBPrint *bp)
{
    const struct cs_seg *run = NULL;
    struct cs_seg buf;
    const struct cs_seg *open = open_segment(p, t, dseq, &buf);
    int r = 0, n = t->nsegs + (open != NULL);

    av_bprintf(bp, "          <SegmentTimeline>\n");
    for (int i = 0; i <= n; i++) {
        const struct cs_seg *s = i < t->nsegs ? &t->segs[i] :
                                 i < n ? open : NULL;

        if (s && (s->dseq != dseq || s->gap))
            continue;
        if (s && run && s->d == run->d && !s->gap &&
            s->t == run->t + (r + 1) * run->d) {
            r++;
            continue;
        }
        if (run) {
            av_bprintf(bp, "            <S t=\"%lld\" d=\"%lld\"",
                       (long long)run->t, (long long)run->d);
            if (r)
                av_bprintf(bp, " r=\"%d\"", r);
            av_bprintf(bp, "/>\n");
        }
        run = s;
        r = 0;
    }
    av_bprintf(bp, "          </SegmentTimeline>\n");
}

static const struct cs_seg *first_in(const struct cs_track *t, int64_t dseq)
{
    for (int i = 0; i < t->nsegs; i++)
        if (t->segs[i].dseq == dseq)
            return &t->segs[i];
    return NULL;
}

static void representation(const struct cs_pkg *p, const struct cs_track *t,
                           int64_t dseq, AVBPrint *bp)
{
    const struct cs_seg *s = first_in(t, dseq);
    char init[CS_NAME_MAX];

    cs_name_init(init, sizeof(init), t->name, s->init);
    av_bprintf(bp, "      <Representation id=\"%s\" bandwidth=\"%lld\" "
               "codecs=\"%s\"", t->name, (long long)FFMAX(t->peak_bps, 1),
               t->codecs);
    if (t->audio)
        av_bprintf(bp, " audioSamplingRate=\"%d\">\n        "
                   "<AudioChannelConfiguration schemeIdUri=\"urn:mpeg:dash:"
                   "23003:3:audio_channel_configuration:2011\" value=\"%d\"/>"
                   "\n", t->rate, t->channels);
    else
        av_bprintf(bp, " width=\"%d\" height=\"%d\" frameRate=\"%d/%d\" "
                   "sar=\"1:1\">\n", s->width, s->height, t->fps.num,
                   t->fps.den);
    av_bprintf(bp, "        <SegmentTemplate timescale=\"%d\" "
               "presentationTimeOffset=\"%lld\" startNumber=\"%lld\" "
               "initialization=\"%s\" media=\"%s/$Number$.m4s\"",
               t->mtb.den, (long long)s->pto, (long long)s->seq, init,
               t->name);
    if (p->ll && !p->ended)
        av_bprintf(bp, " availabilityTimeOffset=\"%.3f\" "
                   "availabilityTimeComplete=\"false\"",
                   p->cfg->segment - p->cfg->part);
    av_bprintf(bp, ">\n");
    timeline(p, t, dseq, bp);
    av_bprintf(bp, "        </SegmentTemplate>\n      </Representation>\n");
}

/* The capture time of a media time (media/captime.h), when the stream
 * carries one: the newest segment of the Period that has it, in the first
 * Representation's timescale (dash.js reads the set's first). A player
 * takes it for the latency its ServiceDescription means; the availability
 * timeline stays on the packager's clock (segments exist then). */
static void producer_time(const struct cs_pkg *p, int audio, int64_t dseq,
                          AVBPrint *bp)
{
    const struct cs_seg *cap = NULL;

    for (int i = 0; i < p->ntracks && !cap; i++) {
        const struct cs_track *t = &p->tracks[i];

        if (t->audio != audio || !first_in(t, dseq))
            continue;
        for (int k = t->nsegs - 1; k >= 0 && !cap; k--)
            if (t->segs[k].dseq == dseq && t->segs[k].captured &&
                !t->segs[k].gap && t->segs[k].t >= 0)
                cap = &t->segs[k];
        if (!cap)
            return;
    }
    if (!cap)
        return;
    av_bprintf(bp, "      <ProducerReferenceTime id=\"0\" type=\"encoder\"");
    iso_time(bp, "wallClockTime", cap->clock_us);
    av_bprintf(bp, " presentationTime=\"%lld\">\n        <UTCTiming "
               "schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\" "
               "value=\"/time\"/>\n      </ProducerReferenceTime>\n",
               (long long)cap->t);
}

static void adaptation(const struct cs_pkg *p, int audio, int64_t dseq,
                       AVBPrint *bp)
{
    int any = 0;

    for (int i = 0; i < p->ntracks; i++)
        any |= p->tracks[i].audio == audio && first_in(&p->tracks[i], dseq);
    if (!any)
        return;
    av_bprintf(bp, "    <AdaptationSet id=\"%d\" contentType=\"%s\" "
               "mimeType=\"%s/mp4\" segmentAlignment=\"true\" "
               "startWithSAP=\"1\"", audio, audio ? "audio" : "video",
               audio ? "audio" : "video");
    if (audio && p->atrack >= 0 && p->tracks[p->atrack].lang[0])
        av_bprintf(bp, " lang=\"%s\"", p->tracks[p->atrack].lang);
    av_bprintf(bp, ">\n");
    producer_time(p, audio, dseq, bp);
    for (int i = 0; i < p->ntracks; i++)
        if (p->tracks[i].audio == audio && first_in(&p->tracks[i], dseq))
            representation(p, &p->tracks[i], dseq, bp);
    av_bprintf(bp, "    </AdaptationSet>\n");
}

static void mpd_head(const struct cs_pkg *p, AVBPrint *bp)
{
    const struct cs_pkg_config *c = p->cfg;
    double total = 0;

    for (int i = 0; i < p->tracks[0].nsegs; i++)
        total += p->tracks[0].segs[i].dur;
    av_bprintf(bp, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
               "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
               "profiles=\"urn:mpeg:dash:profile:isoff-live:2011,"
               "urn:mpeg:dash:profile:cmaf:2019\"");
    if (p->cfg->vod || p->ended) {
        av_bprintf(bp, " type=\"static\" mediaPresentationDuration="
                   "\"PT%.3fS\"", total);
    } else {
        av_bprintf(bp, " type=\"dynamic\"");
        iso_time(bp, "availabilityStartTime", p->ast_us);
        iso_time(bp, "publishTime", cs_wall_us());
        av_bprintf(bp, " minimumUpdatePeriod=\"PT%gS\" "
                   "timeShiftBufferDepth=\"PT%gS\" "
                   "suggestedPresentationDelay=\"PT%gS\"", c->segment,
                   c->window * c->segment,
                   p->ll ? 3 * c->part + c->segment : 3 * c->segment);
    }
    av_bprintf(bp, " minBufferTime=\"PT%gS\" maxSegmentDuration=\"PT%dS\">\n",
               c->segment, p->target);
    /* The latency a low-latency player aims at, and the rates it may play
     * at to get there and stay. The target must hold with any origin: one
     * that hands out only finished segments (a folder over plain HTTP, S3)
     * has the newest one a segment late, so a segment and three parts;
     * behind cs-serve, which serves a segment as it grows, a player may
     * aim lower (bench/latency.sh sets dash.js to 1.7 s). */
    if (p->ll && !p->ended)
        av_bprintf(bp, "  <ServiceDescription id=\"0\"><Latency target=\""
                   "%d\" max=\"%d\" min=\"%d\"/><PlaybackRate "
                   "max=\"1.5\" min=\"0.9\"/></ServiceDescription>\n",
                   (int)((3 * c->part + c->segment) * 1000),
                   (int)(3 * c->segment * 1000), (int)(c->part * 1000));
}

void cs_mpd_write(const struct cs_pkg *p, AVBPrint *bp)
{
    const struct cs_track *t0 = &p->tracks[0];

    mpd_head(p, bp);
    for (int i = 0; i < t0->nsegs; i++) {
        const struct cs_seg *s = &t0->segs[i];

        if (i && s->dseq == t0->segs[i - 1].dseq)
            continue;
        av_bprintf(bp, "  <Period id=\"p%lld\" start=\"PT%.3fS\">\n",
                   (long long)s->dseq, (s->pstart_us - p->ast_us) / 1e6);
        adaptation(p, 0, s->dseq, bp);
        adaptation(p, 1, s->dseq, bp);
        av_bprintf(bp, "  </Period>\n");
    }
    /* The clock of cs-serve (its /time), else the time written here. */
    if (!p->cfg->vod && !p->ended) {
        av_bprintf(bp, "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:"
                   "http-iso:2014\" value=\"/time\"/>\n"
                   "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:"
                   "direct:2014\"");
        iso_time(bp, "value", cs_wall_us());
        av_bprintf(bp, "/>\n");
    }
    av_bprintf(bp, "</MPD>\n");
}
