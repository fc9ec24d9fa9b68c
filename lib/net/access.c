/* access.c: the listeners' access table. */
#include "net/access.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/mem.h>

#include "err.h"

static int add_entry(struct cs_access *a, const char *id, const char *pass,
                     unsigned modes)
{
    struct cs_access_entry *e;

    e = av_realloc_array(a->e, (size_t)a->n + 1, sizeof(*e));
    if (!e)
        return AVERROR(ENOMEM);
    a->e = e;
    e += a->n;
    e->streamid = av_strdup(id);
    e->passphrase = strcmp(pass, "-") ? av_strdup(pass) : NULL;
    e->modes = modes;
    a->n++;
    return e->streamid ? 0 : AVERROR(ENOMEM);
}

static int parse_line(struct cs_access *a, char *line, const char *path,
                      int no, struct cs_err *err)
{
    char *save = NULL, *id, *pass, *mode;
    unsigned modes = 0;
    size_t plen;

    line[strcspn(line, "#\r\n")] = 0;
    id = strtok_r(line, " \t", &save);
    if (!id)
        return 0;
    pass = strtok_r(NULL, " \t", &save);
    mode = strtok_r(NULL, " \t", &save);
    if (mode && !strcmp(mode, "publish"))
        modes = CS_ACCESS_PUBLISH;
    else if (mode && !strcmp(mode, "play"))
        modes = CS_ACCESS_PLAY;
    else if (mode && !strcmp(mode, "both"))
        modes = CS_ACCESS_PUBLISH | CS_ACCESS_PLAY;
    plen = pass ? strlen(pass) : 0;
    if (!modes || strtok_r(NULL, " \t", &save) ||
        (strcmp(pass, "-") && (plen < 10 || plen > 79)))
        return cs_err_set(err, CS_EUSAGE, "invalid access file '%s': line "
                          "%d: expected STREAMID PASSPHRASE|- "
                          "publish|play|both (passphrase 10 to 79 "
                          "characters)", path, no);
    return add_entry(a, id, pass, modes);
}

static int load(struct cs_access **out, const char *path,
                struct cs_err *err)
{
    struct cs_access *a = NULL;
    FILE *f = NULL;
    char line[1024];
    int ret = 0, no = 0;

    *out = NULL;
    f = fopen(path, "r");
    if (!f)
        return AVERROR(errno);
    a = av_mallocz(sizeof(*a));
    if (!a) {
        ret = AVERROR(ENOMEM);
        goto out;
    }
    while (ret >= 0 && fgets(line, sizeof(line), f))
        ret = parse_line(a, line, path, ++no, err);
out:
    fclose(f);
    if (ret < 0)
        cs_access_free(&a);
    *out = a;
    return ret;
}

int cs_access_load(struct cs_access **out, const char *path)
{
    return load(out, path, NULL);
}

int cs_access_check(const char *path, struct cs_err *err)
{
    struct cs_access *a = NULL;
    int ret = load(&a, path, err);

    cs_access_free(&a);
    return ret;
}

void cs_access_free(struct cs_access **pa)
{
    struct cs_access *a = *pa;

    if (!a)
        return;
    for (int i = 0; i < a->n; i++) {
        av_free(a->e[i].streamid);
        av_free(a->e[i].passphrase);
    }
    av_free(a->e);
    av_freep(pa);
}

/* "#!::r=live/cat,m=publish": copy the r= value into RES, read m=. */
static void parse_sid(const char *sid, char *res, size_t size,
                      unsigned *mode)
{
    char buf[512];
    char *save = NULL;

    snprintf(res, size, "%s", sid);
    if (strncmp(sid, "#!::", 4))
        return;
    snprintf(buf, sizeof(buf), "%s", sid + 4);
    for (char *kv = strtok_r(buf, ",", &save); kv;
         kv = strtok_r(NULL, ",", &save)) {
        if (!strncmp(kv, "r=", 2))
            snprintf(res, size, "%s", kv + 2);
        else if (!strcmp(kv, "m=publish"))
            *mode = CS_ACCESS_PUBLISH;
        else if (!strcmp(kv, "m=request"))
            *mode = CS_ACCESS_PLAY;
    }
}

const struct cs_access_entry *cs_access_find(const struct cs_access *a,
                                             const char *streamid,
                                             unsigned *mode)
{
    char res[512];

    *mode = 0;
    parse_sid(streamid ? streamid : "", res, sizeof(res), mode);
    for (int i = 0; a && i < a->n; i++)
        if (!strcmp(a->e[i].streamid, res))
            return &a->e[i];
    return NULL;
}

int cs_secret_equal(const char *a, size_t la, const char *b, size_t lb)
{
    volatile unsigned char diff = la != lb;
    size_t n = la > lb ? la : lb;

    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
    return diff == 0;
}

const struct cs_access_entry *cs_access_find_key(const struct cs_access *a,
                                                 const char *key,
                                                 unsigned mode)
{
    const struct cs_access_entry *found = NULL;
    size_t klen = strlen(key);

    for (int i = 0; a && i < a->n; i++) {
        const char *s = a->e[i].passphrase;
        int eq = s && cs_secret_equal(s, strlen(s), key, klen);

        if (eq && (a->e[i].modes & mode) && !found)
            found = &a->e[i];
    }
    return found;
}
