#include "opt.h"

#include <errno.h>
#include <getopt.h>
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
        if (o->def)
            printf(" (default: %s)", o->def);
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
        printf("%s\t%s\t%s\t%s\t%s\n", o->name, s, o->arg ? o->arg : "",
               o->complete ? o->complete : "", o->help);
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
            (*lo)[k].val = o->key;
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

int cs_opt_parse(const struct cs_cmd *cmd, int argc, char **argv,
                 struct cs_common *common, cs_opt_fn fn, void *cfg)
{
    struct option *lo = NULL;
    char *so = NULL;
    int ret, done = 0;

    memset(common, 0, sizeof(*common));
    prescan_verbosity(argc, argv, common);
    cs_log_init(cmd->name, common->verbosity);
    common->verbosity = 0;
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
            const char *bad = argv[optind - 1];

            if (key == ':')
                cs_error("option '%s' needs a value; try '%s --help'", bad,
                         cmd->name);
            else if (optopt && optopt < 128)
                cs_error("unknown option '-%c'; try '%s --help'", optopt,
                         cmd->name);
            else
                cs_error("unknown option '%s'; try '%s --help'", bad,
                         cmd->name);
            ret = CS_EUSAGE;
            goto out;
        }
        if (handle_common(cmd, key, optarg, common, &done)) {
            if (done)
                break;
            continue;
        }
        ret = fn ? fn(cfg, key, optarg) : CS_EUSAGE;
        if (ret < 0)
            goto out;
    }
    ret = done ? CS_OPT_EXIT : optind;
out:
    free(lo);
    free(so);
    return ret;
}

int cs_opt_bad(const char *opt, const char *value, const char *expected)
{
    /* OPT is the bare name ("threads"); dashes given anyway are dropped so
     * that the message never reads "----threads". */
    opt += strspn(opt, "-");
    cs_error("invalid value '%s' for --%s: expected %s", value, opt, expected);
    return CS_EUSAGE;
}

int cs_opt_stats_open(struct cs_stats **out, const char *path)
{
    int ret = cs_stats_open(out, path);

    if (ret < 0) {
        cs_error("cannot open '%s' for --stats: %s", path, CS_ERRSTR(ret));
        return CS_EUSAGE;
    }
    return ret;
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
