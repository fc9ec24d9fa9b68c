/* ladder/spec.c: the --rungs specification, parsed and fitted to a source. */
#include "ladder/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/hw.h"
#include "err.h"
#include "log.h"
#include "media/scale.h"
#include "opt.h"

static int parse_size(struct cs_rung *r, const char *s)
{
    size_t len = strlen(s);
    long h;

    if (len > 1 && (s[len - 1] == 'p' || s[len - 1] == 'P')) {
        char num[16];

        if (len > sizeof(num))
            return CS_EUSAGE;
        memcpy(num, s, len - 1);
        num[len - 1] = '\0';
        if (cs_parse_int(num, 2, 16384, &h) < 0)
            return CS_EUSAGE;
        r->box_w = 0;
        r->box_h = (int)h;
        return 0;
    }
    if (cs_parse_size(s, &r->box_w, &r->box_h) < 0 || r->box_w < 2 ||
        r->box_h < 2 || r->box_w > 16384 || r->box_h > 16384)
        return CS_EUSAGE;
    return 0;
}

/* "3M" or "3M@30". */
static int parse_rate(struct cs_rung *r, char *s, const char **why)
{
    char *at = strchr(s, '@');

    r->fps_cap = (AVRational){ 0, 1 };
    if (at) {
        *at = '\0';
        if (cs_parse_rational(at + 1, &r->fps_cap) < 0 ||
            r->fps_cap.num <= 0) {
            *why = "a frame rate after '@'";
            return CS_EUSAGE;
        }
    }
    if (cs_parse_rate(s, &r->enc.bitrate) < 0 || r->enc.bitrate <= 0) {
        *why = "a bit rate like 3M";
        return CS_EUSAGE;
    }
    return 0;
}

static const struct {
    const char *key;
    enum cs_rung_set bit;
    const char *expected;
} settings[] = {
    { "codec", CS_RUNG_CODEC, "h264, hevc, av1 or a hardware encoder "
      "(h264_nvenc, hevc_vaapi...)" },
    { "rc", CS_RUNG_RC, "cbr, vbr or crf" },
    { "gop", CS_RUNG_GOP, "seconds from 0.04 to 60" },
    { "crf", CS_RUNG_CRF, "a number from 0 to 63" },
};

/* A software codec (h264) or a hardware encoder's name (h264_nvenc). */
static int parse_codec(struct cs_venc_settings *s, const char *val)
{
    enum cs_hw hw = CS_HW_NONE;

    if (cs_vcodec_parse(val, &s->codec) < 0 &&
        cs_hw_parse(val, &s->codec, &hw) < 0)
        return CS_EUSAGE;
    s->hw = hw;
    return 0;
}

int cs_rungs_setting(struct cs_venc_settings *s, const char *key,
                     const char *val, const char **expected)
{
    double d;

    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        if (!strcmp(key, settings[i].key))
            *expected = settings[i].expected;
    if (!strcmp(key, "codec"))
        return parse_codec(s, val);
    if (!strcmp(key, "rc"))
        return cs_rc_parse(val, &s->rc);
    if (!strcmp(key, "gop")) {
        if (cs_parse_seconds(val, &d) < 0 || d < 0.04 || d > 60)
            return CS_EUSAGE;
        s->gop = d;
        return 0;
    }
    if (!strcmp(key, "crf"))
        return cs_parse_double(val, 0, 63, &s->crf);
    *expected = "a key among codec, preset, rc, gop, crf, name";
    return CS_EUSAGE;
}

static int parse_key(struct cs_rung *r, const char *key, const char *val,
                     const char **why)
{
    if (!strcmp(key, "preset") || !strcmp(key, "name")) {
        char *dst = key[0] == 'p' ? r->preset : r->name;

        *why = "a name without spaces or '/'";
        if (!*val || strlen(val) >= sizeof(r->name) || strpbrk(val, "/ \t"))
            return CS_EUSAGE;
        strcpy(dst, val);
        r->set |= key[0] == 'p' ? CS_RUNG_PRESET : 0;
        return 0;
    }
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
        if (!strcmp(key, settings[i].key))
            r->set |= settings[i].bit;
    return cs_rungs_setting(&r->enc, key, val, why);
}

/* Parse one rung; TEXT is modified. */
static int parse_rung(struct cs_rung *r, char *text, const char **why)
{
    char *save = NULL, *field;
    int ret;

    memset(r, 0, sizeof(*r));
    cs_venc_defaults(&r->enc);
    field = strtok_r(text, ":", &save);
    if (!field || parse_size(r, field) < 0) {
        *why = "a size like 720p or 1280x720";
        return CS_EUSAGE;
    }
    if (strlen(field) >= sizeof(r->name)) {
        *why = "a shorter size";
        return CS_EUSAGE;
    }
    strcpy(r->name, field);
    field = strtok_r(NULL, ":", &save);
    if (!field) {
        *why = "SIZE:RATE";
        return CS_EUSAGE;
    }
    ret = parse_rate(r, field, why);
    if (ret < 0)
        return ret;
    while ((field = strtok_r(NULL, ":", &save)) != NULL) {
        char *eq = strchr(field, '=');

        if (!eq) {
            *why = "KEY=VALUE after the rate";
            return CS_EUSAGE;
        }
        *eq = '\0';
        if (parse_key(r, field, eq + 1, why) < 0)
            return CS_EUSAGE;
    }
    return 0;
}

int cs_rungs_parse(const char *spec, struct cs_rung *r, int *n,
                   struct cs_err *err)
{
    char *copy = strdup(spec), *save = NULL, *item;
    int ret = 0;

    *n = 0;
    if (!copy)
        return AVERROR(ENOMEM);
    for (item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char text[256];
        const char *why = "";

        if (*n == CS_LADDER_MAX_RUNGS) {
            ret = cs_err_setx(err, CS_EUSAGE, CS_EXIT_USAGE,
                              "too many rungs in --rungs: at most %d",
                              CS_LADDER_MAX_RUNGS);
            goto out;
        }
        snprintf(text, sizeof(text), "%s", item);
        ret = parse_rung(&r[*n], text, &why);
        if (ret < 0) {
            cs_err_setx(err, ret, CS_EXIT_USAGE,
                        "invalid rung '%s' in --rungs: expected %s", item,
                        why);
            goto out;
        }
        (*n)++;
    }
    if (*n == 0)
        ret = cs_opt_bad(err, "rungs", spec, "SIZE:RATE,...");
out:
    free(copy);
    return ret;
}

void cs_rungs_defaults(struct cs_rung *r, int n,
                       const struct cs_venc_settings *g)
{
    for (int i = 0; i < n; i++) {
        struct cs_venc_settings *e = &r[i].enc;

        if (!(r[i].set & CS_RUNG_CODEC)) {
            e->codec = g->codec;
            e->hw = g->hw;
        }
        if (!(r[i].set & CS_RUNG_RC))
            e->rc = g->rc;
        if (!(r[i].set & CS_RUNG_GOP))
            e->gop = g->gop;
        if (!(r[i].set & CS_RUNG_CRF))
            e->crf = g->crf;
        e->preset = (r[i].set & CS_RUNG_PRESET) ? r[i].preset : g->preset;
        e->zerolatency = g->zerolatency;
        e->threads = g->threads;
        e->global_header = g->global_header;
        e->pix_fmt = g->pix_fmt;
    }
}

static int by_size_desc(const void *a, const void *b)
{
    const struct cs_rung *x = a, *y = b;
    int64_t ax = (int64_t)x->enc.width * x->enc.height;
    int64_t ay = (int64_t)y->enc.width * y->enc.height;

    return ax < ay ? 1 : ax > ay ? -1 : 0;
}

/* Size rung R for the source; 0 when it fits, 1 when it is too large. */
static int fit_one(struct cs_rung *r, int src_w, int src_h, AVRational sar,
                   AVRational src_fps)
{
    int maxw = r->box_w ? r->box_w : 16384;
    int disp_w = src_w;

    if (sar.num > 0 && sar.den > 0)
        disp_w = (int)av_rescale(src_w, sar.num, sar.den);
    cs_fit_size(src_w, src_h, sar, maxw, r->box_h, &r->enc.width,
                &r->enc.height);
    r->enc.fps = src_fps;
    if (r->fps_cap.num > 0 && av_cmp_q(r->fps_cap, src_fps) < 0)
        r->enc.fps = r->fps_cap;
    return r->enc.height > src_h + 1 || r->enc.width > disp_w + 1;
}

int cs_rungs_fit(struct cs_rung *r, int *n, int src_w, int src_h,
                 AVRational sar, AVRational src_fps, int upscale,
                 struct cs_err *err)
{
    int kept = 0;

    for (int i = 0; i < *n; i++) {
        if (fit_one(&r[i], src_w, src_h, sar, src_fps) && !upscale) {
            cs_info("leaving out rung '%s': %dx%d is larger than the "
                    "%dx%d source (--upscale keeps it)", r[i].name,
                    r[i].enc.width, r[i].enc.height, src_w, src_h);
            continue;
        }
        if (kept != i)
            r[kept] = r[i];
        /* The copy moved the preset buffer. */
        if (r[kept].set & CS_RUNG_PRESET)
            r[kept].enc.preset = r[kept].preset;
        kept++;
    }
    *n = kept;
    if (kept == 0)
        return cs_err_set(err, CS_EUSAGE, "no rung fits the %dx%d source: "
                          "every rung is larger (use --upscale or smaller "
                          "rungs)", src_w, src_h);
    qsort(r, (size_t)kept, sizeof(*r), by_size_desc);
    for (int i = 0; i < kept; i++)
        if (r[i].set & CS_RUNG_PRESET)
            r[i].enc.preset = r[i].preset;
    return 0;
}
