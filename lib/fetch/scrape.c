#include "fetch/scrape.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "fetch/play.h"
#include "fetch/proc.h"
#include "log.h"
#include "sig.h"

#define INDEX_KEY "index.json"
#define JSON_MAX ((size_t)256 << 20)
/* the best mp4 at up to 1080p; merged to mp4 when split in two */
#define FORMAT "bv*[height<=1080][ext=mp4]+ba[ext=m4a]/" \
               "b[height<=1080][ext=mp4]/bv*[height<=1080]+ba/b[height<=1080]/b"

void cs_scrape_cfg_init(struct cs_scrape_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->ytdlp = "yt-dlp";
}

int cs_scrape_parse_date(const char *s, char out[9])
{
    int n = 0;

    for (; *s && n < 8; s++) {
        if (isdigit((unsigned char)*s))
            out[n++] = *s;
        else if (*s != '-' || (n != 4 && n != 6))
            return CS_EUSAGE;
    }
    out[n] = 0;
    return n == 8 && !*s ? 0 : CS_EUSAGE;
}

struct scrape {
    struct cs_store *st;
    const struct cs_scrape_cfg *c;
    cJSON *index;       /* {"videos": [...]} */
    char tmpdir[64];
    int added;
    struct cs_err *err;     /* the caller's: what ends the scrape */
};

static int load_index(struct scrape *s)
{
    char *data = NULL;
    size_t len;
    int ret = cs_store_read_mem(s->st, INDEX_KEY, JSON_MAX, &data, &len);

    if (ret == AVERROR(ENOENT)) {
        s->index = cJSON_Parse("{\"videos\": []}");
        return s->index ? 0 : AVERROR(ENOMEM);
    }
    if (ret < 0)
        return cs_store_fail(s->st, s->err, ret, "cannot read '%s' in '%s'",
                             INDEX_KEY, s->st->location);
    s->index = cJSON_ParseWithLength(data, len);
    free(data);
    if (!s->index || !cJSON_IsArray(cJSON_GetObjectItem(s->index,
                                                        "videos")))
        return cs_err_set(s->err, CS_EDATA, "'%s' in '%s' is not an index",
                          INDEX_KEY, s->st->location);
    return 0;
}

static int indexed(const struct scrape *s, const char *id)
{
    const cJSON *v;

    cJSON_ArrayForEach(v, cJSON_GetObjectItem(s->index, "videos")) {
        const char *vid = cJSON_GetStringValue(cJSON_GetObjectItem(v, "id"));

        if (vid && !strcmp(vid, id))
            return 1;
    }
    return 0;
}

/* Run yt-dlp with ARGS on URL and parse its JSON output. yt-dlp reads
 * no config file (one could add --exec), and URL comes after "--", so
 * that it is never taken for an option. */
static int ytdlp_json(const struct scrape *s, const char **args, int n,
                      const char *url, cJSON **out, struct cs_err *err)
{
    const char *argv[24];
    char *text = NULL;
    size_t len, k = 0;
    int ret;

    argv[k++] = s->c->ytdlp;
    argv[k++] = "--ignore-config";
    argv[k++] = "--no-warnings";
    argv[k++] = "--no-progress";
    for (int i = 0; i < n && k < 20; i++)
        argv[k++] = args[i];
    argv[k++] = "--";
    argv[k++] = url;
    argv[k] = NULL;
    ret = cs_proc_run((char *const *)argv, !cs_log_enabled(CS_LOG_VERBOSE),
                      JSON_MAX, &text, &len);
    *out = NULL;
    if (ret > 0) {
        ret = cs_err_set(err, ret == 127 ? CS_EUSAGE : CS_ENET,
                         "'%s' failed (status %d) on '%s'%s", s->c->ytdlp,
                         ret, url, ret == 127 ? ": not found" : "");
    } else if (ret == 0) {
        *out = cJSON_ParseWithLength(text, len);
        if (!*out)
            ret = cs_err_set(err, CS_EDATA, "'%s' printed no JSON for '%s'",
                             s->c->ytdlp, url);
    }
    free(text);
    return ret;
}

/* Only web URLs go to yt-dlp: a channel's entry could hold anything. */
static int web_url(const char *url)
{
    return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
}

static const char *str(const cJSON *o, const char *name)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));

    return v ? v : "";
}

/* A key-safe form of a video id. */
static void safe_id(const char *id, char *out, size_t size)
{
    size_t n = 0;

    for (; *id && n + 1 < size; id++)
        out[n++] = isalnum((unsigned char)*id) || *id == '-' || *id == '_'
                   ? *id : '_';
    out[n] = 0;
}

/* NAME is one file name, not a path: no '/', not hidden, not empty. */
static int plain_name(const char *name)
{
    return *name && *name != '.' && !strchr(name, '/');
}

/* Where yt-dlp put the file it downloaded (malloc'ed), always a file of
 * the scratch folder: a path elsewhere (an id of "../x") gives NULL with
 * *bad set, since the file is uploaded and then removed. */
static char *downloaded_path(const struct scrape *s, const cJSON *info,
                             const char *id, int *bad)
{
    const cJSON *rd = cJSON_GetArrayItem(cJSON_GetObjectItem(info,
                                         "requested_downloads"), 0);
    const char *fp = str(rd, "filepath"), *ext = str(info, "ext");
    size_t tl = strlen(s->tmpdir);
    char *p = NULL;

    *bad = 0;
    if (!strncmp(fp, s->tmpdir, tl) && fp[tl] == '/' &&
        plain_name(fp + tl + 1) && access(fp, R_OK) == 0)
        return strdup(fp);
    if (!*ext)
        ext = "mp4";
    if (!plain_name(id) || !plain_name(ext)) {
        *bad = 1;
        return NULL;
    }
    if (asprintf(&p, "%s/%s.%s", s->tmpdir, id, ext) < 0)
        return NULL;
    return p;
}

static int record(struct scrape *s, const cJSON *info, const char *id,
                  const char *key, double dur)
{
    cJSON *v = cJSON_CreateObject();
    char *text;
    int ret;

    if (!v)
        return AVERROR(ENOMEM);
    cJSON_AddStringToObject(v, "id", id);
    cJSON_AddStringToObject(v, "title", str(info, "title"));
    cJSON_AddStringToObject(v, "upload_date", str(info, "upload_date"));
    cJSON_AddNumberToObject(v, "duration", dur);
    cJSON_AddStringToObject(v, "key", key);
    cJSON_AddItemToArray(cJSON_GetObjectItem(s->index, "videos"), v);
    text = cJSON_Print(s->index);
    if (!text)
        return AVERROR(ENOMEM);
    ret = s->st->ops->write(s->st, INDEX_KEY, text, strlen(text),
                            cs_mime_type(INDEX_KEY), NULL);
    free(text);
    return ret;
}

static int fetch_one(struct scrape *s, const char *id, const char *url,
                     struct cs_err *err)
{
    char out[128], rate[32], key[160], *path = NULL;
    const char *args[16] = { "-J", "--no-simulate", "--no-playlist",
                             "-f", FORMAT, "--merge-output-format", "mp4",
                             "-o", out };
    int n = 9, ret, bad;
    cJSON *info = NULL;

    snprintf(out, sizeof(out), "%s/%%(id)s.%%(ext)s", s->tmpdir);
    if (s->c->rate > 0) {
        snprintf(rate, sizeof(rate), "%lld", (long long)s->c->rate);
        args[n++] = "--limit-rate";
        args[n++] = rate;
    }
    ret = ytdlp_json(s, args, n, url, &info, err);
    if (ret < 0)
        goto out;
    if (s->c->since[0] && *str(info, "upload_date") &&
        strcmp(str(info, "upload_date"), s->c->since) < 0)
        goto out;
    path = downloaded_path(s, info, id, &bad);
    if (bad) {
        ret = cs_err_set(err, CS_EDATA, "'%s': not a file name yt-dlp "
                         "makes in '%s'", id, s->tmpdir);
        goto out;
    }
    safe_id(id, key, sizeof(key) - 12);
    memmove(key + 7, key, strlen(key) + 1);
    memcpy(key, "videos/", 7);
    strcat(key, ".mp4");
    ret = path ? cs_store_write_file(s->st, key, path, "video/mp4")
               : AVERROR(ENOMEM);
    if (ret >= 0)
        ret = record(s, info, id, key, cs_play_duration(path));
    if (ret >= 0) {
        s->added++;
        cs_info("'%s' added as '%s': %s", id, key, str(info, "title"));
    } else {
        cs_store_fail(s->st, err, ret, "cannot store '%s' in '%s'", id,
                      s->st->location);
    }
out:
    if (path)
        unlink(path);
    free(path);
    cJSON_Delete(info);
    return ret;
}

/* One video of a channel: a bad one does not stop the channel (it is a
 * warning); a store or a yt-dlp that is gone does. */
static int fetch_one_of_many(struct scrape *s, const char *id,
                             const char *url)
{
    struct cs_err e = { 0 };
    int ret = fetch_one(s, id, url, &e);

    if (ret == CS_ESTOP || ret == CS_EUSAGE ||
        (ret < 0 && ret != CS_ENET && ret != CS_EDATA)) {
        if (s->err && !cs_err_failed(s->err))
            *s->err = e;
        return ret;
    }
    if (ret < 0)
        cs_warn("%s", e.msg);
    return 0;
}

static int walk_entries(struct scrape *s, const cJSON *list)
{
    const cJSON *entries = cJSON_GetObjectItem(list, "entries");
    const cJSON *e;
    int ret = 0;

    if (!cJSON_IsArray(entries)) {
        const char *url = *str(list, "webpage_url") ?
                          str(list, "webpage_url") : s->c->url;

        if (!web_url(url))
            return cs_err_set(s->err, CS_EDATA, "'%s' is not an http(s) URL",
                              url);
        return fetch_one(s, str(list, "id"), url, s->err);
    }
    cJSON_ArrayForEach(e, entries) {
        const char *id = str(e, "id");
        const char *url = *str(e, "url") ? str(e, "url")
                                          : str(e, "webpage_url");

        if (s->c->limit && s->added >= s->c->limit)
            break;
        if (cs_stopping())
            return CS_ESTOP;
        if (!*id || !*url || indexed(s, id))
            continue;
        if (!web_url(url)) {
            cs_warn("skipping '%s': '%s' is not an http(s) URL", id, url);
            continue;
        }
        if (s->c->since[0] && *str(e, "upload_date") &&
            strcmp(str(e, "upload_date"), s->c->since) < 0)
            continue;
        ret = fetch_one_of_many(s, id, url);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* Remove what yt-dlp left in the scratch folder (".part" files of a
 * download that was stopped), then the folder. */
static void remove_tmpdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d && (e = readdir(d)) != NULL) {
        char *p = NULL;

        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (asprintf(&p, "%s/%s", dir, e->d_name) >= 0)
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int cs_scrape(struct cs_store *st, const struct cs_scrape_cfg *c,
              struct cs_err *err)
{
    struct scrape s = { .st = st, .c = c, .err = err };
    const char *args[] = { "--flat-playlist", "-J" };
    const char *tmp = getenv("TMPDIR");
    cJSON *list = NULL;
    int ret;

    snprintf(s.tmpdir, sizeof(s.tmpdir), "%.40s/cs-fetch-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s.tmpdir))
        return cs_err_code(err, AVERROR(errno), "cannot create a folder in "
                           "'%s'", tmp && *tmp ? tmp : "/tmp");
    ret = load_index(&s);
    if (ret >= 0)
        ret = ytdlp_json(&s, args, 2, c->url, &list, err);
    if (ret >= 0 && !cJSON_IsArray(cJSON_GetObjectItem(list, "entries")) &&
        indexed(&s, str(list, "id")))
        ret = 0;
    else if (ret >= 0)
        ret = walk_entries(&s, list);
    if (ret >= 0 || ret == CS_ESTOP)
        cs_info("%d new video%s in '%s'", s.added, s.added == 1 ? "" : "s",
                st->location);
    cJSON_Delete(list);
    cJSON_Delete(s.index);
    remove_tmpdir(s.tmpdir);
    return ret < 0 ? ret : s.added;
}
