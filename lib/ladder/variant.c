/* ladder/variant.c: writing and reading the variant labels (variant.h). */
#include "ladder/variant.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "opt.h"

static int set_int(AVDictionary **d, const char *key, int64_t v)
{
    return av_dict_set_int(d, key, v, 0);
}

int cs_ladder_variant_set(AVFormatContext *fmt, int stream,
                          const struct cs_ladder_variant *v)
{
    AVStream *st = fmt->streams[stream];
    AVProgram *prog;
    char fps[32], provider[256];
    int ret;

    snprintf(fps, sizeof(fps), "%d/%d", v->fps.num, v->fps.den);
    ret = av_dict_set(&st->metadata, CS_LADDER_KEY_NAME, v->name, 0);
    if (ret >= 0)
        ret = set_int(&st->metadata, CS_LADDER_KEY_BITRATE, v->bitrate);
    if (ret >= 0)
        ret = set_int(&st->metadata, CS_LADDER_KEY_WIDTH, v->width);
    if (ret >= 0)
        ret = set_int(&st->metadata, CS_LADDER_KEY_HEIGHT, v->height);
    if (ret >= 0)
        ret = av_dict_set(&st->metadata, CS_LADDER_KEY_FPS, fps, 0);
    if (ret < 0)
        return ret;
    prog = av_new_program(fmt, (int)fmt->nb_programs + 1);
    if (!prog)
        return AVERROR(ENOMEM);
    snprintf(provider, sizeof(provider),
             "%s %s=%" PRId64 " %s=%d %s=%d %s=%s", CS_LADDER_PROVIDER,
             CS_LADDER_KEY_BITRATE, v->bitrate, CS_LADDER_KEY_WIDTH,
             v->width, CS_LADDER_KEY_HEIGHT, v->height, CS_LADDER_KEY_FPS,
             fps);
    ret = av_dict_set(&prog->metadata, "service_name", v->name, 0);
    if (ret >= 0)
        ret = av_dict_set(&prog->metadata, "service_provider", provider, 0);
    if (ret < 0)
        return ret;
    av_program_add_stream_index(fmt, prog->id, (unsigned)stream);
    return 0;
}

int cs_ladder_variant_share(AVFormatContext *fmt, int stream)
{
    for (unsigned i = 0; i < fmt->nb_programs; i++)
        av_program_add_stream_index(fmt, fmt->programs[i]->id,
                                    (unsigned)stream);
    return 0;
}

/* Parse "key=value key=value" (the provider string after its first word)
 * into V; unknown keys are skipped. Keys match in any case: Matroska
 * tags come back upper-case. */
static void parse_pairs(const char *s, struct cs_ladder_variant *v)
{
    char buf[256], *save = NULL, *tok;

    snprintf(buf, sizeof(buf), "%s", s);
    for (tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        long n;

        if (!eq)
            continue;
        *eq++ = '\0';
        if (!strcasecmp(tok, CS_LADDER_KEY_BITRATE))
            cs_parse_rate(eq, &v->bitrate);
        else if (!strcasecmp(tok, CS_LADDER_KEY_WIDTH) &&
                 !cs_parse_int(eq, 0, 65536, &n))
            v->width = (int)n;
        else if (!strcasecmp(tok, CS_LADDER_KEY_HEIGHT) &&
                 !cs_parse_int(eq, 0, 65536, &n))
            v->height = (int)n;
        else if (!strcasecmp(tok, CS_LADDER_KEY_FPS))
            cs_parse_rational(eq, &v->fps);
    }
}

/* Whether program P holds STREAM and no other video stream (a rung's
 * program: its video and the shared audio). */
static int rung_program(const AVFormatContext *fmt, const AVProgram *p,
                        int stream)
{
    int has = 0, nvideo = 0;

    for (unsigned k = 0; k < p->nb_stream_indexes; k++) {
        unsigned s = p->stream_index[k];

        has |= s == (unsigned)stream;
        nvideo += s < fmt->nb_streams &&
                  fmt->streams[s]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO;
    }
    return has && nvideo == 1;
}

static int from_program(const AVFormatContext *fmt, int stream,
                        struct cs_ladder_variant *v)
{
    size_t plen = strlen(CS_LADDER_PROVIDER);

    for (unsigned i = 0; i < fmt->nb_programs; i++) {
        const AVProgram *p = fmt->programs[i];
        const AVDictionaryEntry *name, *prov;

        prov = av_dict_get(p->metadata, "service_provider", NULL, 0);
        name = av_dict_get(p->metadata, "service_name", NULL, 0);
        if (!prov || !name || strncmp(prov->value, CS_LADDER_PROVIDER, plen) ||
            !rung_program(fmt, p, stream))
            continue;
        snprintf(v->name, sizeof(v->name), "%s", name->value);
        parse_pairs(prov->value + plen, v);
        return 0;
    }
    return AVERROR(ENOENT);
}

int cs_ladder_variant_get(const AVFormatContext *fmt, int stream,
                          struct cs_ladder_variant *v)
{
    const AVStream *st = fmt->streams[stream];
    const AVDictionaryEntry *e;
    char pairs[256];

    memset(v, 0, sizeof(*v));
    v->fps = (AVRational){ 0, 1 };
    if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
        return AVERROR(ENOENT);
    e = av_dict_get(st->metadata, CS_LADDER_KEY_NAME, NULL, 0);
    if (!e)
        return from_program(fmt, stream, v);
    snprintf(v->name, sizeof(v->name), "%s", e->value);
    pairs[0] = '\0';
    e = NULL;
    while ((e = av_dict_get(st->metadata, "variant_", e,
                            AV_DICT_IGNORE_SUFFIX)) != NULL) {
        size_t len = strlen(pairs);

        snprintf(pairs + len, sizeof(pairs) - len, " %s=%s", e->key,
                 e->value);
    }
    parse_pairs(pairs, v);
    return 0;
}
