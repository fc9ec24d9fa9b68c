/* hls/tracks.c: the renditions of an input: one track per video stream
 * (named from the ladder's label, ladder/variant.h), plus the audio. */
#include <stdio.h>
#include <string.h>

#include <libavutil/avstring.h>

#include "err.h"
#include "hls/codecs.h"
#include "hls/names.h"
#include "hls/internal.h"
#include "ladder/variant.h"

/* The folder of video stream IDX: the ladder's label, else v0, v1 ...;
 * never one a track before it has. */
static void track_name(const struct cs_pkg *p, int idx, struct cs_track *t)
{
    struct cs_ladder_variant v;
    int labelled = cs_ladder_variant_get(p->in, idx, &v) >= 0;

    cs_name_folder(t->name, sizeof(t->name), labelled ? v.name : NULL,
                   p->ntracks);
}

static void describe(struct cs_track *t, const AVStream *st)
{
    const AVDictionaryEntry *e;

    t->width = st->codecpar->width;
    t->height = st->codecpar->height;
    t->fps = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    t->channels = st->codecpar->ch_layout.nb_channels;
    e = av_dict_get(st->metadata, "language", NULL, 0);
    if (e && strspn(e->value, "abcdefghijklmnopqrstuvwxyz-") ==
        strlen(e->value) && strcmp(e->value, "und"))
        snprintf(t->lang, sizeof(t->lang), "%s", e->value);
    t->rate = st->codecpar->sample_rate;
}

static int add_track(struct cs_pkg *p, int idx, int audio, int aux)
{
    const AVStream *st = p->in->streams[idx];
    struct cs_track *t = &p->tracks[p->ntracks];
    char ac[32];

    memset(t, 0, sizeof(*t));
    t->par = avcodec_parameters_alloc();
    if (!t->par || avcodec_parameters_copy(t->par, st->codecpar) < 0) {
        avcodec_parameters_free(&t->par);
        return cs_err_code(p->err, AVERROR(ENOMEM), "cannot package '%s'",
                           p->cfg->input);
    }
    t->in_idx = idx;
    t->aux_idx = aux;
    t->audio = audio;
    t->tb = st->time_base;
    t->last_dts = AV_NOPTS_VALUE;
    t->first_key = AV_NOPTS_VALUE;
    if (audio)
        snprintf(t->name, sizeof(t->name), "audio");
    else
        track_name(p, idx, t);
    for (int i = 0; i < p->ntracks; i++)
        if (!strcmp(p->tracks[i].name, t->name))
            snprintf(t->name, sizeof(t->name), "v%d", p->ntracks);
    describe(t, st);
    if (cs_codecs_string(st->codecpar, t->codecs, sizeof(t->codecs)) < 0) {
        avcodec_parameters_free(&t->par);
        return cs_err_set(p->err, CS_EDATA, "cannot package stream %d of "
                          "'%s': no codecs string for '%s'", idx,
                          p->cfg->input,
                          avcodec_get_name(st->codecpar->codec_id));
    }
    if (aux >= 0 && cs_codecs_string(p->in->streams[aux]->codecpar, ac,
                                     sizeof(ac)) >= 0)
        av_strlcatf(t->codecs, sizeof(t->codecs), ",%s", ac);
    p->ntracks++;
    return 0;
}

int cs_tracks_setup(struct cs_pkg *p)
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
    if (!p->ntracks)
        return cs_err_set(p->err, CS_EDATA, "cannot package '%s': no video "
                          "or audio stream", p->cfg->input);
    return 0;
}
