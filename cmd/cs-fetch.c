/* cs-fetch: the asset manager: ls, get, put, rm, sync, scrape, play. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
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
    OPT_PART = CS_OPT_KEY(0),
    OPT_TO,
    OPT_LIMIT,
    OPT_SINCE,
    OPT_RATE,
    OPT_YTDLP,
    OPT_PRESIGN,
    OPT_EXPIRES,
    OPT_SEED,
    OPT_LOOP,
    OPT_CACHE,
    OPT_CACHE_SIZE,
    OPT_AHEAD,
};

static const struct cs_opt options[] = {
    { "long", 'l', NULL, "ls: print size, ETag and key", NULL, NULL },
    { "part-size", OPT_PART, "BYTES",
      "upload in parts of this size above it (5M at least)", "8M", NULL },
    { "to", OPT_TO, "STORE", "scrape: the store to fill", NULL, "dir" },
    { "limit", OPT_LIMIT, "N", "scrape: take at most N new videos", NULL,
      NULL },
    { "since", OPT_SINCE, "DATE",
      "scrape: only videos uploaded on or after DATE (YYYY-MM-DD)", NULL,
      NULL },
    { "rate", OPT_RATE, "BYTES",
      "scrape: download at most this many bytes a second, like 2M", NULL,
      NULL },
    { "yt-dlp", OPT_YTDLP, "PATH", "scrape: the yt-dlp program", "yt-dlp",
      "file" },
    { "presign", OPT_PRESIGN, NULL,
      "play: print presigned URLs instead of downloading", NULL, NULL },
    { "expires", OPT_EXPIRES, "SECONDS",
      "play --presign: how long a URL stays valid", "86400", NULL },
    { "seed", OPT_SEED, "N", "play: shuffle reproducibly", "random", NULL },
    { "loop", OPT_LOOP, NULL, "play: start a new round forever", NULL,
      NULL },
    { "cache", OPT_CACHE, "DIR", "play: where downloaded assets are kept",
      "./.cs-fetch-cache", "dir" },
    { "cache-size", OPT_CACHE_SIZE, "BYTES",
      "play: the cache's bound (the playing and next asset always stay)",
      "2G", NULL },
    { "ahead", OPT_AHEAD, "N",
      "play: lines printed ahead of the asset playing (0: no pacing)", "1",
      NULL },
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

struct cfg {
    struct cs_stats *stats;
    int64_t bytes;          /* moved by get, for --stats */
    int64_t refused;        /* keys ls could not print one a line */
    int long_ls;
    int64_t part_size;
    struct cs_scrape_cfg scrape;
    struct cs_play_cfg play;
};

static int parse_more(struct cfg *c, int key, const char *arg)
{
    long n;

    switch (key) {
    case OPT_SEED:
        if (cs_parse_int(arg, 0, 0x7fffffff, &n) < 0)
            return cs_opt_bad("seed", arg, "a number");
        c->play.seed = (uint64_t)n;
        c->play.seeded = 1;
        return 0;
    case OPT_LOOP:
        c->play.loop = 1;
        return 0;
    case OPT_CACHE:
        c->play.cache_dir = arg;
        return 0;
    case OPT_CACHE_SIZE:
        if (cs_parse_bytes(arg, &c->play.cache_size) < 0)
            return cs_opt_bad("cache-size", arg, "a size like 2G");
        return 0;
    case OPT_AHEAD:
        if (cs_parse_int(arg, 0, 1000, &n) < 0)
            return cs_opt_bad("ahead", arg, "a count from 0 to 1000");
        c->play.ahead = (int)n;
        return 0;
    case OPT_PRESIGN:
        c->play.presign = 1;
        return 0;
    case OPT_EXPIRES:
        if (cs_parse_int(arg, 1, 604800, &n) < 0)
            return cs_opt_bad("expires", arg, "seconds from 1 to 604800");
        c->play.expires = (int)n;
        return 0;
    default:
        return CS_EUSAGE;
    }
}

static int parse(void *opaque, int key, const char *arg)
{
    struct cfg *c = opaque;
    long n;

    switch (key) {
    case 'l':
        c->long_ls = 1;
        return 0;
    case OPT_PART:
        if (cs_parse_bytes(arg, &c->part_size) < 0 ||
            c->part_size < (5 << 20))
            return cs_opt_bad("part-size", arg, "a size of 5M or more");
        return 0;
    case OPT_TO:
        c->scrape.store = arg;
        return 0;
    case OPT_LIMIT:
        if (cs_parse_int(arg, 1, 1000000, &n) < 0)
            return cs_opt_bad("limit", arg, "a count of 1 or more");
        c->scrape.limit = (int)n;
        return 0;
    case OPT_SINCE:
        if (cs_scrape_parse_date(arg, c->scrape.since) < 0)
            return cs_opt_bad("since", arg, "a date like 2024-01-31");
        return 0;
    case OPT_RATE:
        if (cs_parse_bytes(arg, &c->scrape.rate) < 0 || c->scrape.rate <= 0)
            return cs_opt_bad("rate", arg, "a byte rate like 2M");
        return 0;
    case OPT_YTDLP:
        c->scrape.ytdlp = arg;
        return 0;
    default:
        return parse_more(c, key, arg);
    }
}

/* One error line for a failed operation on a location. */
static int fail(const char *what, const char *where, struct cs_store *st,
                int err)
{
    char buf[128];

    if (err != CS_ESTOP)
        cs_error("cannot %s '%s': %s", what, where,
                 cs_store_cause(st, err, buf, sizeof(buf)));
    return err;
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

static int do_ls(struct cfg *c, int argc, char **argv)
{
    struct cs_store *st = NULL;
    int ret;

    if (argc != 1) {
        cs_error("usage: cs-fetch ls STORE");
        return CS_EUSAGE;
    }
    ret = cs_store_open(&st, argv[0], c->part_size);
    if (ret >= 0)
        ret = st->ops->list(st, NULL, print_entry, c);
    if (ret >= 0 && fflush(stdout) == EOF)
        ret = AVERROR(errno);
    if (ret < 0 && (st || ret != CS_EUSAGE))
        fail("list", argv[0], st, ret);
    cs_store_close(&st);
    return ret;
}

/* Errors from opening a store were already reported by the library. */
static int open_object(struct cfg *c, const char *loc, struct cs_store **st,
                       char **key)
{
    int ret = cs_store_open_object(st, key, loc, c->part_size);

    if (ret < 0 && ret != CS_EUSAGE)
        fail("open", loc, NULL, ret);
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

static int do_get(struct cfg *c, int argc, char **argv)
{
    struct cs_store *st = NULL;
    struct progress p = { .stats = c->stats, .total = -1,
                          .t0 = cs_now_us() };
    char *key = NULL;
    const char *out;
    int ret;

    if (argc < 1 || argc > 2) {
        cs_error("usage: cs-fetch get STORE/KEY [FILE|-]");
        return CS_EUSAGE;
    }
    ret = open_object(c, argv[0], &st, &key);
    if (ret < 0)
        return ret;
    out = argc == 2 ? argv[1] : base_name(key);
    /* the size, for a percentage, only where a bar is drawn */
    if (isatty(2) && st->ops->stat(st, key, &p.total, NULL) < 0)
        p.total = -1;
    if (!strcmp(out, "-"))
        ret = cs_store_get_fd(st, key, 1, &p.done, show, &p);
    else
        ret = cs_store_get_file(st, key, out, &p.done, show, &p);
    cs_progress_end();
    c->bytes = p.done;
    if (ret < 0)
        fail("get", argv[0], st, ret);
    cs_store_close(&st);
    free(key);
    return ret;
}

static int do_put(struct cfg *c, int argc, char **argv)
{
    struct cs_store *st = NULL;
    char *key = NULL;
    int ret;

    if (argc != 2) {
        cs_error("usage: cs-fetch put FILE STORE/KEY");
        return CS_EUSAGE;
    }
    if (access(argv[0], R_OK) < 0) {
        ret = AVERROR(errno);
        cs_error("cannot read '%s': %s", argv[0], CS_ERRSTR(ret));
        return ret;
    }
    ret = open_object(c, argv[1], &st, &key);
    if (ret < 0)
        return ret;
    ret = st->ops->put_file(st, key, argv[0], cs_store_mime(key));
    if (ret < 0)
        fail("put", argv[1], st, ret);
    cs_store_close(&st);
    free(key);
    return ret;
}

static int do_rm(struct cfg *c, int argc, char **argv)
{
    int ret = 0;

    if (argc < 1) {
        cs_error("usage: cs-fetch rm STORE/KEY...");
        return CS_EUSAGE;
    }
    for (int i = 0; i < argc && ret >= 0; i++) {
        struct cs_store *st = NULL;
        char *key = NULL;

        ret = open_object(c, argv[i], &st, &key);
        if (ret < 0)
            break;
        /* S3 deletes an absent key without complaint: say it was absent */
        ret = st->ops->stat(st, key, NULL, NULL);
        if (ret >= 0)
            ret = st->ops->remove(st, key);
        if (ret < 0)
            fail("remove", argv[i], st, ret);
        cs_store_close(&st);
        free(key);
    }
    return ret;
}

static int do_sync(struct cfg *c, int argc, char **argv)
{
    struct cs_sync_result res;
    struct cs_store *st = NULL;
    struct stat s;
    int ret;

    if (argc != 2) {
        cs_error("usage: cs-fetch sync DIR STORE");
        return CS_EUSAGE;
    }
    if (stat(argv[0], &s) < 0 || !S_ISDIR(s.st_mode)) {
        cs_error("cannot sync '%s': not a folder", argv[0]);
        return AVERROR(ENOENT);
    }
    ret = cs_store_open(&st, argv[1], c->part_size);
    if (ret >= 0)
        ret = cs_sync_dir(st, argv[0], &res);
    if (ret >= 0 || ret == CS_ESTOP)
        cs_info("%d uploaded, %d unchanged", res.uploaded, res.unchanged);
    else if (ret != CS_EUSAGE || st)
        fail("sync to", argv[1], st, ret);
    cs_store_close(&st);
    return ret;
}

static int do_scrape(struct cfg *c, int argc, char **argv)
{
    struct cs_store *st = NULL;
    int ret;

    if (argc != 1 || !c->scrape.store) {
        cs_error("usage: cs-fetch scrape URL --to STORE");
        return CS_EUSAGE;
    }
    c->scrape.url = argv[0];
    ret = cs_store_open(&st, c->scrape.store, c->part_size);
    if (ret >= 0)
        ret = cs_scrape(st, &c->scrape);
    else if (ret != CS_EUSAGE)
        fail("open", c->scrape.store, NULL, ret);
    cs_store_close(&st);
    return ret;
}

static int do_play(struct cfg *c, int argc, char **argv)
{
    struct cs_store *st = NULL;
    int ret;

    if (argc != 1) {
        cs_error("usage: cs-fetch play STORE");
        return CS_EUSAGE;
    }
    if (c->play.presign && strncmp(argv[0], "s3://", 5)) {
        cs_error("--presign needs an s3:// store");
        return CS_EUSAGE;
    }
    ret = cs_store_open(&st, argv[0], c->part_size);
    if (ret >= 0)
        ret = cs_play(st, &c->play, stdout);
    else if (ret != CS_EUSAGE)
        fail("open", argv[0], NULL, ret);
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
    int (*fn)(struct cfg *c, int argc, char **argv);
} commands[] = {
    { "ls", do_ls }, { "get", do_get }, { "put", do_put }, { "rm", do_rm },
    { "sync", do_sync }, { "scrape", do_scrape }, { "play", do_play },
};

int main(int argc, char **argv)
{
    struct cfg c = { .part_size = 8 << 20 };
    struct cs_common common;
    int first, ret;

    cs_scrape_cfg_init(&c.scrape);
    cs_play_cfg_init(&c.play);
    c.play.refuse = refuse;
    first = cs_opt_parse(&cmd, argc, argv, &common, parse, &c);
    if (first <= 0)
        return first == CS_OPT_EXIT ? CS_EXIT_OK : CS_EXIT_USAGE;
    if (first >= argc) {
        cs_error("no command; try 'cs-fetch --help'");
        return CS_EXIT_USAGE;
    }
    cs_sig_install();
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[first], commands[i].name))
            continue;
        if (cs_opt_stats_open(&c.stats, common.stats) < 0)
            return CS_EXIT_USAGE;
        c.play.stats = c.stats;
        ret = commands[i].fn(&c, argc - first - 1, argv + first + 1);
        cs_stats_close(&c.stats, final_stats(&c, commands[i].name));
        return cs_exit_status(ret);
    }
    cs_error("unknown command '%s'; try 'cs-fetch --help'", argv[first]);
    return CS_EXIT_USAGE;
}
