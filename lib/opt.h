/* opt.h: one description per option, from which getopt_long's table,
 * --help, --dump-options (for the completions and the man-page check) are
 * all made. The options every program has are defined here once.
 */
#ifndef CS_OPT_H
#define CS_OPT_H

#include <stdint.h>

#include <libavutil/rational.h>

struct cs_opt {
    const char *name;     /* long name without "--"; NULL ends a table */
    int key;              /* short letter, or a value >= 256 (CS_OPT_KEY) */
    const char *arg;      /* metavariable ("WxH"); NULL: takes no argument */
    const char *help;     /* one line, lower case */
    const char *def;      /* default shown by --help, or NULL */
    const char *complete; /* "file", "dir", "a b c" (a word list), or NULL */
};

/* Keys for long-only options: CS_OPT_KEY(0), CS_OPT_KEY(1), ... */
#define CS_OPT_KEY(n) (256 + (n))

struct cs_cmd {
    const char *name;      /* "cs-decode" */
    const char *synopsis;  /* "[options] [INPUT]" */
    const char *summary;   /* one line */
    const struct cs_opt *opts;
    const char *epilog;    /* optional text after the options, or NULL */
    const char *commands;  /* subcommands, space-separated, or NULL */
};

/* What the common options set. */
struct cs_common {
    int verbosity;          /* -q: -1, -v: +1 each */
    const char *stats;      /* --stats FILE|- or NULL */
};

/* Called for each command-specific option; returns 0 or a negative code
 * (after cs_error() naming the problem) to stop with a usage error. */
typedef int (*cs_opt_fn)(void *cfg, int key, const char *arg);

enum { CS_OPT_EXIT = 0 };

/* --dump-options prints one line per option: name, short letter,
 * metavariable, completion, help, separated by tabs; a command with
 * subcommands first prints "@commands" with the words in the completion
 * field. */

/* Parse argv. Initialises logging (cs_log_init) from -q/-v. Returns the index
 * of the first operand (>= 1) to go on, CS_OPT_EXIT when --help, --version or
 * --dump-options was printed (exit 0), or a negative code after one line on
 * stderr (exit CS_EXIT_USAGE). */
int cs_opt_parse(const struct cs_cmd *cmd, int argc, char **argv,
                 struct cs_common *common, cs_opt_fn fn, void *cfg);

/* Print the help text to stdout. */
void cs_opt_help(const struct cs_cmd *cmd);

/* Value parsers: 0 on success, CS_EUSAGE on a malformed value (nothing is
 * printed: the caller names the option). */
int cs_parse_int(const char *s, long min, long max, long *out);
int cs_parse_double(const char *s, double min, double max, double *out);
/* "2", "0.5", "1.5s", "200ms". */
int cs_parse_seconds(const char *s, double *out);
/* Bit rates: "800k", "2M", "1.5M", "128000" (decimal multipliers). */
int cs_parse_rate(const char *s, int64_t *out);
/* Byte sizes: "5M", "64MiB", "1G", "4096" (binary multipliers). */
int cs_parse_bytes(const char *s, int64_t *out);
/* "1280x720"; both even is not required here. */
int cs_parse_size(const char *s, int *w, int *h);
/* "25", "12.5", "30000/1001". */
int cs_parse_rational(const char *s, AVRational *out);

/* Report a bad option value in the house style and return CS_EUSAGE:
 * "cs-encode: invalid value 'x' for --bitrate: expected a rate like 2M".
 * OPT is the long name without "--" ("bitrate"); leading dashes are ignored. */
int cs_opt_bad(const char *opt, const char *value, const char *expected);

/* Open the --stats file (cs_stats_open). A path that cannot be written is a
 * usage error, the same in every program: one line is printed and CS_EUSAGE
 * returned (exit status 2). */
struct cs_stats;
int cs_opt_stats_open(struct cs_stats **out, const char *path);

#endif
