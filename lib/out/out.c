#include "out/out.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

const char *cs_out_content_type(const char *name)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".m3u8", "application/vnd.apple.mpegurl" },
        { ".mpd", "application/dash+xml" },
        { ".m4s", "video/iso.segment" },
        { ".mp4", "video/mp4" },
        { ".ts", "video/mp2t" },
        { ".json", "application/json" },
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

const char *cs_out_cache_control(enum cs_out_kind kind)
{
    switch (kind) {
    case CS_OUT_PLAYLIST:
        return "max-age=1";
    case CS_OUT_MEDIA:
        return "max-age=31536000, immutable";
    default:
        return "no-store";
    }
}

static const struct cs_out_ops *pick(const char *url)
{
    if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8))
        return &cs_out_http;
    if (!strncmp(url, "s3://", 5))
        return &cs_out_s3;
    if (strstr(url, "://"))
        return NULL;
    return &cs_out_dir;
}

int cs_out_open(struct cs_out **out, const char *url,
                const struct cs_out_opts *opts)
{
    struct cs_out *o;
    int ret;

    *out = NULL;
    o = calloc(1, sizeof(*o));
    if (!o)
        return AVERROR(ENOMEM);
    o->ops = pick(url);
    o->url = strdup(url);
    if (!o->url) {
        ret = AVERROR(ENOMEM);
        goto fail;
    }
    if (!o->ops) {
        cs_error("unsupported output '%s': expected a folder, http(s):// "
                 "or s3://", url);
        ret = CS_EUSAGE;
        goto fail;
    }
    ret = o->ops->open(o, url, opts);
    if (ret < 0)
        goto fail;
    *out = o;
    return 0;
fail:
    free(o->url);
    free(o);
    return ret;
}

int cs_out_put(struct cs_out *o, const char *name, const void *data,
               size_t len, enum cs_out_kind kind)
{
    int ret = o->ops->put(o, name, data, len, cs_out_content_type(name),
                          cs_out_cache_control(kind));

    if (ret < 0)
        cs_error("cannot write '%s' to '%s': %s", name, o->url,
                 CS_ERRSTR(ret));
    return ret;
}

int cs_out_delete(struct cs_out *o, const char *name)
{
    int ret = o->ops->del(o, name);

    if (ret < 0)
        cs_warn("cannot delete '%s' from '%s': %s", name, o->url,
                CS_ERRSTR(ret));
    return ret;
}

int cs_out_get(struct cs_out *o, const char *name, size_t max, char **data,
               size_t *len)
{
    return o->ops->get(o, name, max, data, len);
}

void cs_out_free(struct cs_out **o)
{
    if (!*o)
        return;
    if ((*o)->ops && (*o)->ops->close)
        (*o)->ops->close(*o);
    free((*o)->url);
    free(*o);
    *o = NULL;
}
