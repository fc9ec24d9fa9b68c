#include "opt.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "stats.h"

enum {
    KEY_VERSION = 0x10000,
    KEY_STATS,
    KEY_DUMP,
    KEY_TYPED = 0x20000,    /* + the index of a typed long-only option */
};

static const struct cs_opt common_opts[] = {
    { "help", 'h', NULL, "show this help and exit", NULL, NULL },
    { "version", KEY_VERSION, NULL, "show the version and exit", NULL, NULL },
    { "quiet", 'q', NULL, "print errors only", NULL, NULL },
    { "verbose", 'v', NULL, "say more (twice: debug, with libav* messages)",
      NULL, NULL },
    { "stats", KEY_STATS, "FILE|-",
      "write statistics as JSON lines, once a second ('-': stderr)", NULL,
      "file" },
    { "dump-options", KEY_DUMP, NULL,
      "print the option table (for completions) and exit", NULL, NULL },
    { NULL, 0, NULL, NULL, NULL, NULL },
};

static size_t count_opts(const struct cs_opt *o)
{
    size_t n = 0;

    while (o && o[n].name)
        n++;
    return n;
}

static void help_table(const struct cs_opt *o)
{
    for (; o->name; o++) {
        char left[64];
        int n;

        if (o->key > 0 && o->key < 128)
            n = snprintf(left, sizeof(left), "  -%c, --%s", o->key, o->name);
        else
            n = snprintf(left, sizeof(left), "      --%s", o->name);
        if (o->arg && n > 0 && (size_t)n < sizeof(left))
            snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->arg);
        if (strlen(left) > 27)
            printf("%s\n%29s", left, "");
        else
            printf("%-29s", left);
        printf("%s", o->help);
        if (o->shown || o->def)
            printf(" (default: %s)", o->shown ? o->shown : o->def);
        printf("\n");
    }
}

void cs_opt_help(const struct cs_cmd *cmd)
{
    printf("Usage: %s %s\n%s\n\nOptions:\n", cmd->name, cmd->synopsis,
           cmd->summary);
    help_table(cmd->opts);
    printf("\nCommon options:\n");
    help_table(common_opts);
    if (cmd->epilog)
        printf("\n%s", cmd->epilog);
    printf("\nExit status: 0 done, 1 failure, 2 usage, 3 bad input, "
           "4 network or peer unavailable (see cs(7)).\n");
}

static void dump_table(const struct cs_opt *o)
{
    for (; o->name; o++) {
        char s[2] = { 0, 0 };

        if (o->key > 0 && o->key < 128)
            s[0] = (char)o->key;
        printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o->name, s,
               o->arg ? o->arg : "", o->complete ? o->complete : "", o->help,
               o->def ? o->def : "", o->shown ? o->shown : "");
    }
}

static int build_tables(const struct cs_opt *opts, struct option **lo,
                        char **so)
{
    size_t n = count_opts(opts), nc = count_opts(common_opts), i, k = 0;
    const struct cs_opt *all[2] = { common_opts, opts };
    char *s;

    *lo = calloc(n + nc + 1, sizeof(**lo));
    *so = s = calloc(3 * (n + nc) + 2, 1);
    if (!*lo || !s)
        return AVERROR(ENOMEM);
    *s++ = ':';
    for (int t = 0; t < 2; t++) {
        for (i = 0; all[t] && all[t][i].name; i++) {
            const struct cs_opt *o = &all[t][i];

            (*lo)[k].name = o->name;
            (*lo)[k].has_arg = o->arg ? required_argument : no_argument;
            (*lo)[k].val = o->key ? o->key : KEY_TYPED + (int)i;
            k++;
            if (o->key > 0 && o->key < 128) {
                *s++ = (char)o->key;
                if (o->arg)
                    *s++ = ':';
            }
        }
    }
    return 0;
}

static int handle_common(const struct cs_cmd *cmd, int key, const char *arg,
                         struct cs_common *common, int *done)
{
    switch (key) {
    case 'h':
        cs_opt_help(cmd);
        *done = 1;
        return 1;
    case KEY_VERSION:
        printf("%s (LiveStreamX) %s\n", cmd->name, CS_VERSION);
        *done = 1;
        return 1;
    case KEY_DUMP:
        if (cmd->commands)
            printf("@commands\t\t\t%s\tsubcommands\n", cmd->commands);
        dump_table(cmd->opts);
        dump_table(common_opts);
        *done = 1;
        return 1;
    case 'q':
        common->verbosity = -1;
        return 1;
    case 'v':
        if (common->verbosity >= 0)
            common->verbosity++;
        return 1;
    case KEY_STATS:
        common->stats = arg;
        return 1;
    default:
        return 0;
    }
}

/* First pass: only -q/-v, so that messages from the second pass (and from
 * the command's option handlers) honour them wherever they stand. */
static void prescan_verbosity(int argc, char **argv, struct cs_common *c)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
        const char *a = argv[i];

        if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
            c->verbosity = -1;
        else if (!strcmp(a, "--verbose") && c->verbosity >= 0)
            c->verbosity++;
        else if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") ==
                 strlen(a + 1) && c->verbosity >= 0)
            c->verbosity += (int)strlen(a + 1);
    }
}

/* The option of CMD that getopt_long answered KEY for, or NULL. */
static const struct cs_opt *find_opt(const struct cs_cmd *cmd, int key)
{
    const struct cs_opt *o = cmd->opts;

    if (key >= KEY_TYPED)
        return &o[key - KEY_TYPED];
    for (; o && o->name; o++)
        if (o->key == key)
            return o;
    return NULL;
}

static int getopt_failed(const struct cs_cmd *cmd, char **argv, int key,
                         struct cs_err *err)
{
    const char *bad = argv[optind - 1];

    if (key == ':')
        return cs_err_setx(err, CS_EUSAGE, CS_EXIT_USAGE,
                           "option '%s' needs a value; try '%s --help'", bad,
                           cmd->name);
    if (optopt && optopt < 128)
        return cs_err_setx(err, CS_EUSAGE, CS_EXIT_USAGE,
                           "unknown option '-%c'; try '%s --help'", optopt,
                           cmd->name);
    return cs_err_setx(err, CS_EUSAGE, CS_EXIT_USAGE,
                       "unknown option '%s'; try '%s --help'", bad,
                       cmd->name);
}

/* Store the defaults of the typed options. A default that does not parse
 * is a mistake in the table, reported as a usage error naming it. */
static int apply_defaults(const struct cs_cmd *cmd, void *cfg,
                          struct cs_err *err)
{
    const struct cs_opt *o;

    for (o = cmd->opts; o && o->name; o++) {
        if (o->type == CS_OPT_CALL || o->type == CS_OPT_FLAG || !o->def)
            continue;
        if (cs_opt_store(o, o->def, cfg, err) < 0)
            return CS_EUSAGE;
    }
    return 0;
}

static int one_option(const struct cs_cmd *cmd, int key, cs_opt_fn fn,
                      void *cfg, struct cs_err *err)
{
    const struct cs_opt *o = find_opt(cmd, key);

    if (o && o->type != CS_OPT_CALL)
        return cs_opt_store(o, optarg, cfg, err);
    if (!fn)
        return cs_err_setx(err, CS_EUSAGE, CS_EXIT_USAGE,
                           "option '--%s' is not handled",
                           o ? o->name : "?");
    return fn(cfg, key, optarg, err);
}

int cs_opt_parse(const struct cs_cmd *cmd, int argc, char **argv,
                 struct cs_common *common, cs_opt_fn fn, void *cfg,
                 struct cs_err *err)
{
    struct option *lo = NULL;
    char *so = NULL;
    int ret, done = 0;

    memset(common, 0, sizeof(*common));
    prescan_verbosity(argc, argv, common);
    cs_log_init(cmd->name, common->verbosity);
    common->verbosity = 0;
    ret = apply_defaults(cmd, cfg, err);
    if (ret >= 0)
        ret = build_tables(cmd->opts, &lo, &so);
    if (ret < 0)
        goto out;
    optind = 1;
    opterr = 0;
    for (;;) {
        int li = -1;
        int key = getopt_long(argc, argv, so, lo, &li);

        if (key == -1)
            break;
        if (key == '?' || key == ':') {
            ret = getopt_failed(cmd, argv, key, err);
            goto out;
        }
        if (handle_common(cmd, key, optarg, common, &done)) {
            if (done)
                break;
            continue;
        }
        ret = one_option(cmd, key, fn, cfg, err);
        if (ret < 0)
            goto out;
    }
    ret = done ? CS_OPT_EXIT : optind;
out:
    if (ret < 0 && !cs_err_failed(err))
        cs_err_code(err, ret, "cannot parse the options");
    free(lo);
    free(so);
    return ret;
}

int cs_opt_bad(struct cs_err *err, const char *opt, const char *value,
               const char *expected)
{
    while (*opt == '-')
        opt++;
    return cs_err_setx(err, CS_EUSAGE, CS_EXIT_USAGE,
                       "invalid value '%s' for --%s: expected %s", value, opt,
                       expected);
}

/* The index of WORD in the space-separated LIST, or -1. */
static int word_index(const char *list, const char *word)
{
    size_t n = strlen(word);
    int i = 0;

    while (list && *list) {
        size_t len = strcspn(list, " ");

        if (len == n && n && !strncmp(list, word, n))
            return i;
        list += len;
        list += strspn(list, " ");
        i++;
    }
    return -1;
}

/* "a count from 0 to 64", "seconds from 0.04 to 60", ... */
static void expected(const struct cs_opt *o, char *buf, size_t size)
{
    static const char *const what[] = {
        [CS_OPT_STRING] = "a non-empty value",
        [CS_OPT_INT] = "a whole number",
        [CS_OPT_DOUBLE] = "a number",
        [CS_OPT_SECONDS] = "seconds (like 2, 0.5 or 200ms)",
        [CS_OPT_RATE] = "a rate like 800k or 2M",
        [CS_OPT_BYTES] = "a size like 64M or 1G",
        [CS_OPT_RATIONAL] = "a rate like 25 or 30000/1001",
    };
    int n;

    if (o->type == CS_OPT_ENUM) {
        snprintf(buf, size, "one of: %s", o->complete ? o->complete : "");
        return;
    }
    n = snprintf(buf, size, "%s", what[o->type] ? what[o->type] : "a value");
    if (n < 0 || (size_t)n >= size || (!o->min && !o->max))
        return;
    if (o->type == CS_OPT_RATE || o->type == CS_OPT_BYTES) {
        /* Sizes and rates: only a bound a user can meet is worth saying. */
        double k = o->type == CS_OPT_RATE ? 1000 : 1024;

        if (o->min > 1)
            snprintf(buf + n, size - (size_t)n, ", at least %gM",
                     o->min / (k * k));
        return;
    }
    snprintf(buf + n, size - (size_t)n, " from %g to %g", o->min, o->max);
}

static int in_range(const struct cs_opt *o, double v)
{
    if (!o->min && !o->max)
        return v >= 0;
    return v >= o->min && v <= o->max;
}

static int parse_typed(const struct cs_opt *o, const char *arg, char *field)
{
    double d = 0;
    int64_t i64;
    long l;

    switch (o->type) {
    case CS_OPT_FLAG: *(int *)field = 1; return 0;
    case CS_OPT_STRING:
        if (!*arg)
            return CS_EUSAGE;
        *(const char **)field = arg;
        return 0;
    case CS_OPT_INT:
        if (cs_parse_int(arg, INT_MIN, INT_MAX, &l) < 0 || !in_range(o, l))
            return CS_EUSAGE;
        *(int *)field = (int)l;
        return 0;
    case CS_OPT_DOUBLE:
    case CS_OPT_SECONDS:
        if ((o->type == CS_OPT_SECONDS ? cs_parse_seconds(arg, &d)
             : cs_parse_double(arg, -1e300, 1e300, &d)) < 0 ||
            !in_range(o, d))
            return CS_EUSAGE;
        *(double *)field = d;
        return 0;
    case CS_OPT_RATE:
    case CS_OPT_BYTES:
        if ((o->type == CS_OPT_RATE ? cs_parse_rate(arg, &i64)
             : cs_parse_bytes(arg, &i64)) < 0 || !in_range(o, (double)i64))
            return CS_EUSAGE;
        *(int64_t *)field = i64;
        return 0;
    case CS_OPT_ENUM:
        l = word_index(o->complete, arg);
        if (l < 0)
            return CS_EUSAGE;
        *(int *)field = (int)l;
        return 0;
    case CS_OPT_RATIONAL:
        return cs_parse_rational(arg, (AVRational *)field);
    default:
        return CS_EUSAGE;
    }
}

int cs_opt_store(const struct cs_opt *o, const char *arg, void *cfg,
                 struct cs_err *err)
{
    char want[96];

    if (parse_typed(o, arg ? arg : "", (char *)cfg + o->off) >= 0)
        return 0;
    expected(o, want, sizeof(want));
    return cs_opt_bad(err, o->name, arg ? arg : "", want);
}

int cs_parse_int(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return CS_EUSAGE;
    *out = v;
    return 0;
}

int cs_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
        return CS_EUSAGE;
    *out = v;
    return 0;
}

int cs_parse_seconds(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return CS_EUSAGE;
    if (!strcmp(end, "ms"))
        v /= 1000.0;
    else if (*end && strcmp(end, "s"))
        return CS_EUSAGE;
    *out = v;
    return 0;
}

static int parse_scaled(const char *s, double base, int allow_ib, int64_t *out)
{
    char *end;
    double v, mul = 1;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return CS_EUSAGE;
    switch (*end) {
    case 'k': case 'K': mul = base; end++; break;
    case 'm': case 'M': mul = base * base; end++; break;
    case 'g': case 'G': mul = base * base * base; end++; break;
    default: break;
    }
    if (allow_ib && mul > 1 && (!strcmp(end, "iB") || !strcmp(end, "B")))
        end += strlen(end);
    if (*end || v * mul > 9.0e18)
        return CS_EUSAGE;
    *out = (int64_t)llround(v * mul);
    return 0;
}

int cs_parse_rate(const char *s, int64_t *out)
{
    return parse_scaled(s, 1000, 0, out);
}

int cs_parse_bytes(const char *s, int64_t *out)
{
    return parse_scaled(s, 1024, 1, out);
}

int cs_parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a, b;

    errno = 0;
    a = strtol(s, &end, 10);
    if (errno || end == s || (*end != 'x' && *end != 'X'))
        return CS_EUSAGE;
    s = end + 1;
    b = strtol(s, &end, 10);
    if (errno || end == s || *end || a < 2 || b < 2 || a > 16384 ||
        b > 16384)
        return CS_EUSAGE;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

int cs_parse_rational(const char *s, AVRational *out)
{
    const char *slash = strchr(s, '/');
    double v;

    if (slash) {
        long n, d;
        char num[32];
        size_t len = (size_t)(slash - s);

        if (len == 0 || len >= sizeof(num))
            return CS_EUSAGE;
        memcpy(num, s, len);
        num[len] = 0;
        if (cs_parse_int(num, 1, 1000000, &n) < 0 ||
            cs_parse_int(slash + 1, 1, 1000000, &d) < 0)
            return CS_EUSAGE;
        *out = av_make_q((int)n, (int)d);
        return 0;
    }
    if (cs_parse_double(s, 0.001, 1000, &v) < 0)
        return CS_EUSAGE;
    *out = av_d2q(v, 100000);
    return 0;
}
