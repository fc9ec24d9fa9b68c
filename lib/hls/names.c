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

/* The length of the run of digits at S (at most 19: an int64_t). */
static size_t digits(const char *s)
{
    size_t n = 0;

    while (s[n] >= '0' && s[n] <= '9' && n < 20)
        n++;
    return n <= 19 ? n : 0;
}

/* "N.ext", "N.P.ext" with ext "ts" or "m4s"; "init.mp4", "init-G.mp4". */
static int own_file(const char *f)
{
    size_t n = digits(f);

    if (!strncmp(f, "init", 4)) {
        f += 4;
        if (*f == '-' && digits(f + 1))
            f += 1 + digits(f + 1);
        return !strcmp(f, ".mp4");
    }
    if (!n || f[n] != '.')
        return 0;
    f += n + 1;
    n = digits(f);
    if (n && f[n] == '.')
        f += n + 1;
    return !strcmp(f, "ts") || !strcmp(f, "m4s");
}

int cs_name_is_own(const char *name)
{
    const char *slash = strchr(name, '/');
    size_t len = slash ? (size_t)(slash - name) : 0;

    if (!len || len >= 64 || name[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!path_safe(name[i]))
            return 0;
    return own_file(slash + 1);
}
