/* mime.c: the tables of mime.h. */
#include "store/mime.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *ext_of(const char *name)
{
    const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');

    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

enum cs_file_kind cs_file_kind(const char *name)
{
    const char *ext = ext_of(name), *base = strrchr(name, '/');
    long a, b;
    char tail;

    base = base ? base + 1 : name;
    if (!strcmp(ext, "m3u8"))
        return CS_FILE_PLAYLIST;
    if (!strcmp(ext, "mpd"))
        return CS_FILE_MANIFEST;
    if (!strncmp(base, "init", 4))
        return CS_FILE_INIT;
    if (sscanf(base, "%ld.%ld.m4%c", &a, &b, &tail) == 3)
        return CS_FILE_PART;
    if (!strcmp(ext, "m4s") || !strcmp(ext, "ts") || !strcmp(ext, "mp4") ||
        !strcmp(ext, "m4a") || !strcmp(ext, "m4v") || !strcmp(ext, "aac"))
        return CS_FILE_SEGMENT;
    return CS_FILE_OTHER;
}

const char *cs_mime_type(const char *name)
{
    static const char *const map[][2] = {
        { "m3u8", "application/vnd.apple.mpegurl" },
        { "mpd", "application/dash+xml" },
        { "ts", "video/mp2t" },
        { "m4s", "video/iso.segment" },
        { "mp4", "video/mp4" },
        { "m4v", "video/mp4" },
        { "m4a", "audio/mp4" },
        { "aac", "audio/aac" },
        { "mkv", "video/x-matroska" },
        { "webm", "video/webm" },
        { "vtt", "text/vtt" },
        { "html", "text/html; charset=utf-8" },
        { "js", "text/javascript" },
        { "map", "application/json" },
        { "json", "application/json" },
        { "css", "text/css" },
        { "jpg", "image/jpeg" },
        { "png", "image/png" },
        { "txt", "text/plain" },
    };
    const char *ext = ext_of(name);

    for (size_t i = 0; *ext && i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcasecmp(ext, map[i][0]))
            return map[i][1];
    return "application/octet-stream";
}

/* One row per kind: what the packager stores with an object (an origin
 * replays it; "public" is the origin's to add), and what cs-serve sends,
 * where an init segment may be rewritten by a restarted packager. */
const char *cs_cache_control(enum cs_file_kind kind, enum cs_cache_for who)
{
    static const char *const policy[][2] = {
        [CS_FILE_OTHER] = { "no-store", "no-cache" },
        [CS_FILE_PLAYLIST] = { "max-age=1", "public, max-age=1" },
        [CS_FILE_MANIFEST] = { "max-age=1", "public, max-age=1" },
        [CS_FILE_INIT] = { "max-age=31536000, immutable",
                           "public, max-age=60" },
        [CS_FILE_SEGMENT] = { "max-age=31536000, immutable",
                              "public, max-age=31536000, immutable" },
        [CS_FILE_PART] = { "max-age=31536000, immutable",
                           "public, max-age=31536000, immutable" },
        [CS_FILE_STATE] = { "no-store", "no-cache" },
    };

    if ((unsigned)kind >= sizeof(policy) / sizeof(policy[0]))
        kind = CS_FILE_OTHER;
    return policy[kind][who == CS_CACHE_SERVED];
}
