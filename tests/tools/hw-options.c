/* hw-options: what cs-encode asks of a hardware encoder (lib/encode/hw.h).
 *
 *   hw-options ENCODER RC [zerolatency] [crf=N] [preset=NAME]
 *
 * prints the AVDictionary cs_hw_options() makes for ENCODER (h264_nvenc,
 * hevc_vaapi, ...) with rate control RC (cbr, vbr, crf) at 2 Mb/s, a 2 s
 * GOP at 25 fps: one "key=value" a line, sorted. When this libavcodec has
 * the encoder, every key is also looked up among its options (its own and
 * AVCodecContext's): a key it does not know is printed as
 * "unknown option KEY" and the exit status is 1. An encoder libavcodec
 * lacks is said on standard error ("not in this libavcodec"). No device is
 * needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>

#include "encode/hw.h"
#include "media/encode.h"

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether ENC (its private class or AVCodecContext's) has option KEY. */
static int known(const AVCodec *enc, const char *key)
{
    const AVClass *ctx = avcodec_get_class(), *priv = enc->priv_class;

    if (priv && av_opt_find(&priv, key, NULL, 0, AV_OPT_SEARCH_FAKE_OBJ))
        return 1;
    return av_opt_find(&ctx, key, NULL, 0, AV_OPT_SEARCH_FAKE_OBJ) != NULL;
}

static int parse_args(int argc, char **argv, struct cs_venc_settings *s,
                      enum cs_hw *hw)
{
    cs_venc_defaults(s);
    if (argc < 3 || cs_hw_parse(argv[1], &s->codec, hw) < 0 ||
        cs_rc_parse(argv[2], &s->rc) < 0)
        return -1;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "zerolatency"))
            s->zerolatency = 1;
        else if (!strncmp(argv[i], "crf=", 4))
            s->crf = atof(argv[i] + 4);
        else if (!strncmp(argv[i], "preset=", 7))
            s->preset = argv[i] + 7;
        else
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cs_venc_settings s;
    enum cs_hw hw;
    AVDictionary *o = NULL;
    const AVDictionaryEntry *e = NULL;
    const AVCodec *enc;
    char *lines[64];
    int n = 0, status = 0;

    if (parse_args(argc, argv, &s, &hw) < 0) {
        fprintf(stderr, "usage: hw-options ENCODER cbr|vbr|crf "
                "[zerolatency] [crf=N] [preset=NAME]\n");
        return 2;
    }
    if (cs_hw_options(&o, &s, hw) < 0)
        return 1;
    enc = avcodec_find_encoder_by_name(argv[1]);
    if (!enc)
        fprintf(stderr, "%s: not in this libavcodec\n", argv[1]);
    while ((e = av_dict_get(o, "", e, AV_DICT_IGNORE_SUFFIX)) && n < 64) {
        if (asprintf(&lines[n], "%s=%s", e->key, e->value) < 0)
            return 1;
        n++;
        if (enc && !known(enc, e->key)) {
            printf("unknown option %s\n", e->key);
            status = 1;
        }
    }
    qsort(lines, (size_t)n, sizeof(lines[0]), cmp);
    for (int i = 0; i < n; i++) {
        puts(lines[i]);
        free(lines[i]);
    }
    av_dict_free(&o);
    return status;
}
