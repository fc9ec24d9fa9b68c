/* hls/names.c: file names inside the packager's output (names.h). */
#include "hls/names.h"

#include <stdio.h>
#include <string.h>

void cs_name_segment(char *buf, size_t size, const char *track, int ts,
                     int64_t seq, int part)
{
    const char *ext = ts ? "ts" : "m4s";

    if (part >= 0)
        snprintf(buf, size, "%s/%lld.%d.%s", track, (long long)seq, part,
                 ext);
    else
        snprintf(buf, size, "%s/%lld.%s", track, (long long)seq, ext);
}

void cs_name_init(char *buf, size_t size, const char *track, int gen)
{
    if (gen)
        snprintf(buf, size, "%s/init-%d.mp4", track, gen);
    else
        snprintf(buf, size, "%s/init.mp4", track);
}

void cs_name_playlist(char *buf, size_t size, const char *track)
{
    snprintf(buf, size, "%s/" CS_NAME_PLAYLIST, track);
}

static int path_safe(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

void cs_name_folder(char *buf, size_t size, const char *label, int n)
{
    size_t o = 0;

    for (const char *c = label; c && *c && o + 1 < size && o < 32; c++)
        if (path_safe(*c))
            buf[o++] = *c;
    buf[o] = '\0';
    if (!o || !strcmp(buf, "audio") || buf[0] == '.')
        snprintf(buf, size, "v%d", n);
}
