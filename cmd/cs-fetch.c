/* cs-fetch: the asset manager: ls, get, put, rm, sync, scrape, play. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "common.h"
#include "err.h"
#include "fetch/play.h"
#include "fetch/scrape.h"
#include "fetch/sync.h"
#include "log.h"
#include "opt.h"
#include "sig.h"
#include "stats.h"
#include "store/key.h"
#include "store/store.h"

enum {
    OPT_SINCE = CS_OPT_KEY(0),
    OPT_SEED,
};

struct cfg {
    struct cs_stats *stats;
    int64_t bytes;          /* moved by get, for --stats */
    int64_t refused;        /* keys ls could not print one a line */
    int long_ls;
    double timeout;         /* seconds, into store.timeout_ms */
    struct cs_store_opts store;
    struct cs_scrape_cfg scrape;
    struct cs_play_cfg play;
};

#define AT(field) offsetof(struct cfg, field)

static const struct cs_opt options[] = {
    { "long", 'l', NULL, "ls: print size, ETag and key", NULL, NULL,
      CS_OPT_FLAG, AT(long_ls) },
    { "part-size", 0, "BYTES",
      "upload in parts of this size above it (5M at least)", "8M", NULL,
      CS_OPT_BYTES, AT(store.part_size), 5 << 20, 5e9 },
    { "timeout", 0, "SECONDS",
      "S3: a request that moves no byte this long is retried", "30", NULL,
      CS_OPT_SECONDS, AT(timeout), 1, 3600 },
    { "to", 0, "STORE", "scrape: the store to fill", NULL, "dir",
      CS_OPT_STRING, AT(scrape.store) },
    { "limit", 0, "N", "scrape: take at most N new videos", NULL, NULL,
      CS_OPT_INT, AT(scrape.limit), 1, 1000000, "all" },
    { "since", OPT_SINCE, "DATE",
      "scrape: only videos uploaded on or after DATE (YYYY-MM-DD)", NULL,
      NULL },
    { "rate", 0, "BYTES",
      "scrape: download at most this many bytes a second, like 2M", NULL,
      NULL, CS_OPT_BYTES, AT(scrape.rate), 1, 1e12, "no limit" },
    { "yt-dlp", 0, "PATH", "scrape: the yt-dlp program", "yt-dlp", "file",
      CS_OPT_STRING, AT(scrape.ytdlp) },
    { "presign", 0, NULL, "play: print presigned URLs instead of "
      "downloading", NULL, NULL, CS_OPT_FLAG, AT(play.presign) },
    { "expires", 0, "SECONDS", "play --presign: how long a URL stays valid",
      "86400", NULL, CS_OPT_INT, AT(play.expires), 1, 604800 },
    { "seed", OPT_SEED, "N", "play: shuffle reproducibly", NULL, NULL,
      .shown = "random" },
    { "loop", 0, NULL, "play: start a new round forever", NULL, NULL,
      CS_OPT_FLAG, AT(play.loop) },
    { "cache", 0, "DIR", "play: where downloaded assets are kept",
      "./.cs-fetch-cache", "dir", CS_OPT_STRING, AT(play.cache_dir) },
    { "cache-size", 0, "BYTES",
      "play: the cache's bound (the playing and next asset always stay)",
      "2G", NULL, CS_OPT_BYTES, AT(play.cache_size), 1, 1e15 },
    { "ahead", 0, "N",
      "play: lines printed ahead of the asset playing (0: no pacing)", "1",
      NULL, CS_OPT_INT, AT(play.ahead), 0, 1000 },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct cs_cmd cmd = {
    "cs-fetch", "[options] COMMAND ARGS...",
    "The asset manager: objects in S3 or a local folder, a channel scraper "
    "and a shuffled play list.",
    options,
    "Commands:\n"
    "  ls STORE                 list the keys of a store\n"
    "  get STORE/KEY [FILE|-]   download an object (to its base name)\n"
    "  put FILE STORE/KEY       upload a file\n"
    "  rm STORE/KEY...          delete objects\n"
    "  sync DIR STORE           upload what is new or changed in DIR\n"
    "  scrape URL --to STORE    add a channel's new videos and index.json\n"
    "  play STORE               print a shuffled play list, one line each\n"
    "A STORE is s3://bucket[/prefix] (credentials from AWS_ACCESS_KEY_ID,\n"
    "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL)"
    "\nor a folder.\n"
    "Examples:\n"
    "  cs-fetch put cat.mp4 s3://cats/videos/cat.mp4\n"
    "  cs-fetch play --loop s3://cats | cs-decode --playlist - | "
    "cs-encode -o -\n",
    "ls get put rm sync scrape play",
};


static int parse(void *opaque, int key, const char *arg, struct cs_err *err)
{
    struct cfg *c = opaque;
    long n;

    switch (key) {
    case OPT_SEED:
        if (cs_parse_int(arg, 0, 0x7fffffff, &n) < 0)
            return cs_opt_bad(err, "seed", arg, "a number");
        c->play.seed = (uint64_t)n;
        c->play.seeded = 1;
        return 0;
    case OPT_SINCE:
        if (cs_scrape_parse_date(arg, c->scrape.since) < 0)
            return cs_opt_bad(err, "since", arg, "a date like 2024-01-31");
        return 0;
    default:
        return CS_EUSAGE;
    }
}

/* A key that cannot be written as one line is left out of ls and play. */
static void refuse(void *opaque, const char *key)
{
    char q[512];

    (void)opaque;
    cs_warn("refusing '%s': a control character in the name",
            cs_key_quote(key, q, sizeof(q)));
}

static int print_entry(void *opaque, const struct cs_store_entry *e)
{
    struct cfg *c = opaque;

    if (!cs_key_is_line(e->key)) {
        refuse(c, e->key);
        c->refused++;
        return 0;
    }
    if (c->long_ls)
        printf("%12lld  %-36s  %s\n", (long long)e->size,
               e->etag[0] ? e->etag : "-", e->key);
    else
        printf("%s\n", e->key);
    return ferror(stdout) ? AVERROR(EIO) : 0;
}

static int do_ls(struct cfg *c, int argc, char **argv, struct cs_err *err)
{
    struct cs_store *st = NULL;
    int ret;

    if (argc != 1)
        return cs_err_set(err, CS_EUSAGE, "usage: cs-fetch ls STORE");
    ret = cs_store_open(&st, argv[0], &c->store, err);
    if (ret >= 0)
        ret = cs_store_list(st, NULL, print_entry, c);
    if (ret >= 0 && fflush(stdout) == EOF)
        ret = AVERROR(errno);
    if (ret < 0)
        cs_store_fail(st, err, ret, "cannot list '%s'", argv[0]);
    cs_store_close(&st);
    return ret;
}

static int open_object(struct cfg *c, const char *loc, struct cs_store **st,
                       char **key, struct cs_err *err)
{
    int ret = cs_store_open_object(st, key, loc, &c->store, err);

    if (ret < 0)
        cs_err_code(err, ret, "cannot open '%s'", loc);
    return ret;
}

static const char *base_name(const char *key)
{
    const char *slash = strrchr(key, '/');

    return slash ? slash + 1 : key;
}

struct progress {
    struct cs_stats *stats;
    int64_t done;
    int64_t total;      /* -1: unknown */
    int64_t t0;
};

static void show(void *opaque, int64_t done)
{
    struct progress *p = opaque;
    double s = (cs_now_us() - p->t0) / 1e6;
    double mbs = s > 0 ? done / s / 1e6 : 0;

    if (cs_stats_due(p->stats)) {
        cJSON *o = cJSON_CreateObject();

        if (o) {
            cJSON_AddNumberToObject(o, "bytes", (double)done);
            cJSON_AddNumberToObject(o, "rate_bps", mbs * 8e6);
            cs_stats_emit(p->stats, o);
        }
    }
    if (p->total > 0)
        cs_progress("%5.1f%% %lld of %lld KiB, %.1f MB/s",
                    100.0 * done / p->total, (long long)(done >> 10),
                    (long long)(p->total >> 10), mbs);
    else
        cs_progress("%lld KiB, %.1f MB/s", (long long)(done >> 10), mbs);
}

static int do_get(struct cfg *c, int argc, char **argv, struct cs_err *err)
{
    struct cs_store *st = NULL;
    struct progress p = { .stats = c->stats, .total = -1,
                          .t0 = cs_now_us() };
    char *key = NULL;
    const char *out;
    int ret;

    if (argc < 1 || argc > 2)
        return cs_err_set(err, CS_EUSAGE,
                          "usage: cs-fetch get STORE/KEY [FILE|-]");
    ret = open_object(c, argv[0], &st, &key, err);
    if (ret < 0)
        return ret;
    out = argc == 2 ? argv[1] : base_name(key);
    /* the size, for a percentage, only where a bar is drawn */
    if (isatty(2) && cs_store_stat(st, key, &p.total, NULL) < 0)
        p.total = -1;
    if (!strcmp(out, "-"))
        ret = cs_store_read_fd(st, key, 1, &p.done, show, &p);
    else
        ret = cs_store_read_file(st, key, out, &p.done, show, &p);
    cs_progress_end();
    c->bytes = p.done;
    if (ret < 0)
        cs_store_fail(st, err, ret, "cannot get '%s'", argv[0]);
    cs_store_close(&st);
    free(key);
    return ret;
}

static int do_put(struct cfg *c, int argc, char **argv, struct cs_err *err)
{
    struct cs_store *st = NULL;
    char *key = NULL;
    int ret;

    if (argc != 2)
        return cs_err_set(err, CS_EUSAGE,
                          "usage: cs-fetch put FILE STORE/KEY");
    if (access(argv[0], R_OK) < 0)
        return cs_err_code(err, AVERROR(errno), "cannot read '%s'", argv[0]);
    ret = open_object(c, argv[1], &st, &key, err);
    if (ret < 0)
        return ret;
    ret = cs_store_write_file(st, key, argv[0], cs_mime_type(key));
    if (ret < 0)
        cs_store_fail(st, err, ret, "cannot put '%s'", argv[1]);
    cs_store_close(&st);
    free(key);
    return ret;
}

static int do_rm(struct cfg *c, int argc, char **argv, struct cs_err *err)
{
    int ret = 0;

    if (argc < 1)
        return cs_err_set(err, CS_EUSAGE, "usage: cs-fetch rm STORE/KEY...");
    for (int i = 0; i < argc && ret >= 0; i++) {
        struct cs_store *st = NULL;
        char *key = NULL;

        ret = open_object(c, argv[i], &st, &key, err);
        if (ret < 0)
            break;
        /* S3 deletes an absent key without complaint: say it was absent */
        ret = cs_store_stat(st, key, NULL, NULL);
        if (ret >= 0)
            ret = cs_store_remove(st, key);
        if (ret < 0)
            cs_store_fail(st, err, ret, "cannot remove '%s'", argv[i]);
        cs_store_close(&st);
        free(key);
    }
    return ret;
}

static int do_sync(struct cfg *c, int argc, char **argv, struct cs_err *err)
{
    struct cs_sync_result res = { 0 };
    struct cs_store *st = NULL;
    struct stat s;
    int ret;

    if (argc != 2)
        return cs_err_set(err, CS_EUSAGE, "usage: cs-fetch sync DIR STORE");
    if (stat(argv[0], &s) < 0 || !S_ISDIR(s.st_mode))
        return cs_err_set(err, AVERROR(ENOENT),
                          "cannot sync '%s': not a folder", argv[0]);
    ret = cs_store_open(&st, argv[1], &c->store, err);
    if (ret >= 0)
        ret = cs_sync_dir(st, argv[0], &res, err);
    if (ret >= 0 || ret == CS_ESTOP)
        cs_info("%d uploaded, %d unchanged", res.uploaded, res.unchanged);
    else
        cs_store_fail(st, err, ret, "cannot sync to '%s'", argv[1]);
    cs_store_close(&st);
    return ret;
}

static int do_scrape(struct cfg *c, int argc, char **argv,
                     struct cs_err *err)
{
    struct cs_store *st = NULL;
    int ret;

    if (argc != 1 || !c->scrape.store)
        return cs_err_set(err, CS_EUSAGE,
                          "usage: cs-fetch scrape URL --to STORE");
    c->scrape.url = argv[0];
    ret = cs_store_open(&st, c->scrape.store, &c->store, err);
    if (ret >= 0)
        ret = cs_scrape(st, &c->scrape, err);
    else
        cs_err_code(err, ret, "cannot open '%s'", c->scrape.store);
    cs_store_close(&st);
    return ret;
}

static int do_play(struct cfg *c, int argc, char **argv, struct cs_err *err)
{
    struct cs_store *st = NULL;
    int ret;

    if (argc != 1)
        return cs_err_set(err, CS_EUSAGE, "usage: cs-fetch play STORE");
    if (c->play.presign && strncmp(argv[0], "s3://", 5))
        return cs_err_set(err, CS_EUSAGE, "--presign needs an s3:// store");
    ret = cs_store_open(&st, argv[0], &c->store, err);
    if (ret >= 0)
        ret = cs_play(st, &c->play, stdout, err);
    else
        cs_err_code(err, ret, "cannot open '%s'", argv[0]);
    cs_store_close(&st);
    return ret;
}

static cJSON *final_stats(const struct cfg *c, const char *command)
{
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "command", command);
    if (!strcmp(command, "get"))
        cJSON_AddNumberToObject(o, "bytes", (double)c->bytes);
    if (!strcmp(command, "ls"))
        cJSON_AddNumberToObject(o, "refused", (double)c->refused);
    if (!strcmp(command, "play")) {
        cJSON_AddNumberToObject(o, "lines", (double)c->play.lines);
        cJSON_AddNumberToObject(o, "skipped", (double)c->play.skipped);
        cJSON_AddNumberToObject(o, "refused", (double)c->play.refused);
        cJSON_AddNumberToObject(o, "rounds", (double)c->play.rounds);
    }
    return o;
}

static const struct {
    const char *name;
    int (*fn)(struct cfg *c, int argc, char **argv, struct cs_err *err);
} commands[] = {
    { "ls", do_ls }, { "get", do_get }, { "put", do_put }, { "rm", do_rm },
    { "sync", do_sync }, { "scrape", do_scrape }, { "play", do_play },
};

int main(int argc, char **argv)
{
    struct cfg c = { 0 };
    struct cs_common common;
    struct cs_err err = { 0 };
    int first, ret, status;

    cs_scrape_cfg_init(&c.scrape);
    cs_play_cfg_init(&c.play);
    c.play.refuse = refuse;
    first = cs_cmd_parse(&cmd, argc, argv, &common, parse, &c, &status);
    if (first <= 0)
        return status;
    if (first >= argc)
        return cs_cmd_usage("no command");
    c.store.timeout_ms = (int)(c.timeout * 1000);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[first], commands[i].name))
            continue;
        ret = cs_cmd_start(&c.stats, common.stats, &err);
        if (ret < 0)
            return cs_cmd_exit(&err, ret);
        c.play.stats = c.stats;
        ret = commands[i].fn(&c, argc - first - 1, argv + first + 1, &err);
        cs_stats_close(&c.stats, final_stats(&c, commands[i].name));
        return cs_cmd_exit(&err, ret);
    }
    return cs_cmd_usage("unknown command '%s'", argv[first]);
}
